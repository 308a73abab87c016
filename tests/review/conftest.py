"""Review fixtures: cheap password hashing (the real parameters are tested once)."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from safeguard.review import auth


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024))

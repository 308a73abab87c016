"""Review fixtures: cheap password hashing (the real parameters are tested once)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from safeguard.review import auth
from safeguard.review.settings import ReviewSettings
from safeguard.store.database import session_scope
from safeguard.web.app import create_app
from tests.review.helpers import PASSWORD, BuiltCase, build_case, make_user


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024))


_CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]*)">')
_LOGIN_CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')


def login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Sign in through the form; returns the session's CSRF token."""
    page = client.get("/login")
    token = _LOGIN_CSRF.search(page.text).group(1)
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    home = client.get("/")
    return _CSRF_META.search(home.text).group(1)


@dataclass
class Site:
    url: str
    app: object
    x: BuiltCase
    y: BuiltCase
    users: dict[str, int] = field(default_factory=dict)

    def client(self, username: str | None = None) -> tuple[TestClient, str]:
        client = TestClient(self.app, base_url="http://testserver")
        token = login(client, username) if username else ""
        return client, token


@pytest.fixture
def site(database_url: str) -> Iterator[Site]:
    """Two cases, X and Y, with their own people, on a fresh store of each database."""
    with session_scope(database_url) as session:
        x = build_case(session, "OP-X", groups=(3, 1), perceptual=1, exact=1)
        y = build_case(session, "OP-Y", groups=(2,), perceptual=0, exact=1)
        users = {
            "rx": make_user(session, "rx", "reviewer", x.case_id).id,
            "ry": make_user(session, "ry", "reviewer", y.case_id).id,
            "sup": make_user(session, "sup", "supervisor", x.case_id).id,
            "ana": make_user(session, "ana", "analyst", x.case_id).id,
            "adm": make_user(session, "adm", "admin").id,
        }
    app = create_app(ReviewSettings(), database_url)
    yield Site(database_url, app, x, y, users)

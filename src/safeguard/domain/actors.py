"""Who makes a change, as service functions record it in the audit log."""

from __future__ import annotations

import getpass
from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """A signed-in user (web: with their user id) or the local operator (CLI: no user id)."""

    username: str
    user_id: int | None = None

    @classmethod
    def operator(cls) -> Actor:
        """The person at this terminal: ``cli:<login>`` (``cli`` when the login is unknown)."""
        try:
            return cls(f"cli:{getpass.getuser()}")
        except (KeyError, OSError):
            return cls("cli")

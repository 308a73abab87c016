"""Outcome fixtures: a store on each database with an analyst, a supervisor, a reviewer and an
admin (password hashes are never checked here: the services take the user)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from safeguard.outcomes.services import Actor, actor_of
from safeguard.store.database import session_scope
from safeguard.store.users import create_user


@dataclass
class People:
    url: str
    analyst: Actor
    supervisor: Actor
    reviewer: Actor
    admin: Actor


@pytest.fixture
def people(database_url: str) -> People:
    with session_scope(database_url) as session:
        made = {
            role: actor_of(create_user(session, name, "x", role))
            for name, role in (
                ("ana", "analyst"),
                ("sue", "supervisor"),
                ("rev", "reviewer"),
                ("adm", "admin"),
            )
        }
    return People(
        database_url, made["analyst"], made["supervisor"], made["reviewer"], made["admin"]
    )

"""Outcome fixtures: a store on each database with an analyst, a supervisor, a reviewer and an
admin (password hashes are never checked here: the services take the user)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from safeguard.outcomes.services import Actor, actor_of
from safeguard.outcomes.synthetic import CASES
from safeguard.store.cases import create_case
from safeguard.store.database import session_scope
from safeguard.store.subjects import new_subject
from safeguard.store.users import create_user


@dataclass
class People:
    url: str
    analyst: Actor
    supervisor: Actor
    reviewer: Actor
    admin: Actor
    #: A subject of the referral hub (no referrals yet).
    subject: str = ""


@pytest.fixture
def people(database_url: str) -> People:
    with session_scope(database_url) as session:
        for case in (*CASES, "OP-T"):
            create_case(session, case, "outcome tests")
        subject = new_subject(session).reference
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
        database_url,
        made["analyst"],
        made["supervisor"],
        made["reviewer"],
        made["admin"],
        subject,
    )

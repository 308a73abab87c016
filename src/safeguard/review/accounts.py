"""Account services: every change to users, roles, passwords and case assignments.

Each function is the one place its change happens: it writes the row and its audit entry in
the caller's transaction, so the CLI and the web pages, which both call it, leave the same
audit record (same action, same detail); only the actor differs. The actor of a CLI command is
the local operator (``cli:<login>``, no user id).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from safeguard.domain.actors import Actor
from safeguard.review import auth
from safeguard.store import audit
from safeguard.store import users as user_store
from safeguard.store.cases import get_case
from safeguard.store.review_models import User


def _log(
    session: Session, actor: Actor, action: str, detail: dict, case_id: int | None = None
) -> None:
    audit.append(
        session,
        action,
        user_id=actor.user_id,
        username=actor.username,
        case_id=case_id,
        detail=detail,
    )


def add_user(
    session: Session,
    actor: Actor,
    username: str,
    password: str,
    role: str,
    display_name: str | None = None,
) -> User:
    """A new user (argon2id hash); AlreadyExists or ValueError (role, short password)."""
    user = auth.add_user(session, username, password, role, display_name)
    _log(session, actor, "user_add", {"user": username, "role": role})
    return user


def set_active(session: Session, actor: Actor, username: str, active: bool) -> User:
    """Enable or disable a user; disabling ends every session of theirs. NotFound if unknown."""
    user = user_store.get_user(session, username)
    user.active = active
    if not active:
        user_store.drop_user_sessions(session, user.id)
    _log(session, actor, "user_enable" if active else "user_disable", {"user": username})
    return user


def change_password(session: Session, actor: Actor, username: str, password: str) -> User:
    """A new password for a user; every session of theirs ends. NotFound or ValueError."""
    user = user_store.get_user(session, username)
    auth.set_password(session, user, password)
    _log(session, actor, "user_password", {"user": username})
    return user


def assign(session: Session, actor: Actor, username: str, case_reference: str) -> bool:
    """Give a user access to a case; False when they had it already. NotFound if unknown."""
    user = user_store.get_user(session, username)
    case = get_case(session, case_reference)
    added = user_store.assign(session, user, case)
    _log(session, actor, "assign", {"user": username, "case": case.reference}, case_id=case.id)
    return added


def unassign(session: Session, actor: Actor, username: str, case_reference: str) -> None:
    """Take a user's access to a case away. NotFound if the user or case is unknown."""
    user = user_store.get_user(session, username)
    case = get_case(session, case_reference)
    user_store.unassign(session, user, case)
    _log(session, actor, "unassign", {"user": username, "case": case.reference}, case_id=case.id)

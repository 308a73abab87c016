"""Administration of people: enable/disable a user, remove a case assignment. Audited.

The CLI (``safeguard user disable|enable|unassign``) and the admin page call these same
functions; ``by`` names who did it (an admin's username, or "cli").
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from safeguard.store import audit
from safeguard.store import users as user_store
from safeguard.store.cases import get_case
from safeguard.store.review_models import User


def set_active(session: Session, username: str, active: bool, by: User | None = None) -> User:
    """Enable or disable a user; disabling ends their sessions at once (votes and audit stay).

    Raises NotFound for an unknown user and ValueError when an admin would disable themself.
    """
    user = user_store.get_user(session, username)
    if by is not None and by.id == user.id and not active:
        raise ValueError("you cannot disable your own account")
    user.active = active
    if not active:
        user_store.drop_user_sessions(session, user.id)
    audit.append(
        session,
        "user_enable" if active else "user_disable",
        user_id=by.id if by else None,
        username=by.username if by else None,
        detail={"user": username, "by": by.username if by else "cli"},
    )
    return user


def unassign(session: Session, username: str, case_reference: str, by: User | None = None) -> None:
    """Take a case away from a user (raises NotFound for an unknown user or case)."""
    user = user_store.get_user(session, username)
    case = get_case(session, case_reference)
    user_store.unassign(session, user, case)
    audit.append(
        session,
        "unassign",
        user_id=by.id if by else None,
        username=by.username if by else None,
        case_id=case.id,
        detail={"user": username, "case": case.reference, "by": by.username if by else "cli"},
    )

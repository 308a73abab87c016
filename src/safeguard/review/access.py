"""Who may do what: roles, and access to a case only through an assignment."""

from __future__ import annotations

from sqlalchemy.orm import Session

from safeguard.store import users as user_store
from safeguard.store.models import Case
from safeguard.store.review_models import User

#: Roles allowed each kind of work.
CAN_REVIEW = frozenset({"reviewer", "supervisor"})
CAN_MODERATE = frozenset({"supervisor"})
CAN_ADMINISTER = frozenset({"admin"})
CAN_EXPORT = frozenset({"analyst", "supervisor", "reviewer"})


class NotAllowed(PermissionError):
    """The user may not see or do this. Shown as 'not found', so ids leak nothing."""


def require_role(user: User, roles: frozenset[str]) -> None:
    if user.role not in roles:
        raise NotAllowed(f"{user.role} may not do this")


def require_case(session: Session, user: User, case_id: int) -> Case:
    """The case, if it exists and is assigned to the user; NotAllowed otherwise."""
    case = session.get(Case, case_id)
    if case is None or not user_store.is_assigned(session, user.id, case_id):
        raise NotAllowed("no such case")
    return case

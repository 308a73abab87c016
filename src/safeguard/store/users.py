"""Users, their case assignments, and web sessions (stored as token hashes)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from safeguard.store.cases import AlreadyExists, NotFound
from safeguard.store.models import Case
from safeguard.store.review_models import CaseAssignment, User, WebSession

ROLES = ("admin", "reviewer", "supervisor", "analyst", "intelligence")


def create_user(
    session: Session,
    username: str,
    password_hash: str,
    role: str,
    display_name: str | None = None,
) -> User:
    username = username.strip()
    if not username:
        raise ValueError("a username cannot be empty")
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    if session.scalar(select(User).where(User.username == username)) is not None:
        raise AlreadyExists(f"user {username!r} already exists")
    user = User(
        username=username, password_hash=password_hash, role=role, display_name=display_name
    )
    session.add(user)
    session.flush()
    return user


def get_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"no user {username!r}")
    return user


def find_user(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))


def assign(session: Session, user: User, case: Case) -> bool:
    """Give a user access to a case; False if they had it already."""
    exists = session.scalar(
        select(CaseAssignment).where(
            CaseAssignment.user_id == user.id, CaseAssignment.case_id == case.id
        )
    )
    if exists is not None:
        return False
    session.add(CaseAssignment(user_id=user.id, case_id=case.id))
    session.flush()
    return True


def unassign(session: Session, user: User, case: Case) -> None:
    session.execute(
        delete(CaseAssignment).where(
            CaseAssignment.user_id == user.id, CaseAssignment.case_id == case.id
        )
    )


def assigned_cases(session: Session, user_id: int) -> list[Case]:
    return list(
        session.scalars(
            select(Case)
            .join(CaseAssignment, CaseAssignment.case_id == Case.id)
            .where(CaseAssignment.user_id == user_id)
            .order_by(Case.reference)
        )
    )


def is_assigned(session: Session, user_id: int, case_id: int) -> bool:
    return (
        session.scalar(
            select(CaseAssignment.id).where(
                CaseAssignment.user_id == user_id, CaseAssignment.case_id == case_id
            )
        )
        is not None
    )


def case_users(session: Session, case_id: int) -> list[User]:
    return list(
        session.scalars(
            select(User)
            .join(CaseAssignment, CaseAssignment.user_id == User.id)
            .where(CaseAssignment.case_id == case_id)
            .order_by(User.username)
        )
    )


def add_session(session: Session, user_id: int, token_hash: str, csrf_token: str) -> WebSession:
    row = WebSession(user_id=user_id, token_hash=token_hash, csrf_token=csrf_token)
    session.add(row)
    session.flush()
    return row


def find_session(session: Session, token_hash: str) -> WebSession | None:
    return session.scalar(select(WebSession).where(WebSession.token_hash == token_hash))


def drop_session(session: Session, token_hash: str) -> None:
    session.execute(delete(WebSession).where(WebSession.token_hash == token_hash))


def drop_sessions_before(session: Session, cutoff: datetime) -> None:
    session.execute(delete(WebSession).where(WebSession.last_seen_at < cutoff))


def drop_user_sessions(session: Session, user_id: int) -> None:
    """Sign the user out everywhere."""
    session.execute(delete(WebSession).where(WebSession.user_id == user_id))

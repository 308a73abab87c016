"""Users and sign-in: argon2id password hashes, random session tokens stored only as hashes."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from safeguard.store import users as user_store
from safeguard.store.review_models import User, WebSession

MIN_PASSWORD = 10
_hasher = PasswordHasher()
_DUMMY = _hasher.hash("not a password anyone has")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _acceptable_hash(password: str) -> str:
    """The hash of a password long enough to be set (for a new user or a new password)."""
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"a password needs at least {MIN_PASSWORD} characters")
    return hash_password(password)


def add_user(
    session: Session, username: str, password: str, role: str, display_name: str | None = None
) -> User:
    return user_store.create_user(session, username, _acceptable_hash(password), role, display_name)


def set_password(session: Session, user: User, password: str) -> None:
    """A new password (same rules as for a new user); every session of the user ends."""
    user.password_hash = _acceptable_hash(password)
    user_store.drop_user_sessions(session, user.id)


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with this name and password, or None (same work either way)."""
    user = user_store.find_user(session, username)
    try:
        _hasher.verify(user.password_hash if user else _DUMMY, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def check_password(stored_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored_hash`` (a dummy hash when there is no account, so
    the work is the same either way). Slow on purpose: call it holding no lock."""
    try:
        return _hasher.verify(stored_hash or _DUMMY, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def start_session(session: Session, user: User) -> tuple[str, str]:
    """A new session for the user: (cookie token, CSRF token)."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    user_store.add_session(session, user.id, _token_hash(token), csrf)
    return token, csrf


def resume_session(
    session: Session, token: str, idle_minutes: int
) -> tuple[WebSession, User] | None:
    """The live session and user for a cookie token; expired or unknown tokens give None."""
    row = user_store.find_session(session, _token_hash(token))
    if row is None:
        return None
    now = datetime.now(UTC)
    last_seen = row.last_seen_at.replace(tzinfo=row.last_seen_at.tzinfo or UTC)
    user = session.get(User, row.user_id)
    if now - last_seen > timedelta(minutes=idle_minutes) or user is None or not user.active:
        session.delete(row)
        return None
    if now - last_seen > timedelta(seconds=60):
        row.last_seen_at = now
    return row, user


def session_is_live(session: Session, token: str, idle_minutes: int) -> bool:
    """Whether a cookie token names a live session of an active user (reads only)."""
    row = user_store.find_session(session, _token_hash(token))
    if row is None:
        return False
    last_seen = row.last_seen_at.replace(tzinfo=row.last_seen_at.tzinfo or UTC)
    if datetime.now(UTC) - last_seen > timedelta(minutes=idle_minutes):
        return False
    user = session.get(User, row.user_id)
    return user is not None and user.active


def end_session(session: Session, token: str) -> None:
    user_store.drop_session(session, _token_hash(token))


def csrf_matches(expected: str, given: str | None) -> bool:
    return bool(given) and secrets.compare_digest(expected.encode(), (given or "").encode())

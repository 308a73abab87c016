"""Signing in: throttled per account and per client, the same answer for every username, and
no password hashing while a write lock is held.

Rules (the pure core is :func:`locked_until`):

* A run of failed sign-ins is counted per account name (``user:<name>``, whether or not such an
  account exists, so a lock cannot tell a real account from an unknown one) and per client
  address (``client:<address>``), in ``login_throttle`` so that every server process agrees.
  A run ends with a success (for the account) or once its last failure is older than the
  lockout.
* ``max_failures`` failures in a run lock the name, ``client_failures`` the client, for
  ``lockout`` after the last failure; while either is locked every attempt gets the same 429,
  even with the right password, without the password being checked.
* argon2 runs outside any transaction and outside the process's write lock; only the short
  bookkeeping afterwards takes it.
* The audit log gets one ``login_failed`` per run (its first failure), one ``login_locked`` or
  ``login_client_locked`` when a run reaches its limit, with the count, and the count of
  failures before a success in the ``login`` entry: bounded, however many attempts are made.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from safeguard.review import auth
from safeguard.review.settings import ReviewSettings
from safeguard.store import audit
from safeguard.store import users as user_store
from safeguard.store.hardening_models import LoginThrottle

Sessions = Callable[[], AbstractContextManager[Session]]


@dataclass(frozen=True)
class SignIn:
    """What a sign-in attempt came to. ``token`` is set on success, ``until`` when locked."""

    token: str | None = None
    csrf: str | None = None
    until: datetime | None = None


def account_key(username: str) -> str:
    return "user:" + username[:100].lower()


def client_key(client: str) -> str:
    return "client:" + client[:200]


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def locked_until(
    row: LoginThrottle | None, limit: int, lockout: timedelta, now: datetime
) -> datetime | None:
    """When a key may next try: ``limit`` failures whose last is within ``lockout`` lock it
    until ``lockout`` after that last one; else None (``limit`` 0 never locks)."""
    if row is None or limit <= 0 or row.failures < limit:
        return None
    until = _aware(row.last_at) + lockout
    return until if until > now else None


def _live(row: LoginThrottle | None, lockout: timedelta, now: datetime) -> LoginThrottle | None:
    """The row if its run is still going (its last failure within the lockout)."""
    if row is None or now - _aware(row.last_at) >= lockout:
        return None
    return row


def sign_in(
    read: Sessions,
    write: Sessions,
    username: str,
    password: str,
    client: str,
    settings: ReviewSettings,
) -> SignIn:
    """One attempt; ``read`` opens a plain session, ``write`` one that holds the write lock."""
    lockout = timedelta(minutes=settings.login_lockout_minutes)
    keys = {account_key(username): settings.login_max_failures}
    keys[client_key(client)] = settings.login_client_failures
    now = datetime.now(UTC)
    with read() as session:
        rows = {key: _live(session.get(LoginThrottle, key), lockout, now) for key in keys}
        until = max(
            (u for k, r in rows.items() if (u := locked_until(r, keys[k], lockout, now))),
            default=None,
        )
        if until is not None:
            return SignIn(until=until)  # the same for every name: nothing is looked up
        user = user_store.find_user(session, username)
        stored_hash = user.password_hash if user is not None else None
        active = user is not None and user.active
    verified = auth.check_password(stored_hash, password)  # slow: no lock, no transaction
    with write() as session:
        if verified and active:
            return _succeeded(session, username, password, client)
        return _failed(session, username, client, keys, lockout)


def _succeeded(session: Session, username: str, password: str, client: str) -> SignIn:
    user = user_store.find_user(session, username)
    assert user is not None
    if auth.needs_rehash(user.password_hash):
        user.password_hash = auth.hash_password(password)
    row = session.get(LoginThrottle, account_key(username))
    failed_before = row.failures if row is not None else 0
    session.execute(delete(LoginThrottle).where(LoginThrottle.key == account_key(username)))
    token, csrf = auth.start_session(session, user)
    detail = {"failed_before": failed_before} if failed_before else None
    audit.append(session, "login", user_id=user.id, username=user.username, detail=detail)
    return SignIn(token=token, csrf=csrf)


def _failed(
    session: Session, username: str, client: str, keys: dict[str, int], lockout: timedelta
) -> SignIn:
    now = datetime.now(UTC)
    session.execute(delete(LoginThrottle).where(LoginThrottle.last_at < now - lockout))
    known = user_store.find_user(session, username)
    user_id = known.id if known is not None else None
    name = username[:100]
    for key, limit in keys.items():
        row = session.get(LoginThrottle, key)
        if row is None or now - _aware(row.last_at) >= lockout:
            if row is not None:
                session.delete(row)
                session.flush()
            row = LoginThrottle(key=key, failures=0, first_at=now, last_at=now)
            session.add(row)
        row.failures += 1
        row.last_at = now
        is_account = key.startswith("user:")
        if row.failures == 1 and is_account:
            audit.append(session, "login_failed", user_id=user_id, detail={"username": name})
        if limit > 0 and row.failures == limit:
            action = "login_locked" if is_account else "login_client_locked"
            detail = {"username": name, "failures": row.failures}
            if not is_account:
                detail["client"] = client[:200]
            audit.append(session, action, user_id=user_id if is_account else None, detail=detail)
    session.flush()
    return SignIn()  # a wrong password; a lock it completed answers from the next attempt

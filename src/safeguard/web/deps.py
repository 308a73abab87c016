"""Request plumbing: the signed-in viewer, CSRF checks, database sessions, error types."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session

from safeguard.review.auth import csrf_matches, resume_session
from safeguard.review.settings import ReviewSettings
from safeguard.store.database import session_scope
from safeguard.store.review_models import User, WebSession

SESSION_COOKIE = "sg_session"
LOGIN_COOKIE = "sg_login"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
#: One writer at a time in this process: SQLite has a single writer, and the audit chain must
#: not fork (PostgreSQL additionally takes an advisory lock, see store.audit).
WRITE_LOCK = threading.RLock()


class LoginRequired(Exception):
    """No valid session: pages redirect to the sign-in page, the API answers 401."""


@dataclass(frozen=True)
class Viewer:
    user_id: int
    username: str
    display_name: str | None
    role: str
    csrf: str
    session_id: int


def settings_of(request: Request) -> ReviewSettings:
    return request.app.state.settings


@contextmanager
def store(request: Request, write: bool = False) -> Iterator[Session]:
    """A session on the app's store; ``write`` serialises it with the other writers."""
    url = request.app.state.database_url
    if write:
        with WRITE_LOCK, session_scope(url) as session:
            yield session
    else:
        with session_scope(url) as session:
            yield session


def viewer(request: Request) -> Viewer:
    """The signed-in user of this request (raises LoginRequired)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token or len(token) > 200:
        raise LoginRequired
    with store(request, write=True) as session:
        found = resume_session(session, token, settings_of(request).session_idle_minutes)
        if found is None:
            raise LoginRequired
        web_session, user = found
        return Viewer(
            user.id,
            user.username,
            user.display_name,
            user.role,
            web_session.csrf_token,
            web_session.id,
        )


async def csrf_viewer(request: Request, who: Annotated[Viewer, Depends(viewer)]) -> Viewer:
    """The viewer, for a state-changing request carrying the session's CSRF token (header for
    JSON and scripts, form field for forms); 403 otherwise."""
    given = request.headers.get(CSRF_HEADER)
    content_type = request.headers.get("content-type", "")
    if not given and content_type.startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    if not csrf_matches(who.csrf, given):
        raise HTTPException(status_code=403, detail="CSRF token missing or wrong")
    return who


#: A parameter type: the signed-in viewer; and the viewer of a CSRF-checked request.
SignedIn = Annotated[Viewer, Depends(viewer)]
Checked = Annotated[Viewer, Depends(csrf_viewer)]


def user_of(session: Session, who: Viewer) -> User:
    user = session.get(User, who.user_id)
    if user is None:
        raise LoginRequired
    return user


def web_session_of(session: Session, who: Viewer) -> WebSession:
    row = session.get(WebSession, who.session_id)
    if row is None:
        raise LoginRequired
    return row

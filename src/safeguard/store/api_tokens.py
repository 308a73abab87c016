"""API tokens: issue (the token is shown once, its SHA-256 stored), revoke, resolve, list."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from safeguard.store.cases import AlreadyExists, NotFound
from safeguard.store.models import utcnow
from safeguard.store.server_models import ApiToken

PREFIX = "sgt_"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(session: Session, name: str, created_by: str | None = None) -> str:
    """A new random token for ``name``; returns the token itself (never stored)."""
    name = name.strip()
    if not name or len(name) > 100:
        raise ValueError("a token name needs 1 to 100 characters")
    if active_token(session, name) is not None:
        raise AlreadyExists(f"token {name!r} is active; revoke it first")
    token = PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(name=name, token_hash=token_hash(token), created_by=created_by))
    session.flush()
    return token


def active_token(session: Session, name: str) -> ApiToken | None:
    return session.scalar(
        select(ApiToken).where(ApiToken.name == name, ApiToken.revoked_at.is_(None))
    )


def revoke_token(session: Session, name: str) -> ApiToken:
    row = active_token(session, name)
    if row is None:
        raise NotFound(f"no active token {name!r}")
    row.revoked_at = utcnow()
    session.flush()
    return row


def resolve_token(session: Session, token: str) -> ApiToken | None:
    """The active token row for a presented bearer token, or None."""
    return session.scalar(
        select(ApiToken).where(
            ApiToken.token_hash == token_hash(token), ApiToken.revoked_at.is_(None)
        )
    )


def list_tokens(session: Session) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).order_by(ApiToken.name, ApiToken.id)))

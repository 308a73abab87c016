"""Bank and API-token services: enabling, disabling, issuing and revoking, each audited.

The CLI and the admin API call these same functions, so both leave the same audit record.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from safeguard.domain.actors import Actor
from safeguard.store import api_tokens, audit
from safeguard.store import banks as bank_store
from safeguard.store.banks import BankSummary


def set_bank_enabled(session: Session, actor: Actor, name: str, enabled: bool) -> BankSummary:
    """Use a bank in triage and lookups, or stop using it (entries and matches are kept)."""
    bank = bank_store.set_enabled(session, name, enabled)
    audit.append(
        session,
        "bank_enable" if enabled else "bank_disable",
        user_id=actor.user_id,
        username=actor.username,
        detail={"bank": bank.name},
    )
    session.flush()
    return next(b for b in bank_store.list_banks(session) if b.id == bank.id)


def issue_token(session: Session, actor: Actor, name: str) -> str:
    """A new lookup API token; returns it once (only its SHA-256 is kept)."""
    token = api_tokens.issue_token(session, name, actor.username)
    audit.append(
        session,
        "token_issue",
        user_id=actor.user_id,
        username=actor.username,
        detail={"token": name.strip()},
    )
    return token


def revoke_token(session: Session, actor: Actor, name: str) -> None:
    """Revoke the active token of that name; NotFound when there is none."""
    api_tokens.revoke_token(session, name)
    audit.append(
        session,
        "token_revoke",
        user_id=actor.user_id,
        username=actor.username,
        detail={"token": name},
    )

"""Administration of the server, for signed-in admins: banks (size, source, enable/disable) and
API tokens for the lookup API (issue: the token is shown once; revoke). Every change is audited;
changes need the session's CSRF token like every other state-changing request."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field
from sqlalchemy import select

from safeguard.review.access import CAN_ADMINISTER, require_role
from safeguard.store import api_tokens, audit
from safeguard.store import banks as bank_store
from safeguard.store.cases import AlreadyExists, NotFound
from safeguard.store.models import Bank
from safeguard.web.deps import Checked, SignedIn, store, user_of
from safeguard.web.lookup_api import BankOut

router = APIRouter(prefix="/api/admin", tags=["administration"])


class TokenOut(BaseModel):
    name: str
    created_by: str | None
    created_at: datetime
    revoked_at: datetime | None


class TokenIssued(BaseModel):
    name: str
    token: str = Field(description="Shown once: only its SHA-256 is kept.")


class TokenRequest(BaseModel):
    name: str = Field(min_length=1, max_length=100)


@router.get("/banks", response_model=list[BankOut])
def list_banks(request: Request, who: SignedIn) -> list[BankOut]:
    """Every bank with its size and source, and whether triage and lookups use it."""
    with store(request) as session:
        require_role(user_of(session, who), CAN_ADMINISTER)
        return [BankOut(**vars(b)) for b in bank_store.list_banks(session)]


def _set_enabled(request: Request, who: Checked, name: str, enabled: bool) -> BankOut:
    with store(request, write=True) as session:
        user = user_of(session, who)
        require_role(user, CAN_ADMINISTER)
        bank = session.scalar(select(Bank).where(Bank.name == name))
        if bank is None:
            raise HTTPException(status_code=404, detail="no such bank")
        bank_store.set_enabled(session, name, enabled)  # moves the bank version on too
        audit.append(
            session,
            "bank_enable" if enabled else "bank_disable",
            user_id=user.id,
            username=user.username,
            detail={"bank": bank.name},
        )
        session.flush()
        summary = next(b for b in bank_store.list_banks(session) if b.id == bank.id)
        return BankOut(**vars(summary))


@router.post("/banks/{name}/enable", response_model=BankOut)
def enable_bank(name: str, request: Request, who: Checked) -> BankOut:
    """Use the bank (by name) in triage and lookups again."""
    return _set_enabled(request, who, name, True)


@router.post("/banks/{name}/disable", response_model=BankOut)
def disable_bank(name: str, request: Request, who: Checked) -> BankOut:
    """Stop using the bank (by name) in triage and lookups; its entries stay."""
    return _set_enabled(request, who, name, False)


@router.get("/tokens", response_model=list[TokenOut])
def list_tokens(request: Request, who: SignedIn) -> list[TokenOut]:
    with store(request) as session:
        require_role(user_of(session, who), CAN_ADMINISTER)
        return [
            TokenOut(
                name=t.name,
                created_by=t.created_by,
                created_at=t.created_at,
                revoked_at=t.revoked_at,
            )
            for t in api_tokens.list_tokens(session)
        ]


@router.post("/tokens", response_model=TokenIssued, status_code=201)
def issue_token(body: TokenRequest, request: Request, who: Checked) -> TokenIssued:
    with store(request, write=True) as session:
        user = user_of(session, who)
        require_role(user, CAN_ADMINISTER)
        try:
            token = api_tokens.issue_token(session, body.name, user.username)
        except (AlreadyExists, ValueError) as error:
            raise HTTPException(status_code=409, detail=str(error)) from None
        audit.append(
            session,
            "token_issue",
            user_id=user.id,
            username=user.username,
            detail={"token": body.name},
        )
    return TokenIssued(name=body.name, token=token)


@router.post("/tokens/{name}/revoke", status_code=204)
def revoke_token(name: str, request: Request, who: Checked) -> None:
    with store(request, write=True) as session:
        user = user_of(session, who)
        require_role(user, CAN_ADMINISTER)
        try:
            api_tokens.revoke_token(session, name)
        except NotFound:
            raise HTTPException(status_code=404, detail="no such active token") from None
        audit.append(
            session, "token_revoke", user_id=user.id, username=user.username, detail={"token": name}
        )

"""Put referrals into a store directly (rows as the intake writes them) for the subject tests."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from itertools import count

from sqlalchemy.orm import Session

from safeguard.referrals.linking import LinkRecord
from safeguard.store.referral_models import (
    Identifier,
    Provider,
    ProviderRequest,
    ProviderReturn,
    Referral,
    ReferralDocument,
    ReferralFile,
    ReferralParty,
)
from safeguard.store.review_models import User
from safeguard.store.users import create_user

_n = count(1)


def user(session: Session, name: str, role: str) -> User:
    return create_user(session, name, "not-a-real-hash", role)


def add_referral(
    session: Session,
    record: LinkRecord,
    *,
    source: str = "ncmec",
    received_at: datetime | None = None,
    assignee: str | None = None,
    annotations: str | None = None,
    incident_type: str | None = None,
) -> Referral:
    n = next(_n)
    body = f"referral {record.key} {n}".encode()
    doc = ReferralDocument(
        sha256=hashlib.sha256(body).hexdigest(),
        filename=f"{record.key}.json",
        format="json",
        size=len(body),
        content=body,
    )
    session.add(doc)
    session.flush()
    ref = Referral(
        source=source,
        external_id=record.key,
        document_id=doc.id,
        received_at=received_at or datetime(2026, 11, 1, tzinfo=UTC) + timedelta(minutes=n),
        assignee=assignee,
        report_annotations=annotations,
        incident_type=incident_type,
    )
    session.add(ref)
    session.flush()
    p = record.person
    party = ReferralParty(
        referral_id=ref.id,
        role="reported",
        first_name=p.first_name,
        last_name=p.last_name,
        date_of_birth=p.dob,
    )
    session.add(party)
    session.flush()
    for s in record.strong:
        session.add(
            Identifier(
                referral_id=ref.id,
                party_id=party.id,
                kind=s.kind,
                value=s.value,
                original=s.value.upper() if s.kind == "email" else s.value,
                service=s.service,
                event_at=s.at,
                port=s.port,
                origin=s.origin,
            )
        )
    for kind, value in (("address", p.address), ("postcode", p.postcode)):
        if value:
            session.add(Identifier(referral_id=ref.id, kind=kind, value=value, original=value))
    session.flush()
    return ref


def add_file(session: Session, referral: Referral, **fields: object) -> ReferralFile:
    row = ReferralFile(referral_id=referral.id, **fields)
    session.add(row)
    session.flush()
    return row


def add_return(
    session: Session,
    referral: Referral,
    *,
    nil: bool = False,
    state: str = "returned",
    deadline: datetime | None = None,
    **fields: object,
) -> ProviderRequest:
    provider = session.query(Provider).first()
    if provider is None:
        provider = Provider(name="Example Telecom", retention_days=365)
        session.add(provider)
        session.flush()
    ident = Identifier(
        referral_id=referral.id, kind="ip", value="192.0.2.10", original="192.0.2.10"
    )
    session.add(ident)
    session.flush()
    req = ProviderRequest(
        reference=f"CDR-{next(_n):05d}",
        referral_id=referral.id,
        identifier_id=ident.id,
        provider_id=provider.id,
        kind="ip",
        value="192.0.2.10",
        reason="identify subscriber",
        state=state,
        deadline=deadline,
    )
    session.add(req)
    session.flush()
    if state == "returned" or nil:
        session.add(
            ProviderReturn(request_id=req.id, document_sha256="0" * 64, line=2, nil=nil, **fields)
        )
    session.flush()
    return req

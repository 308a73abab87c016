"""Referral repository: documents, referrals with their parties/files/identifiers, queues,
state history, the view-authority gate. (Providers, requests and returns: store/providers.py.)"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, insert, or_, select
from sqlalchemy.orm import Session

from safeguard.domain.referrals import ReferralFacts
from safeguard.store.models import Bank, BankEntry, Case, ExhibitMedia, FileRecord, Match, utcnow
from safeguard.store.referral_models import (
    Identifier,
    ProviderRequest,
    Referral,
    ReferralDocument,
    ReferralEvent,
    ReferralFile,
    ReferralParty,
)


class ReferralNotFound(LookupError):
    pass


def _json(value: object) -> str | None:
    if value is None:
        return None
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def document_by_sha(session: Session, sha256: str) -> ReferralDocument | None:
    return session.scalar(select(ReferralDocument).where(ReferralDocument.sha256 == sha256))


def documents_by_sha(session: Session, shas: Sequence[str]) -> dict[str, int]:
    """Stored documents among these SHA-256s: sha -> document id."""
    found: dict[str, int] = {}
    shas = sorted(set(shas))
    for start in range(0, len(shas), 500):
        rows = session.execute(
            select(ReferralDocument.sha256, ReferralDocument.id).where(
                ReferralDocument.sha256.in_(shas[start : start + 500])
            )
        )
        found.update(dict(rows.all()))
    return found


def existing_external_ids(session: Session, source: str, external_ids: Sequence[str]) -> set[str]:
    ids = sorted(set(external_ids))
    found: set[str] = set()
    for start in range(0, len(ids), 500):
        found.update(
            session.scalars(
                select(Referral.external_id).where(
                    Referral.source == source, Referral.external_id.in_(ids[start : start + 500])
                )
            )
        )
    return found


def add_document(
    session: Session, sha256: str, filename: str, fmt: str, data: bytes, by: str | None
) -> ReferralDocument:
    row = ReferralDocument(
        sha256=sha256, filename=filename, format=fmt, size=len(data), content=data, imported_by=by
    )
    session.add(row)
    session.flush()
    return row


def referrals_of_document(session: Session, document_id: int) -> list[Referral]:
    return list(
        session.scalars(
            select(Referral).where(Referral.document_id == document_id).order_by(Referral.id)
        )
    )


def find_referral(session: Session, source: str, external_id: str) -> Referral | None:
    return session.scalar(
        select(Referral).where(Referral.source == source, Referral.external_id == external_id)
    )


def get_referral(session: Session, referral_id: int) -> Referral:
    row = session.get(Referral, referral_id)
    if row is None:
        raise ReferralNotFound(f"no referral {referral_id}")
    return row


def add_referral(
    session: Session,
    facts: ReferralFacts,
    *,
    source: str,
    document_id: int,
    received_at: datetime,
    gate_unviewed: bool,
    actor: str | None,
) -> Referral:
    """Write one referral and everything in it, with its first history event."""
    extra = dict(facts.extra or {})
    referral = Referral(
        source=source,
        external_id=facts.external_id,
        document_id=document_id,
        received_at=received_at,
        state="received",
        state_changed_at=utcnow(),
        incident_type=facts.incident_type,
        platform=facts.platform,
        escalate_to_high_priority=facts.escalate_to_high_priority,
        report_annotations=facts.report_annotations,
        incident_at=facts.incident_at,
        incident_offset_minutes=facts.incident_offset_minutes,
        incident_at_original=facts.incident_at_original,
        incident_description=facts.incident_description,
        reporter_name=facts.reporter_name,
        reporter_json=_json(facts.reporter),
        law_enforcement_json=_json(facts.law_enforcement),
        additional_info=facts.additional_info,
        extra_json=_json(extra) if extra else None,
    )
    session.add(referral)
    session.flush()
    parties = []
    for p in facts.parties:
        row = ReferralParty(referral_id=referral.id, **p.__dict__)
        session.add(row)
        parties.append(row)
    files = []
    for f in facts.files:
        values = dict(f.__dict__)
        values["hashes_json"] = _json(list(values.pop("hashes"))) if f.hashes else None
        values["details_json"] = _json(list(values.pop("details"))) if f.details else None
        values.pop("hashes", None)
        values.pop("details", None)
        row = ReferralFile(
            referral_id=referral.id,
            authority_required=bool(gate_unviewed and f.file_viewed_by_esp is False),
            **values,
        )
        session.add(row)
        files.append(row)
    session.flush()
    rows = [
        {
            "referral_id": referral.id,
            "party_id": parties[i.party].id if i.party is not None else None,
            "file_row_id": files[i.file].id if i.file is not None else None,
            "return_id": None,
            "origin": i.origin,
            "kind": i.kind,
            "value": i.value,
            "original": i.original,
            "valid": i.valid,
            "flags": " ".join(i.flags) or None,
            "service": i.service,
            "event_name": i.event_name,
            "event_at": i.event_at,
            "event_offset_minutes": i.event_offset_minutes,
            "event_at_original": i.event_at_original,
            "port": i.port,
            "possible_proxy": i.possible_proxy,
            "location": i.location,
            "note": i.note,
        }
        for i in facts.identifiers
    ]
    if rows:  # one executemany, not an ORM object per identifier
        session.execute(insert(Identifier), rows)
    session.add(
        ReferralEvent(
            referral_id=referral.id,
            from_state=None,
            to_state="received",
            actor=actor,
            reason=f"imported from {source}",
        )
    )
    return referral


def parties(session: Session, referral_id: int) -> list[ReferralParty]:
    return list(
        session.scalars(
            select(ReferralParty)
            .where(ReferralParty.referral_id == referral_id)
            .order_by(ReferralParty.id)
        )
    )


def files(session: Session, referral_id: int) -> list[ReferralFile]:
    return list(
        session.scalars(
            select(ReferralFile)
            .where(ReferralFile.referral_id == referral_id)
            .order_by(ReferralFile.ordinal)
        )
    )


def files_of(session: Session, referral_ids: Sequence[int]) -> list[ReferralFile]:
    return list(
        session.scalars(
            select(ReferralFile)
            .where(ReferralFile.referral_id.in_(list(referral_ids)))
            .order_by(ReferralFile.referral_id, ReferralFile.ordinal)
        )
    )


def identifiers(session: Session, referral_id: int) -> list[Identifier]:
    return list(
        session.scalars(
            select(Identifier).where(Identifier.referral_id == referral_id).order_by(Identifier.id)
        )
    )


def events(session: Session, referral_id: int) -> list[ReferralEvent]:
    return list(
        session.scalars(
            select(ReferralEvent)
            .where(ReferralEvent.referral_id == referral_id)
            .order_by(ReferralEvent.id)
        )
    )


def add_event(
    session: Session,
    referral: Referral,
    to_state: str,
    *,
    actor: str | None,
    assignee: str | None,
    reason: str,
) -> ReferralEvent:
    event = ReferralEvent(
        referral_id=referral.id,
        from_state=referral.state,
        to_state=to_state,
        actor=actor,
        assignee=assignee,
        reason=reason,
    )
    session.add(event)
    if to_state != referral.state:
        referral.state_changed_at = utcnow()
    referral.state = to_state
    referral.assignee = assignee
    session.flush()
    return event


@dataclass(frozen=True)
class HashHit:
    bank_entry_id: int
    category: str
    hash_kind: str
    value: str


def bank_hits(session: Session, md5s: Iterable[str], sha1s: Iterable[str]) -> list[HashHit]:
    """Entries of enabled banks whose MD5 or SHA-1 is one of those given."""
    md5s, sha1s = sorted(set(md5s)), sorted(set(sha1s))
    hits: list[HashHit] = []
    for column, kind, values in ((BankEntry.md5, "md5", md5s), (BankEntry.sha1, "sha1", sha1s)):
        for start in range(0, len(values), 500):
            chunk = values[start : start + 500]
            rows = session.execute(
                select(BankEntry.id, BankEntry.category, column)
                .join(Bank, Bank.id == BankEntry.bank_id)
                .where(Bank.enabled.is_(True), column.in_(chunk))
            )
            hits += [HashHit(i, c, kind, v) for i, c, v in rows]
    return hits


@dataclass(frozen=True)
class QueueRow:
    referral: Referral
    identifiers: int
    files: int
    open_requests: int
    overdue_requests: int


SORTS = {
    "received": Referral.received_at.asc(),
    "-received": Referral.received_at.desc(),
    "waiting": Referral.state_changed_at.asc(),
    "id": Referral.id.asc(),
    "-id": Referral.id.desc(),
}


def queue(
    session: Session,
    *,
    states: Sequence[str] = (),
    sources: Sequence[str] = (),
    received_before: datetime | None = None,
    overdue_at: datetime | None = None,
    overdue_warn_until: datetime | None = None,
    sort: str = "waiting",
    limit: int = 200,
    offset: int = 0,
) -> list[QueueRow]:
    """Referrals for the queue. ``overdue_at``: only those with an open request whose deadline
    is before ``overdue_warn_until`` (the caller adds the warning period)."""
    open_states = ("drafted", "authorised", "sent")
    query = select(Referral)
    if states:
        query = query.where(Referral.state.in_(list(states)))
    if sources:
        query = query.where(Referral.source.in_(list(sources)))
    if received_before is not None:
        query = query.where(Referral.received_at <= received_before)
    if overdue_at is not None:
        limit_at = overdue_warn_until or overdue_at
        query = query.where(
            Referral.id.in_(
                select(ProviderRequest.referral_id).where(
                    ProviderRequest.state.in_(open_states), ProviderRequest.deadline <= limit_at
                )
            )
        )
    query = query.order_by(SORTS.get(sort, SORTS["waiting"]), Referral.id).limit(limit)
    rows = list(session.scalars(query.offset(offset)))
    ids = [r.id for r in rows]
    if not ids:
        return []
    ident = dict(
        session.execute(
            select(Identifier.referral_id, func.count())
            .where(Identifier.referral_id.in_(ids))
            .group_by(Identifier.referral_id)
        ).all()
    )
    filecount = dict(
        session.execute(
            select(ReferralFile.referral_id, func.count())
            .where(ReferralFile.referral_id.in_(ids))
            .group_by(ReferralFile.referral_id)
        ).all()
    )
    opened = dict(
        session.execute(
            select(ProviderRequest.referral_id, func.count())
            .where(ProviderRequest.referral_id.in_(ids), ProviderRequest.state.in_(open_states))
            .group_by(ProviderRequest.referral_id)
        ).all()
    )
    overdue: dict[int, int] = {}
    if overdue_warn_until is not None:
        overdue = dict(
            session.execute(
                select(ProviderRequest.referral_id, func.count())
                .where(
                    ProviderRequest.referral_id.in_(ids),
                    ProviderRequest.state.in_(open_states),
                    ProviderRequest.deadline <= overdue_warn_until,
                )
                .group_by(ProviderRequest.referral_id)
            ).all()
        )
    return [
        QueueRow(
            r, ident.get(r.id, 0), filecount.get(r.id, 0), opened.get(r.id, 0), overdue.get(r.id, 0)
        )
        for r in rows
    ]


def referral_for_case(session: Session, case_id: int) -> Referral | None:
    return session.scalar(select(Referral).where(Referral.case_id == case_id))


def case_by_reference(session: Session, reference: str) -> Case | None:
    return session.scalar(select(Case).where(Case.reference == reference))


def gated_file(session: Session, exhibit_id: int, media_id: int) -> ReferralFile | None:
    """A referral file of this exhibit and media that may not be viewed yet: not viewed by the
    ESP, its source gated, and no authority recorded. None when viewing is allowed."""
    return session.scalar(
        select(ReferralFile)
        .join(Referral, Referral.id == ReferralFile.referral_id)
        .where(
            Referral.exhibit_id == exhibit_id,
            ReferralFile.media_id == media_id,
            ReferralFile.authority_required.is_(True),
            ReferralFile.authority_at.is_(None),
        )
        .limit(1)
    )


def pending_authority(session: Session, referral_id: int) -> list[ReferralFile]:
    return list(
        session.scalars(
            select(ReferralFile).where(
                ReferralFile.referral_id == referral_id,
                ReferralFile.authority_required.is_(True),
                ReferralFile.authority_at.is_(None),
            )
        )
    )


def same_value_identifiers(
    session: Session, pairs: Iterable[tuple[str, str]], exclude_referral: int | None = None
) -> list[Identifier]:
    """Identifiers elsewhere with one of these (kind, value) pairs (for linking)."""
    pairs = list(pairs)
    if not pairs:
        return []
    query = select(Identifier).where(
        or_(*(and_(Identifier.kind == k, Identifier.value == v) for k, v in pairs))
    )
    if exclude_referral is not None:
        query = query.where(Identifier.referral_id != exclude_referral)
    return list(session.scalars(query))


@dataclass(frozen=True)
class UploadStatus:
    media_id: int | None
    status: str | None
    category: str | None
    bank_entry_id: int | None
    error: str | None


def exhibit_file_status(session: Session, exhibit_id: int) -> dict[str, UploadStatus]:
    """Each file of an exhibit by logical path: its media, status, category and the bank entry
    of the deciding match."""
    rows = session.execute(
        select(
            FileRecord.logical_path,
            FileRecord.media_id,
            ExhibitMedia.status,
            ExhibitMedia.category,
            Match.bank_entry_id,
            FileRecord.error,
        )
        .outerjoin(
            ExhibitMedia,
            and_(
                ExhibitMedia.exhibit_id == FileRecord.exhibit_id,
                ExhibitMedia.media_id == FileRecord.media_id,
            ),
        )
        .outerjoin(Match, Match.id == ExhibitMedia.deciding_match_id)
        .where(FileRecord.exhibit_id == exhibit_id)
    )
    return {p: UploadStatus(m, s, c, b, e) for p, m, s, c, b, e in rows}

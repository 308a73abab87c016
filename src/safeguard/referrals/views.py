"""Read-only views of referrals for the front doors (CLI, pages, API): plain JSON values."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from safeguard.referrals import request_rules as rules
from safeguard.referrals.resolution import as_utc, request_record
from safeguard.referrals.service import CAN_REFERRALS, Actor, require
from safeguard.referrals.settings import ReferralSettings
from safeguard.store import providers as provider_store
from safeguard.store import referrals as store


def iso(when: datetime | None) -> str | None:
    when = as_utc(when)
    return when.isoformat().replace("+00:00", "Z") if when else None


def _loads(text: str | None) -> object:
    return json.loads(text) if text else None


def queue(
    session: Session,
    *,
    actor: Actor,
    states: tuple[str, ...] = (),
    sources: tuple[str, ...] = (),
    min_age_days: int | None = None,
    overdue: bool = False,
    sort: str = "waiting",
    limit: int = 200,
    offset: int = 0,
    now: datetime | None = None,
    settings: ReferralSettings | None = None,
) -> list[dict]:
    """The referral queue: waiting longest first by default; ``overdue`` keeps only those with
    an open request at or near its deadline."""
    require(actor, CAN_REFERRALS)
    settings = settings or ReferralSettings.from_env()
    now = now or datetime.now(UTC)
    warn_until = now + timedelta(days=settings.warn_days)
    rows = store.queue(
        session,
        states=states,
        sources=sources,
        received_before=now - timedelta(days=min_age_days) if min_age_days else None,
        overdue_at=now if overdue else None,
        overdue_warn_until=warn_until,
        sort=sort,
        limit=limit,
        offset=offset,
    )
    out = []
    for row in rows:
        r = row.referral
        received = as_utc(r.received_at)
        changed = as_utc(r.state_changed_at)
        out.append(
            {
                "id": r.id,
                "source": r.source,
                "external_id": r.external_id,
                "state": r.state,
                "assignee": r.assignee,
                "received_at": iso(received),
                "age_days": (now - received).days if received else None,
                "waiting_days": (now - changed).days if changed else None,
                "incident_type": r.incident_type,
                "escalate_to_high_priority": r.escalate_to_high_priority,
                "identifiers": row.identifiers,
                "files": row.files,
                "file_counts": _loads(r.file_counts_json) or {},
                "open_requests": row.open_requests,
                "overdue_requests": row.overdue_requests,
            }
        )
    return out


def detail(
    session: Session, referral_id: int, *, actor: Actor, now: datetime | None = None
) -> dict:
    """Everything about one referral: summary, parties, identifiers with their originals,
    files with match results (no pictures), requests and returns, history."""
    require(actor, CAN_REFERRALS)
    now = now or datetime.now(UTC)
    r = store.get_referral(session, referral_id)
    requests = provider_store.list_requests(session, referral_id=r.id)
    returns = provider_store.returns_for(session, [q.id for q in requests])
    by_request: dict[int, list] = {}
    for back in returns:
        by_request.setdefault(back.request_id, []).append(
            {
                "nil": back.nil,
                "subscriber_name": back.subscriber_name,
                "address": back.address,
                "email": back.email,
                "phone": back.phone,
                "account": back.account,
                "service_start": iso(back.service_start),
                "service_end": iso(back.service_end),
                "imported_at": iso(back.imported_at),
                "imported_by": back.imported_by,
            }
        )
    return {
        "id": r.id,
        "source": r.source,
        "external_id": r.external_id,
        "state": r.state,
        "assignee": r.assignee,
        "received_at": iso(r.received_at),
        "document": {
            "filename": r.document.filename,
            "format": r.document.format,
            "sha256": r.document.sha256,
            "size": r.document.size,
        },
        "case_id": r.case_id,
        "exhibit_id": r.exhibit_id,
        "incident": {
            "incident_type": r.incident_type,
            "platform": r.platform,
            "escalate_to_high_priority": r.escalate_to_high_priority,
            "report_annotations": r.report_annotations,
            "incident_at": iso(r.incident_at),
            "incident_offset_minutes": r.incident_offset_minutes,
            "incident_at_original": r.incident_at_original,
            "incident_description": r.incident_description,
        },
        "reporter_name": r.reporter_name,
        "reporter": _loads(r.reporter_json),
        "law_enforcement": _loads(r.law_enforcement_json),
        "additional_info": r.additional_info,
        "extra": _loads(r.extra_json),
        "file_counts": _loads(r.file_counts_json) or {},
        "parties": [
            {
                k: getattr(p, k)
                for k in p.__table__.columns.keys()  # noqa: SIM118 - Column collection
                if k not in ("referral_id",)
            }
            for p in store.parties(session, r.id)
        ],
        "identifiers": [
            {
                "id": i.id,
                "kind": i.kind,
                "value": i.value,
                "original": i.original,
                "valid": i.valid,
                "flags": i.flags.split() if i.flags else [],
                "origin": i.origin,
                "service": i.service,
                "event_name": i.event_name,
                "event_at": iso(i.event_at),
                "event_offset_minutes": i.event_offset_minutes,
                "event_at_original": i.event_at_original,
                "port": i.port,
                "possible_proxy": i.possible_proxy,
                "party_id": i.party_id,
                "file_row_id": i.file_row_id,
                "location": i.location,
                "note": i.note,
            }
            for i in store.identifiers(session, r.id)
        ],
        "files": [
            {
                "id": f.id,
                "file_id": f.file_id,
                "file_name": f.file_name,
                "original_file_name": f.original_file_name,
                "uploaded_at": iso(f.uploaded_at),
                "uploaded_offset_minutes": f.uploaded_offset_minutes,
                "file_viewed_by_esp": f.file_viewed_by_esp,
                "exif_viewed_by_esp": f.exif_viewed_by_esp,
                "publicly_available": f.publicly_available,
                "file_relevance": f.file_relevance,
                "file_annotations": f.file_annotations,
                "industry_classification": f.industry_classification,
                "md5": f.md5,
                "sha1": f.sha1,
                "media_id": f.media_id,
                "match_status": f.match_status,
                "category": f.category,
                "bank_entry_id": f.bank_entry_id,
                "authority_required": f.authority_required,
                "authority_by": f.authority_by,
                "authority_at": iso(f.authority_at),
                "authority_reference": f.authority_reference,
            }
            for f in store.files(session, r.id)
        ],
        "requests": [
            {
                **request_record(q),
                "overdue": rules.is_overdue(q.state, as_utc(q.deadline), now),
                "sent_at_utc": iso(q.sent_at),
                "returns": by_request.get(q.id, []),
            }
            for q in requests
        ],
        "history": [
            {
                "at": iso(e.at),
                "from": e.from_state,
                "to": e.to_state,
                "actor": e.actor,
                "assignee": e.assignee,
                "reason": e.reason,
            }
            for e in store.events(session, r.id)
        ],
    }


def requests_by_provider(
    session: Session,
    *,
    actor: Actor,
    states: tuple[str, ...] = (),
    provider: str | None = None,
    now: datetime | None = None,
) -> dict[str, list[dict]]:
    require(actor, CAN_REFERRALS)
    now = now or datetime.now(UTC)
    out: dict[str, list[dict]] = {}
    for q in provider_store.list_requests(session, states=states, provider=provider):
        out.setdefault(q.provider.name, []).append(
            {
                **request_record(q),
                "referral_id": q.referral_id,
                "overdue": rules.is_overdue(q.state, as_utc(q.deadline), now),
            }
        )
    return out

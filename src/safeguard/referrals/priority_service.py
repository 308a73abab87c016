"""Services: score a referral (with history), record a KIRAT result, the prioritised queue."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from safeguard.referrals import request_rules, workflow
from safeguard.referrals.priority import (
    KIRAT_BANDS,
    Assessment,
    Kirat,
    PriorityFacts,
    RuleError,
    Rules,
    assess,
    load_rules,
)
from safeguard.referrals.subjects import CAN_LINK, Refused, _aware, advance, require
from safeguard.store import audit
from safeguard.store import subjects as repo
from safeguard.store.referral_models import Referral
from safeguard.store.review_models import User
from safeguard.store.subject_models import KiratRecord, PriorityAssessment


def rules_or_raise(path: Path | None = None) -> Rules:
    rules = load_rules(path)
    if isinstance(rules, RuleError):
        raise Refused(f"bad rule file: {rules}")
    return rules


def gather_facts(session: Session, referral: Referral) -> PriorityFacts:
    subject = repo.subject_of(session, referral.id)
    members = repo.members(session, subject.id) if subject else [referral]
    ids = [r.id for r in members]
    facts = {f.kind for f in repo.facts_for(session, ids)}
    received = _aware(referral.received_at)
    prior = sum(
        1
        for r in members
        if r.id != referral.id and (_aware(r.received_at), r.id) < (received, referral.id)
    )
    party = repo.reported_parties(session).get(referral.id)
    if party and party.prior_ct_reports:
        prior += len(party.prior_ct_reports.split())
    files = repo.files_for(session, referral.id)
    file_annotations = frozenset(a for f in files for a in (f.file_annotations or "").split())
    counts: dict[str, int] = {}
    for f in files:
        if f.category:
            counts[f.category] = counts.get(f.category, 0) + 1
    if not counts and referral.file_counts_json:
        try:
            counts = {
                k: int(v)
                for k, v in json.loads(referral.file_counts_json).items()
                if isinstance(v, int)
            }
        except ValueError:
            counts = {}
    deadlines = [
        _aware(r.deadline)
        for r in repo.requests_for(session, referral.id)
        if r.deadline is not None and r.state not in request_rules.FINAL
    ]
    k = repo.latest_kirat(session, ids)
    return PriorityFacts(
        received_at=received,
        incident_type=referral.incident_type,
        annotations=frozenset((referral.report_annotations or "").split()),
        file_annotations=file_annotations,
        escalate_to_high_priority=bool(referral.escalate_to_high_priority),
        contact_abuse_alleged="contact_abuse_alleged" in facts,
        position_of_trust="position_of_trust" in facts,
        household_access="household_access" in facts,
        registered_sex_offender="registered_sex_offender" in facts,
        prior_referrals=prior,
        first_generation_count=sum(1 for f in files if f.match_status == "new"),
        category_counts=counts,
        nearest_deadline=min(deadlines) if deadlines else None,
        kirat=Kirat(k.band, k.version, k.assessor, k.assessed_on) if k else None,
    )


def score(
    session: Session,
    user: User | None,
    referral: Referral,
    *,
    rules: Rules | None = None,
    now: datetime | None = None,
) -> tuple[Assessment, bool]:
    """Assess the referral; a new history row (audited) only when the outcome changed."""
    if user is not None:
        require(user, CAN_LINK)
    rules = rules or rules_or_raise()
    result = assess(gather_facts(session, referral), rules, now or datetime.now(UTC))
    body = json.dumps(result.as_dict(), sort_keys=True)
    last = repo.latest_assessment(session, referral.id)
    if last is not None and last.factors_json == body:
        return result, False
    session.add(
        PriorityAssessment(
            referral_id=referral.id,
            score=result.score,
            band=result.band,
            band_rank=rules.band_rank(result.band),
            factors_json=body,
            rules_sha256=rules.sha256,
            assessed_by=user.username if user else None,
        )
    )
    session.flush()
    advance(session, user, referral, workflow.PRIORITISED, f"scored {result.band}")
    audit.append(
        session,
        "referral_prioritised",
        user_id=user.id if user else None,
        username=user.username if user else None,
        detail={
            "referral": repo.referral_label(referral),
            "score": result.score,
            "band": result.band,
            "previous": {"score": last.score, "band": last.band} if last else None,
        },
    )
    return result, True


def record_kirat(
    session: Session,
    user: User,
    referral: Referral,
    *,
    band: str,
    version: str,
    assessor: str,
    assessed_on: str,
) -> KiratRecord:
    """Record a KIRAT result made elsewhere (never computed here), then re-score."""
    require(user, CAN_LINK)
    if band not in KIRAT_BANDS:
        raise Refused(f"KIRAT band must be one of {', '.join(KIRAT_BANDS)}")
    if not version.strip() or not assessor.strip():
        raise Refused("KIRAT needs its version and assessor")
    try:
        day = date.fromisoformat(assessed_on)
    except ValueError as exc:
        raise Refused(f"assessed_on: {assessed_on!r} is not a date (YYYY-MM-DD)") from exc
    row = KiratRecord(
        referral_id=referral.id,
        band=band,
        version=version,
        assessor=assessor,
        assessed_on=day.isoformat(),
        recorded_by=user.username,
    )
    session.add(row)
    session.flush()
    audit.append(
        session,
        "kirat_recorded",
        user_id=user.id,
        username=user.username,
        detail={
            "referral": repo.referral_label(referral),
            "band": band,
            "version": version,
            "assessor": assessor,
            "assessed_on": day.isoformat(),
        },
    )
    score(session, user, referral)
    return row


def queue(session: Session) -> list[dict[str, Any]]:
    """Open referrals by band (highest first) then age (oldest first); unscored last."""
    rows = []
    for r in repo.all_referrals(session):
        if r.state == workflow.CLOSED:
            continue
        last = repo.latest_assessment(session, r.id)
        rows.append(
            {
                "referral": repo.referral_label(r),
                "id": r.id,
                "band": last.band if last else None,
                "score": last.score if last else None,
                "band_rank": last.band_rank if last else 10**6,
                "received_at": _aware(r.received_at).isoformat(),
                "state": r.state,
                "held": repo.open_hold(session, r.id) is not None,
            }
        )
    rows.sort(key=lambda x: (x["band_rank"], x["received_at"], x["id"]))
    return rows

"""The content of an intelligence package (to warrant stage), as a plain JSON-able dict.

Hashes and metadata only: files appear as their MD5/SHA-1, category and status, never their
bytes. ``proposed_actions`` and ``open_questions`` are pure rules over the gathered facts:

- a subscriber address from a provider return proposes a premises search warrant application;
- a registered sex offender proposes informing the offender manager;
- access to children or a position of trust, or a child at immediate risk, proposes a
  safeguarding strategy discussion;
- open questions: identifiers not yet resolved (requests not returned), nil returns, a hold for
  a supervisor, no KIRAT result, files nobody may view yet (no authority recorded).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from safeguard.referrals import request_rules
from safeguard.referrals.priority import Assessment
from safeguard.referrals.subjects import _aware
from safeguard.store import subjects as repo
from safeguard.store.referral_models import Referral


def proposed_actions(returns: Sequence[dict[str, Any]], factors: dict[str, bool]) -> list[str]:
    actions = []
    for r in returns:
        if not r.get("nil") and r.get("address"):
            who = r.get("subscriber_name") or "the subscriber"
            actions.append(
                f"Apply for a search warrant for the premises at {r['address']} "
                f"({who}, provider return {r['request']})"
            )
    if factors.get("registered_sex_offender"):
        actions.append("Inform the offender manager (registered sex offender)")
    if factors.get("access_to_children") or factors.get("child_at_immediate_risk"):
        actions.append("Hold a safeguarding strategy discussion with children's services")
    return actions


def open_questions(
    *,
    unresolved: Sequence[str],
    nil_returns: Sequence[str],
    held_reason: str | None,
    kirat: bool,
    files_without_authority: int,
    subject: bool,
) -> list[str]:
    q = [f"Not resolved yet: {u}" for u in unresolved]
    q += [f"Nil return, identity still unknown: {n}" for n in nil_returns]
    if held_reason:
        q.append(f"Held for a supervisor: {held_reason}")
    if not kirat:
        q.append("No KIRAT result recorded")
    if files_without_authority:
        q.append(
            f"{files_without_authority} file(s) not viewed by the ESP: record the authority "
            "before anyone views them"
        )
    if not subject:
        q.append("Not linked to a subject yet (run subject linking)")
    return q


def content(
    session: Session,
    referral: Referral,
    assessment: Assessment,
    *,
    reference: str,
    generated_by: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    label = repo.referral_label(referral)
    subject = repo.subject_of(session, referral.id)
    members = repo.members(session, subject.id) if subject else [referral]
    names = {r.id: repo.referral_label(r) for r in members}
    identities = []
    for i in repo.identifiers_by_referral(session).get(referral.id, []):
        detail = []
        if i.service:
            detail.append(f"service {i.service}")
        if i.event_at:
            detail.append(f"at {_aware(i.event_at).isoformat()}")
        if i.port is not None:
            detail.append(f"port {i.port}")
        if not i.valid:
            detail.append("did not parse")
        identities.append(
            {
                "kind": i.kind,
                "value": i.value,
                "original": i.original,
                "origin": i.origin,
                "detail": ", ".join(detail),
            }
        )
    returns = []
    nil = []
    for req, ret in repo.returns_for(session, [referral.id]):
        period = None
        if ret.service_start or ret.service_end:
            period = " to ".join(
                _aware(t).date().isoformat() if t else "?"
                for t in (ret.service_start, ret.service_end)
            )
        returns.append(
            {
                "request": req.reference,
                "nil": ret.nil,
                "subscriber_name": ret.subscriber_name,
                "address": ret.address,
                "email": ret.email,
                "phone": ret.phone,
                "account": ret.account,
                "service_period": period,
            }
        )
        if ret.nil:
            nil.append(f"{req.kind} {req.value} ({req.reference})")
    unresolved = [
        f"{r.kind} {r.value} ({r.reference}, {r.state}"
        + (f", deadline {_aware(r.deadline).date().isoformat()})" if r.deadline else ")")
        for r in repo.requests_for(session, referral.id)
        if r.state not in request_rules.FINAL
    ]
    files = repo.files_for(session, referral.id)
    counts: dict[str, int] = {}
    for f in files:
        key = f.category or f.match_status or "unknown"
        counts[key] = counts.get(key, 0) + 1
    if referral.file_counts_json:
        try:
            stored = json.loads(referral.file_counts_json)
            if isinstance(stored, dict):
                counts = {str(k): v for k, v in stored.items() if isinstance(v, int)}
        except ValueError:
            pass
    kirat = repo.latest_kirat(session, [r.id for r in members])
    hold = repo.open_hold(session, referral.id)
    applied = {f.name: f.applied for f in assessment.factors}
    links = []
    decided = {}
    if subject:
        for d in repo.decisions_for(session, [r.id for r in members]):
            who = f"{'confirmed' if d.same else 'split'} by {d.decided_by}: {d.reason}"
            decided[(d.referral_a_id, d.referral_b_id)] = who
        for link in repo.links(session, subject.id):
            links.append(
                {
                    "a": names.get(link.referral_a_id),
                    "b": names.get(link.referral_b_id),
                    "method": link.method,
                    "reasons": json.loads(link.reasons_json),
                    "weight": link.weight,
                    "probability": link.probability,
                    "decision": decided.get((link.referral_a_id, link.referral_b_id)),
                }
            )
    return {
        "format": "safeguard-intelligence-package",
        "version": 1,
        "reference": reference,
        "generated_at": now.isoformat(timespec="seconds"),
        "generated_by": generated_by,
        "referral": {
            "reference": label,
            "source": referral.source,
            "external_id": referral.external_id,
            "received_at": _aware(referral.received_at).isoformat(),
            "state": referral.state,
            "incident_type": referral.incident_type,
            "platform": referral.platform,
            "incident_at": _aware(referral.incident_at).isoformat()
            if referral.incident_at
            else None,
            "annotations": sorted((referral.report_annotations or "").split()),
            "escalate_to_high_priority": referral.escalate_to_high_priority,
            "description": referral.incident_description,
        },
        "identities": identities,
        "provider_returns": returns,
        "subject": {
            "reference": subject.reference,
            "label": subject.label,
            "referrals": [names[r.id] for r in members],
            "links": links,
        }
        if subject
        else None,
        "deconfliction": [
            {"scope": h.scope, "text": h.detail} for h in repo.hits_for(session, referral.id)
        ],
        "files": {
            "counts": dict(sorted(counts.items())),
            "items": [
                {
                    "name": f.file_name,
                    "md5": f.md5,
                    "sha1": f.sha1,
                    "category": f.category,
                    "status": f.match_status,
                }
                for f in files
            ],
        },
        "priority": assessment.as_dict(),
        "kirat": {
            "band": kirat.band,
            "version": kirat.version,
            "assessor": kirat.assessor,
            "assessed_on": kirat.assessed_on,
        }
        if kirat
        else None,
        "proposed_actions": proposed_actions(returns, applied),
        "open_questions": open_questions(
            unresolved=unresolved,
            nil_returns=nil,
            held_reason=hold.reason if hold else None,
            kirat=kirat is not None,
            files_without_authority=sum(
                1 for f in files if f.authority_required and not f.authority_at
            ),
            subject=subject is not None,
        ),
    }

"""Services: link referrals into subjects, analyst decisions, in-store deconfliction, holds.

Every state change here is one function that also writes its audit entry. Linking reads every
referral of the store, runs ``linking`` (deterministic) and ``splink_linker`` (probabilistic),
applies the analyst decisions and rebuilds the subject membership and links; a subject keeps its
reference across re-linking when it keeps most of its referrals.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from safeguard.referrals import workflow
from safeguard.referrals.linking import (
    Decision,
    LinkRecord,
    LinkResult,
    Person,
    Strong,
    cluster,
    deterministic_edges,
)
from safeguard.referrals.splink_linker import DEFAULT_THRESHOLD, probabilistic_links
from safeguard.store import audit
from safeguard.store import subjects as repo
from safeguard.store.referral_models import Identifier, Referral, ReferralParty
from safeguard.store.review_models import User
from safeguard.store.subject_models import (
    DeconflictionHit,
    ReferralHold,
    Subject,
    SubjectFact,
    SubjectLink,
    SubjectMember,
)

CAN_LINK = frozenset({"intelligence", "analyst", "supervisor"})
CAN_RELEASE = frozenset({"supervisor"})
FACT_KINDS = (
    "position_of_trust",
    "household_access",
    "registered_sex_offender",
    "contact_abuse_alleged",
)


class Refused(Exception):
    """A request the rules do not allow (message says why)."""


class NotAllowed(PermissionError):
    """The user's role may not do this."""


def advance(session: Session, user: User | None, referral: Referral, to: str, reason: str) -> bool:
    """Move the referral on to ``to`` when the workflow allows that move from where it is
    (e.g. resolved -> linked); otherwise leave it. Audited by the intake's ``move``."""
    if workflow.check_move(referral.state, to, reason) is not None:
        return False
    from safeguard.referrals import service

    actor = service.Actor(user.username, user.id, user.role) if user else service.Actor("safeguard")
    service.move(session, referral.id, to, reason=reason, actor=actor)
    return True


def require(user: User, roles: frozenset[str]) -> None:
    if user.role not in roles:
        raise NotAllowed(f"{user.role} may not do this (needs {' or '.join(sorted(roles))})")


def _aware(when: datetime | None) -> datetime | None:
    if when is not None and when.tzinfo is None:
        return when.replace(tzinfo=UTC)
    return when


def link_record(
    referral: Referral, identifiers: list[Identifier], party: ReferralParty | None
) -> LinkRecord:
    """What linking sees of a stored referral (valid identifiers only)."""
    strong: list[Strong] = []
    soft: dict[str, str] = {}
    for i in identifiers:
        if not i.valid:
            continue
        if i.kind in ("email", "phone", "esp_account", "username", "screen_name", "ip"):
            kind = "username" if i.kind == "screen_name" else i.kind
            strong.append(Strong(kind, i.value, i.service, _aware(i.event_at), i.port, i.origin))
        elif i.kind in ("name", "date_of_birth", "address", "postcode"):
            soft.setdefault(i.kind, i.value)
    first = party.first_name if party else None
    last = party.last_name if party else None
    if not (first or last) and soft.get("name"):
        parts = soft["name"].split()
        first, last = (parts[0], parts[-1]) if len(parts) > 1 else (None, parts[0])
    dob = (party.date_of_birth if party else None) or soft.get("date_of_birth")
    return LinkRecord(
        str(referral.id),
        tuple(strong),
        Person(first, last, dob, soft.get("address"), soft.get("postcode")),
    )


@dataclass(frozen=True)
class RelinkSummary:
    referrals: int
    subjects: int
    linked_subjects: int
    edges: int
    blocked: int
    new_conflicts: int


def _compute(session: Session, threshold: float, postgres: bool) -> tuple[LinkResult, list[str]]:
    referrals = repo.all_referrals(session)
    idents = repo.identifiers_by_referral(session)
    parties = repo.reported_parties(session)
    records = [link_record(r, idents.get(r.id, []), parties.get(r.id)) for r in referrals]
    edges = deterministic_edges(records)
    engine = session.get_bind() if postgres else None
    edges += [p.edge() for p in probabilistic_links(records, threshold, postgres_engine=engine)]
    decisions = [
        Decision(str(d.referral_a_id), str(d.referral_b_id), d.same)
        for d in repo.decisions(session)
    ]
    keys = [r.key for r in records]
    return cluster(keys, edges, decisions), keys


def relink(
    session: Session,
    user: User | None,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    postgres_splink: bool = False,
    reason: str = "relink",
) -> RelinkSummary:
    """Rebuild every subject from the referrals, the links and the analyst decisions."""
    if user is not None:
        require(user, CAN_LINK)
    result, keys = _compute(session, threshold, postgres_splink)
    before = repo.current_membership(session)
    repo.clear_links(session)
    session.flush()
    # Keep a subject's reference for the cluster holding most of its old referrals.
    claims: list[tuple[int, int, int]] = []  # (-overlap, cluster index, subject id)
    for index, members in enumerate(result.clusters):
        counts = Counter(before[int(k)] for k in members if int(k) in before)
        claims.extend((-n, index, sid) for sid, n in counts.items())
    claims.sort()
    cluster_subject: dict[int, int] = {}
    taken: set[int] = set()
    for _neg, index, sid in claims:
        if index not in cluster_subject and sid not in taken:
            cluster_subject[index] = sid
            taken.add(sid)
    now = datetime.now(UTC)
    referral_subject: dict[str, int] = {}
    for index, members in enumerate(result.clusters):
        sid = cluster_subject.get(index)
        if sid is None:
            sid = repo.new_subject(session).id
        subject = session.get(Subject, sid)
        subject.active, subject.updated_at = True, now
        for k in members:
            referral_subject[k] = sid
            session.add(SubjectMember(subject_id=sid, referral_id=int(k)))
    for old in {*before.values()} - {*cluster_subject.values()}:
        if old not in referral_subject.values():
            session.get(Subject, old).active = False
    for edge in result.edges:
        session.add(
            SubjectLink(
                subject_id=referral_subject[edge.a],
                referral_a_id=int(edge.pair[0]),
                referral_b_id=int(edge.pair[1]),
                method=edge.method,
                reasons_json=json.dumps(list(edge.reasons)),
                weight=edge.weight,
                probability=edge.probability,
            )
        )
    session.flush()
    for members in result.clusters:
        for k in members:
            advance(
                session,
                user,
                session.get(Referral, int(k)),
                workflow.LINKED,
                "linked into a subject",
            )
    _label_subjects(session, result)
    conflicts = _internal_deconfliction(session, result)
    _rescore(session, user, result)
    summary = RelinkSummary(
        referrals=len(keys),
        subjects=len(result.clusters),
        linked_subjects=sum(1 for c in result.clusters if len(c) > 1),
        edges=len(result.edges),
        blocked=len(result.blocked),
        new_conflicts=conflicts,
    )
    audit.append(
        session,
        "subjects_relinked",
        user_id=user.id if user else None,
        username=user.username if user else None,
        detail={"reason": reason, **summary.__dict__},
    )
    return summary


def _rescore(session: Session, user: User | None, result: LinkResult) -> None:
    """Referrals already scored are scored again: prior referrals and recorded intelligence
    follow the subject (a new history row only where the outcome changed)."""
    from safeguard.referrals import priority_service  # it builds on this module

    rules = None
    for members in result.clusters:
        for k in members:
            referral = session.get(Referral, int(k))
            if repo.latest_assessment(session, referral.id) is None:
                continue
            rules = rules or priority_service.rules_or_raise()
            priority_service.score(session, None, referral, rules=rules)


def _label_subjects(session: Session, result: LinkResult) -> None:
    parties = repo.reported_parties(session)
    membership = repo.current_membership(session)
    for members in result.clusters:
        names = Counter(
            " ".join(x for x in (p.first_name, p.last_name) if x)
            for k in members
            if (p := parties.get(int(k))) and (p.first_name or p.last_name)
        )
        sid = membership[int(members[0])]
        session.get(Subject, sid).label = names.most_common(1)[0][0] if names else None


def _is_open(r: Referral) -> bool:
    return r.state != workflow.CLOSED


def _internal_deconfliction(session: Session, result: LinkResult) -> int:
    """A referral whose subject already has another open referral held by someone else (or a
    case) gets a hit naming the holder, and a hold for a supervisor."""
    found = 0
    for members in result.clusters:
        if len(members) < 2:
            continue
        rows = sorted(
            (session.get(Referral, int(k)) for k in members),
            key=lambda r: (_aware(r.received_at), r.id),
        )
        for i, newer in enumerate(rows):
            for older in rows[:i]:
                if not _is_open(older):
                    continue
                holder = older.assignee or (f"case {older.case_id}" if older.case_id else None)
                if holder is None or holder == newer.assignee:
                    continue
                label = repo.referral_label(older)
                if repo.has_hit(session, newer.id, holder, label):
                    continue
                since = _aware(older.received_at).date().isoformat()
                session.add(
                    DeconflictionHit(
                        referral_id=newer.id,
                        scope="internal",
                        holder=holder,
                        their_reference=label,
                        since=since,
                        detail=f"also held by {holder}, {label} ({older.state}), since {since}",
                    )
                )
                hold(session, newer, f"conflict: {label} is held by {holder}")
                found += 1
    session.flush()
    return found


def hold(session: Session, referral: Referral, reason: str) -> ReferralHold:
    """Hold a referral for a supervisor (no-op when it is already held). Audited."""
    existing = repo.open_hold(session, referral.id)
    if existing is not None:
        return existing
    row = ReferralHold(referral_id=referral.id, reason=reason)
    session.add(row)
    session.flush()
    audit.append(
        session,
        "referral_held",
        detail={"referral": repo.referral_label(referral), "reason": reason},
    )
    return row


def release_hold(session: Session, user: User, referral: Referral, note: str) -> ReferralHold:
    """A supervisor releases a held referral, saying why. Audited."""
    require(user, CAN_RELEASE)
    if not note.strip():
        raise Refused("a release needs a note saying why")
    row = repo.open_hold(session, referral.id)
    if row is None:
        raise Refused(f"{repo.referral_label(referral)} is not held")
    row.released_by, row.released_at, row.release_note = user.username, datetime.now(UTC), note
    audit.append(
        session,
        "referral_released",
        user_id=user.id,
        username=user.username,
        detail={"referral": repo.referral_label(referral), "note": note},
    )
    return row


def ensure_not_held(session: Session, referral: Referral) -> None:
    row = repo.open_hold(session, referral.id)
    if row is not None:
        raise Refused(
            f"{repo.referral_label(referral)} is held for a supervisor ({row.reason}); "
            "a supervisor must release it first"
        )


def decide(
    session: Session,
    user: User,
    a: Referral,
    b: Referral,
    *,
    same: bool,
    reason: str,
    relink_after: bool = True,
) -> RelinkSummary | None:
    """Confirm (same person) or split (not the same) a pair of referrals; then re-link."""
    require(user, CAN_LINK)
    if a.id == b.id:
        raise Refused("a referral is always itself")
    if not reason.strip():
        raise Refused("a decision needs a reason")
    repo.upsert_decision(session, a.id, b.id, same, reason, user.username)
    audit.append(
        session,
        "link_confirmed" if same else "link_split",
        user_id=user.id,
        username=user.username,
        detail={"a": repo.referral_label(a), "b": repo.referral_label(b), "reason": reason},
    )
    if relink_after:
        return relink(session, user, reason="analyst decision")
    return None


def split_link(session: Session, user: User, link_id: int, reason: str) -> RelinkSummary | None:
    link = session.get(SubjectLink, link_id)
    if link is None:
        raise Refused(f"no link {link_id}")
    a, b = session.get(Referral, link.referral_a_id), session.get(Referral, link.referral_b_id)
    return decide(session, user, a, b, same=False, reason=reason)


def merge_subjects(
    session: Session, user: User, first: Subject, second: Subject, reason: str
) -> RelinkSummary | None:
    """The analyst says two subjects are one person: a confirmed pair joins them for good."""
    a, b = repo.members(session, first.id), repo.members(session, second.id)
    if not a or not b:
        raise Refused("both subjects need a referral")
    if first.id == second.id:
        raise Refused("that is the same subject")
    return decide(session, user, a[0], b[0], same=True, reason=reason)


def record_fact(
    session: Session, user: User, referral: Referral, kind: str, note: str
) -> SubjectFact:
    """Intelligence an analyst records (position of trust, household access, RSO, contact abuse)."""
    require(user, CAN_LINK)
    if kind not in FACT_KINDS:
        raise Refused(f"unknown fact {kind!r}; one of {', '.join(FACT_KINDS)}")
    if not note.strip():
        raise Refused("a fact needs a note naming its source")
    row = SubjectFact(referral_id=referral.id, kind=kind, note=note, recorded_by=user.username)
    session.add(row)
    session.flush()
    audit.append(
        session,
        "subject_fact_recorded",
        user_id=user.id,
        username=user.username,
        detail={"referral": repo.referral_label(referral), "kind": kind, "note": note},
    )
    return row


def subject_view(session: Session, subject: Subject) -> dict[str, Any]:
    """Everything a subject page shows: referrals, identifiers with sources, returns, links,
    cases, hits and a timeline."""
    members = repo.members(session, subject.id)
    ids = [r.id for r in members]
    label = {r.id: repo.referral_label(r) for r in members}
    idents = repo.identifiers_by_referral(session)
    identifiers: dict[tuple[str, str], dict[str, Any]] = {}
    timeline: list[dict[str, Any]] = []
    for r in members:
        received = _aware(r.received_at)
        timeline.append({"at": received.isoformat(), "what": f"referral {label[r.id]} received"})
        if r.incident_at:
            timeline.append(
                {"at": _aware(r.incident_at).isoformat(), "what": f"incident ({label[r.id]})"}
            )
        for i in idents.get(r.id, []):
            entry = identifiers.setdefault(
                (i.kind, i.value),
                {"kind": i.kind, "value": i.value, "valid": i.valid, "sources": []},
            )
            entry["sources"].append(f"{label[r.id]} ({i.origin}: {i.original})")
            if i.event_at:
                timeline.append(
                    {
                        "at": _aware(i.event_at).isoformat(),
                        "what": f"{i.kind} {i.value}"
                        + (f" port {i.port}" if i.port is not None else "")
                        + (f" {i.event_name}" if i.event_name else "")
                        + f" ({label[r.id]})",
                    }
                )
    returns = [
        {
            "request": req.reference,
            "referral": label.get(req.referral_id),
            "nil": ret.nil,
            "subscriber_name": ret.subscriber_name,
            "address": ret.address,
            "email": ret.email,
            "phone": ret.phone,
            "account": ret.account,
        }
        for req, ret in repo.returns_for(session, ids)
    ]
    for req, ret in repo.returns_for(session, ids):
        timeline.append(
            {"at": _aware(ret.imported_at).isoformat(), "what": f"provider return {req.reference}"}
        )
    links = [
        {
            "id": link.id,
            "a": label.get(link.referral_a_id),
            "b": label.get(link.referral_b_id),
            "method": link.method,
            "reasons": json.loads(link.reasons_json),
            "weight": link.weight,
            "probability": link.probability,
        }
        for link in repo.links(session, subject.id)
    ]
    timeline.sort(key=lambda t: t["at"])
    return {
        "reference": subject.reference,
        "label": subject.label,
        "referrals": [
            {
                "reference": label[r.id],
                "id": r.id,
                "state": r.state,
                "assignee": r.assignee,
                "received_at": _aware(r.received_at).isoformat(),
                "case_id": r.case_id,
                "held": repo.open_hold(session, r.id) is not None,
            }
            for r in members
        ],
        "identifiers": sorted(identifiers.values(), key=lambda e: (e["kind"], e["value"])),
        "provider_returns": returns,
        "cases": sorted({r.case_id for r in members if r.case_id}),
        "links": links,
        "facts": [
            {"kind": f.kind, "note": f.note, "by": f.recorded_by, "referral": label[f.referral_id]}
            for f in repo.facts_for(session, ids)
        ],
        "timeline": timeline,
    }


def age_days(referral: Referral, now: datetime | None = None) -> int:
    now = now or datetime.now(UTC)
    return max(0, (now - _aware(referral.received_at)) // timedelta(days=1))

"""Referral services: import, file matching, workflow moves, view authority. Each state change is
one function that writes its audit entry; the CLI and the web call these."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session

from safeguard.domain.kinds import MatchKind, MediaKind
from safeguard.domain.referrals import SOURCES, IntakeError, ReferralFacts
from safeguard.matching.decide import FoundMatch, decide
from safeguard.referrals import workflow
from safeguard.referrals.bundle import Bundle, BundleError, safe_base
from safeguard.referrals.intake import document_format, normalise_facts, parse_document
from safeguard.referrals.settings import ReferralSettings
from safeguard.referrals.tree import Limits
from safeguard.store import audit
from safeguard.store import referrals as store
from safeguard.store.cases import create_case, get_or_create_exhibit
from safeguard.store.database import session_scope
from safeguard.store.referral_models import Referral, ReferralFile
from safeguard.triage.ingest import IngestOptions, ingest_exhibit
from safeguard.triage.progress import NoProgress, Progress

#: Roles that may work on referrals (besides the CLI operator, who is trusted like for ingest).
CAN_REFERRALS = frozenset({"intelligence", "analyst", "supervisor", "admin"})
#: Roles that may authorise communications-data requests and record authority to view files.
CAN_AUTHORISE = frozenset({"intelligence", "supervisor", "admin"})


class NotPermitted(PermissionError):
    pass


class Refused(ValueError):
    """A state change the rules do not allow; the message says why."""


@dataclass(frozen=True)
class Actor:
    """Who acts: a signed-in user (with a role) or the CLI operator (role None)."""

    username: str
    user_id: int | None = None
    role: str | None = None


def require(actor: Actor, roles: frozenset[str]) -> None:
    if actor.role is not None and actor.role not in roles:
        raise NotPermitted(f"{actor.role} may not do this")


def audit_event(
    session: Session, actor: Actor, action: str, detail: dict, case_id: int | None = None
) -> None:
    audit.append(
        session,
        action,
        user_id=actor.user_id,
        username=actor.username,
        case_id=case_id,
        detail=detail,
    )


@dataclass
class ImportReport:
    documents: int = 0
    imported: list[tuple[int, str]] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    errors: list[IntakeError] = field(default_factory=list)
    #: Case references opened for referrals with uploaded files (review previews to prepare).
    cases: list[str] = field(default_factory=list)
    file_status: Counter = field(default_factory=Counter)


def import_referrals(
    path: Path,
    *,
    source: str,
    actor: Actor,
    settings: ReferralSettings | None = None,
    database_url: str | None = None,
    progress: Progress | None = None,
    received_at: datetime | None = None,
    limits: Limits | None = None,
    match_uploads: bool = True,
    batch: int = 200,
) -> ImportReport:
    """Import every referral document under ``path`` (file, folder or zip). Idempotent: a
    document already stored, or a referral whose (source, external id) is known, changes
    nothing and is reported as already imported. Documents are stored ``batch`` at a time,
    one transaction and one audit entry (listing each referral) per batch."""
    require(actor, CAN_REFERRALS)
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; one of {', '.join(SOURCES)}")
    settings = settings or ReferralSettings.from_env()
    progress = progress or NoProgress()
    report = ImportReport()
    try:
        bundle = Bundle(path)
    except (BundleError, OSError) as error:
        report.errors.append(IntakeError(str(path), "", str(error)))
        return report
    context = _Context(bundle, source, actor, settings, database_url, report, received_at)
    try:
        documents = list(bundle.documents())
        progress.phase("referrals", len(documents))
        pending: list[_Parsed] = []
        for document in documents:
            report.documents += 1
            parsed = _parse(document, limits, report)
            if parsed is not None:
                pending.append(parsed)
            if len(pending) >= batch:
                _store(pending, context, match_uploads)
                pending = []
            progress.advance()
        if pending:
            _store(pending, context, match_uploads)
    finally:
        bundle.close()
    return report


@dataclass(frozen=True)
class _Parsed:
    name: str
    fmt: str
    data: bytes
    sha256: str
    found: list[ReferralFacts]


@dataclass(frozen=True)
class _Context:
    bundle: Bundle
    source: str
    actor: Actor
    settings: ReferralSettings
    database_url: str | None
    report: ImportReport
    received_at: datetime | None


def _parse(document, limits: Limits | None, report: ImportReport) -> _Parsed | None:  # noqa: ANN001
    name = document.name
    try:
        with document.stream() as stream:
            head = stream.peek(64)[:64] if hasattr(stream, "peek") else b""
            fmt = document_format(name, head) or "xml"
            data, found, errors = parse_document(name, stream, fmt, limits)
    except (BundleError, OSError) as error:
        report.errors.append(IntakeError(name, "", str(error)))
        return None
    report.errors += errors
    if data is None:
        return None
    return _Parsed(name, fmt, data, hashlib.sha256(data).hexdigest(), found)


def _store(pending: list[_Parsed], c: _Context, match_uploads: bool) -> None:
    """One transaction for a batch of parsed documents; then their uploads, if any."""
    report, source = c.report, c.source
    uploads: list[tuple[int, str, ReferralFacts]] = []
    with session_scope(c.database_url) as session:
        stored = store.documents_by_sha(session, [p.sha256 for p in pending])
        known = store.existing_external_ids(
            session, source, [f.external_id for p in pending for f in p.found]
        )
        when = c.received_at or datetime.now(UTC)
        added: list[Referral] = []
        entries: list[dict] = []
        for p in pending:
            if p.sha256 in stored:
                earlier = store.referrals_of_document(session, stored[p.sha256])
                report.already += [f"{p.name}: {r.source}/{r.external_id}" for r in earlier] or [
                    p.name
                ]
                continue
            fresh = []
            for facts in p.found:
                if facts.external_id in known:
                    report.already.append(f"{p.name}: {source}/{facts.external_id}")
                else:
                    known.add(facts.external_id)
                    fresh.append(normalise_facts(facts, c.settings.phone_region))
            if not fresh:
                continue
            doc = store.add_document(
                session, p.sha256, Path(p.name).name, p.fmt, p.data, c.actor.username
            )
            stored[p.sha256] = doc.id
            for facts in fresh:
                referral = store.add_referral(
                    session,
                    facts,
                    source=source,
                    document_id=doc.id,
                    received_at=when,
                    gate_unviewed=source in c.settings.authority_sources,
                    actor=c.actor.username,
                )
                added.append(referral)
                entries.append(
                    {
                        "referral_id": referral.id,
                        "external_id": referral.external_id,
                        "document_sha256": p.sha256,
                        "identifiers": len(facts.identifiers),
                        "files": len(facts.files),
                    }
                )
                report.imported.append((referral.id, referral.external_id))
                if any(f.file_name for f in facts.files):
                    uploads.append((referral.id, p.name, facts))
        report.file_status.update(_match_reported_hashes(session, added))
        if entries:
            audit_event(
                session, c.actor, "referral_import", {"source": source, "referrals": entries}
            )
    if match_uploads:
        for referral_id, doc_name, facts in uploads:
            case = _ingest_uploads(
                c.bundle,
                doc_name,
                referral_id,
                facts,
                source,
                c.actor,
                c.settings,
                c.database_url,
            )
            if case:
                report.cases.append(case)


def _match_reported_hashes(session: Session, referrals: list[Referral]) -> Counter:
    """Each reported file's MD5/SHA-1 exactly against the enabled banks: graded_exact (banks
    agree), conflicting (they disagree) or unknown; counts per status and category, per
    referral (kept on it) and in all (returned)."""
    if not referrals:
        return Counter()
    rows = store.files_of(session, [r.id for r in referrals])
    hits = store.bank_hits(
        session, [f.md5 for f in rows if f.md5], [f.sha1 for f in rows if f.sha1]
    )
    by_value: dict[str, list] = {}
    for hit in hits:
        by_value.setdefault(hit.value, []).append(hit)
    per_referral: dict[int, Counter] = {r.id: Counter() for r in referrals}
    for row in rows:
        if not row.md5 and not row.sha1:
            continue
        found = by_value.get(row.md5 or "", []) + by_value.get(row.sha1 or "", [])
        if not found:
            row.match_status = "unknown"
        else:
            decision = decide(
                MediaKind.IMAGE,
                [
                    FoundMatch(h.bank_entry_id, h.category, MatchKind.EXACT, h.hash_kind, 0)
                    for h in found
                ],
            )
            row.match_status = decision.status.value
            row.category = decision.category
            row.bank_entry_id = decision.deciding.bank_entry_id if decision.deciding else None
        counts = per_referral[row.referral_id]
        counts[row.match_status] += 1
        if row.category:
            counts[f"category:{row.category}"] += 1
    total: Counter = Counter()
    for referral in referrals:
        counts = per_referral[referral.id]
        referral.file_counts_json = json.dumps(dict(sorted(counts.items())), separators=(",", ":"))
        total.update(counts)
    return total


def case_reference(referral: Referral) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", referral.external_id)[:120]
    return f"REF-{referral.source}-{cleaned}-{referral.id}"


def _ingest_uploads(
    bundle: Bundle,
    doc_name: str,
    referral_id: int,
    facts: ReferralFacts,
    source: str,
    actor: Actor,
    settings: ReferralSettings,
    database_url: str | None,
) -> str | None:
    """Uploaded files of a referral become the exhibit of a case opened for it, ingested and
    matched like any exhibit (exact, PDQ, vPDQ); their new media go to the review workstation.
    Returns the case reference, or None when the bundle has none of the files."""
    folder = settings.uploads_dir / str(referral_id)
    names: dict[int, str] = {}
    for f in facts.files:
        base = safe_base(f.file_name)
        data = bundle.upload(doc_name, f.report_id or facts.external_id, f.file_name)
        if base is None or data is None:
            continue
        name = f"{f.ordinal:04d}-{base}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
        names[f.ordinal] = name
    if not names:
        return None
    with session_scope(database_url) as session:
        referral = store.get_referral(session, referral_id)
        reference = case_reference(referral)
        case = store.case_by_reference(session, reference) or create_case(
            session, reference, f"Referral {source}/{referral.external_id}"
        )
        exhibit = get_or_create_exhibit(session, case, "uploads", str(folder.resolve()))
        referral.case_id, referral.exhibit_id = case.id, exhibit.id
        audit_event(
            session,
            actor,
            "referral_case_opened",
            {"referral_id": referral_id, "case": reference, "files": len(names)},
            case_id=case.id,
        )
    try:
        ingest_exhibit(
            reference, "uploads", folder, IngestOptions(workers=1), database_url=database_url
        )
    except Exception:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    with session_scope(database_url) as session:
        referral = store.get_referral(session, referral_id)
        status = store.exhibit_file_status(session, referral.exhibit_id)
        counts: Counter = Counter(json.loads(referral.file_counts_json or "{}"))
        for row in store.files(session, referral_id):
            name = names.get(row.ordinal)
            found = status.get(name) if name else None
            if found is None or found.media_id is None:
                continue
            if row.match_status:
                counts[row.match_status] -= 1
                if row.category:
                    counts[f"category:{row.category}"] -= 1
            row.media_id = found.media_id
            row.match_status = found.status
            row.category = found.category
            row.bank_entry_id = found.bank_entry_id
            counts[row.match_status or "unknown"] += 1
            if row.category:
                counts[f"category:{row.category}"] += 1
        referral.file_counts_json = json.dumps(
            {k: v for k, v in sorted(counts.items()) if v}, separators=(",", ":")
        )
    return reference


def move(
    session: Session,
    referral_id: int,
    to: str,
    *,
    reason: str,
    actor: Actor,
    assignee: str | None = None,
    keep_assignee: bool = True,
) -> Referral:
    """Move a referral to another state (``referrals.workflow`` rules), audited."""
    require(actor, CAN_REFERRALS)
    referral = store.get_referral(session, referral_id)
    refused = workflow.check_move(referral.state, to, reason)
    if refused:
        raise Refused(refused.reason)
    new_assignee = assignee if assignee is not None or not keep_assignee else referral.assignee
    before = referral.state
    store.add_event(
        session, referral, to, actor=actor.username, assignee=new_assignee, reason=reason.strip()
    )
    audit_event(
        session,
        actor,
        "referral_state",
        {
            "referral_id": referral_id,
            "from": before,
            "to": to,
            "assignee": new_assignee,
            "reason": reason.strip(),
        },
        case_id=referral.case_id,
    )
    return referral


def assign(
    session: Session, referral_id: int, assignee: str | None, *, reason: str, actor: Actor
) -> Referral:
    """Give a referral to someone (or nobody), audited; the state stays."""
    require(actor, CAN_REFERRALS)
    if not reason or not reason.strip():
        raise Refused("a reason is required for every change")
    referral = store.get_referral(session, referral_id)
    store.add_event(
        session,
        referral,
        referral.state,
        actor=actor.username,
        assignee=assignee,
        reason=reason.strip(),
    )
    audit_event(
        session,
        actor,
        "referral_assign",
        {"referral_id": referral_id, "assignee": assignee, "reason": reason.strip()},
        case_id=referral.case_id,
    )
    return referral


def record_authority(
    session: Session,
    referral_id: int,
    *,
    reference: str,
    actor: Actor,
    file_ids: Sequence[int] = (),
) -> list[ReferralFile]:
    """Record the authority to view files the ESP did not view (all pending files of the
    referral, or those given): who, when, reference. Audited. Until then the review
    workstation refuses to reveal them."""
    require(actor, CAN_AUTHORISE)
    if not reference or not reference.strip():
        raise Refused("the authority's reference is required")
    referral = store.get_referral(session, referral_id)
    pending = store.pending_authority(session, referral_id)
    if file_ids:
        pending = [f for f in pending if f.id in set(file_ids)]
    if not pending:
        raise Refused("no file of this referral is waiting for an authority to view")
    now = datetime.now(UTC)
    for row in pending:
        row.authority_by = actor.username
        row.authority_at = now
        row.authority_reference = reference.strip()
    audit_event(
        session,
        actor,
        "referral_view_authority",
        {
            "referral_id": referral_id,
            "files": [f.id for f in pending],
            "reference": reference.strip(),
        },
        case_id=referral.case_id,
    )
    return pending

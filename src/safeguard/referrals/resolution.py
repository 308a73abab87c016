"""Resolution through providers: the provider table, communications-data requests and their
lifecycle, exports per provider, and provider returns. Every change is audited."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from safeguard.referrals import request_rules as rules
from safeguard.referrals import workflow
from safeguard.referrals.normalise import normalise, normalise_port, parse_instant
from safeguard.referrals.provider_rules import (
    KnownRange,
    ProviderResolver,
    RowError,
    parse_provider_table,
    parse_return_csv,
)
from safeguard.referrals.service import (
    CAN_AUTHORISE,
    CAN_REFERRALS,
    Actor,
    Refused,
    audit_event,
    move,
    require,
)
from safeguard.referrals.settings import ReferralSettings
from safeguard.store import providers as store
from safeguard.store import referrals as referral_store
from safeguard.store.referral_models import ProviderRequest, Referral

MAX_TABLE_BYTES = 64 * 1024 * 1024


def as_utc(when: datetime | None) -> datetime | None:
    """SQLite gives naive datetimes back: they were stored as UTC."""
    if when is None:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def read_table(path: Path) -> bytes:
    with Path(path).open("rb") as handle:
        data = handle.read(MAX_TABLE_BYTES + 1)
    if len(data) > MAX_TABLE_BYTES:
        raise ValueError(f"{path}: larger than {MAX_TABLE_BYTES} bytes")
    return data


@dataclass
class TableReport:
    providers_new: int = 0
    providers_updated: int = 0
    ranges_changed: int = 0
    errors: list[RowError] = field(default_factory=list)


def import_provider_table(
    session: Session, data: bytes, *, actor: Actor, name: str = "providers.csv"
) -> TableReport:
    """Providers and the ranges/domains/prefixes they hold. Re-importing the same table
    changes nothing; a range listed under another provider moves to it."""
    require(actor, CAN_AUTHORISE)
    rows, errors = parse_provider_table(data)
    report = TableReport(errors=errors)
    seen: dict[str, int] = {}
    for row in rows:
        if row.provider not in seen:
            provider, new = store.upsert_provider(
                session, row.provider, row.retention_days, row.contact
            )
            seen[row.provider] = provider.id
            report.providers_new += int(new)
            report.providers_updated += int(not new)
        r = row.range
        if store.set_range(
            session, seen[row.provider], r.kind, r.value, r.start_hex, r.end_hex, r.prefix_len
        ):
            report.ranges_changed += 1
    session.flush()
    audit_event(
        session,
        actor,
        "provider_table_import",
        {
            "file": name,
            "sha256": hashlib.sha256(data).hexdigest(),
            "providers": len(seen),
            "ranges_changed": report.ranges_changed,
            "errors": len(errors),
        },
    )
    return report


def resolver(session: Session) -> ProviderResolver:
    return ProviderResolver(
        [KnownRange(r.provider_id, r.kind, r.value, r.prefix_len) for r in store.ranges(session)]
    )


@dataclass
class DraftReport:
    drafted: list[ProviderRequest] = field(default_factory=list)
    already: int = 0
    unresolvable: list[str] = field(default_factory=list)


def draft_requests(
    session: Session,
    referral_id: int,
    *,
    actor: Actor,
    reason: str | None = None,
    margin: timedelta = rules.DEFAULT_MARGIN,
) -> DraftReport:
    """Draft one request per (identifier, provider) for a referral's IPs, emails and phones
    whose provider the table knows; the deadline comes from the provider's retention. Drafting
    again adds only what is missing. A received referral moves to resolving."""
    require(actor, CAN_REFERRALS)
    referral = referral_store.get_referral(session, referral_id)
    find = resolver(session)
    providers = {p.id: p for p in store.providers(session)}
    report = DraftReport()
    for ident in store.resolvable_identifiers(session, referral_id):
        provider_id = find.provider_for(ident.kind, ident.value)
        if provider_id is None:
            report.unresolvable.append(f"{ident.kind} {ident.value}")
            continue
        if store.find_request(session, ident.id, provider_id) is not None:
            report.already += 1
            continue
        window = rules.request_window(
            as_utc(ident.event_at),
            as_utc(referral.incident_at),
            as_utc(referral.received_at),
            margin,
        )
        provider = providers[provider_id]
        why = reason or _default_reason(referral, ident.kind)
        row = store.add_request(
            session,
            referral_id=referral_id,
            identifier_id=ident.id,
            provider_id=provider_id,
            kind=ident.kind,
            value=ident.value,
            window_start=window.start,
            window_end=window.end,
            port=ident.port,
            reason=why,
            state=rules.DRAFTED,
            deadline=rules.deadline(window, provider.retention_days),
            drafted_by=actor.username,
        )
        report.drafted.append(row)
        audit_event(
            session,
            actor,
            "request_draft",
            {
                "request": row.reference,
                "referral_id": referral_id,
                "provider": provider.name,
                "kind": row.kind,
                "value": row.value,
            },
            case_id=referral.case_id,
        )
    if report.drafted and referral.state == workflow.RECEIVED:
        move(session, referral_id, workflow.RESOLVING, reason="requests drafted", actor=actor)
    return report


def _default_reason(referral: Referral, kind: str) -> str:
    what = {
        "ip": "subscriber of the IP address at the time and port given",
        "email": "subscriber of the email account",
        "phone": "subscriber of the number",
    }
    return (
        f"Referral {referral.source}/{referral.external_id}"
        f" ({referral.incident_type or 'report'}): {what.get(kind, 'subscriber')}"
    )


def advance_request(
    session: Session,
    reference: str,
    to: str,
    *,
    actor: Actor,
    authorisation_reference: str | None = None,
    now: datetime | None = None,
) -> ProviderRequest:
    """Move a request on (``request_rules``): authorised (by someone other than its
    drafter), sent, nil_return, expired. Audited."""
    require(actor, CAN_AUTHORISE if to == rules.AUTHORISED else CAN_REFERRALS)
    row = store.get_request(session, reference)
    refused = rules.check_move(row.state, to, actor=actor.username, drafted_by=row.drafted_by)
    if refused:
        raise Refused(refused.reason)
    now = now or datetime.now(UTC)
    before = row.state
    row.state = to
    if to == rules.AUTHORISED:
        row.authorised_by, row.authorised_at = actor.username, now
        row.authorisation_reference = authorisation_reference
    elif to == rules.SENT:
        row.sent_by, row.sent_at = actor.username, now
    else:
        row.closed_at = now
    referral = referral_store.get_referral(session, row.referral_id)
    audit_event(
        session,
        actor,
        "request_state",
        {
            "request": reference,
            "from": before,
            "to": to,
            "authorisation_reference": authorisation_reference,
        },
        case_id=referral.case_id,
    )
    if to in rules.FINAL:
        _maybe_resolved(session, referral, actor)
    return row


def expire_overdue(session: Session, *, actor: Actor, now: datetime | None = None) -> list[str]:
    """Every open request whose deadline has passed becomes expired (audited each)."""
    require(actor, CAN_REFERRALS)
    now = now or datetime.now(UTC)
    expired = []
    for row in store.list_requests(session, states=(rules.DRAFTED, rules.AUTHORISED, rules.SENT)):
        if rules.should_expire(row.state, as_utc(row.deadline), now):
            advance_request(session, row.reference, rules.EXPIRED, actor=actor, now=now)
            expired.append(row.reference)
    return expired


def _maybe_resolved(session: Session, referral: Referral, actor: Actor) -> None:
    """A resolving referral whose requests are all final becomes resolved."""
    if referral.state != workflow.RESOLVING:
        return
    rows = store.list_requests(session, referral_id=referral.id)
    if rows and all(r.state in rules.FINAL for r in rows):
        counts = Counter(r.state for r in rows)
        move(
            session,
            referral.id,
            workflow.RESOLVED,
            reason="every request answered or expired: "
            + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())),
            actor=actor,
        )


EXPORT_COLUMNS = (
    "reference",
    "provider",
    "kind",
    "identifier",
    "window_start_utc",
    "window_end_utc",
    "port",
    "reason",
    "state",
    "deadline_utc",
    "authorised_by",
    "authorised_at_utc",
    "authorisation_reference",
)


def _iso(when: datetime | None) -> str:
    when = as_utc(when)
    return when.isoformat().replace("+00:00", "Z") if when else ""


def request_record(row: ProviderRequest) -> dict[str, object]:
    return {
        "reference": row.reference,
        "provider": row.provider.name,
        "kind": row.kind,
        "identifier": row.value,
        "window_start_utc": _iso(row.window_start),
        "window_end_utc": _iso(row.window_end),
        "port": row.port,
        "reason": row.reason,
        "state": row.state,
        "deadline_utc": _iso(row.deadline),
        "authorised_by": row.authorised_by,
        "authorised_at_utc": _iso(row.authorised_at),
        "authorisation_reference": row.authorisation_reference,
    }


def _cell(value: object) -> str:
    """CSV cells that a spreadsheet would run as a formula are neutralised."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def export_requests(
    session: Session,
    provider: str,
    fmt: str,
    *,
    actor: Actor,
    states: tuple[str, ...] = (rules.AUTHORISED,),
) -> str:
    """The requests for one provider (authorised ones by default: those ready to send) as
    CSV or JSON. Audited."""
    require(actor, CAN_REFERRALS)
    rows = store.list_requests(session, provider=provider, states=states)
    records = [request_record(r) for r in rows]
    audit_event(
        session,
        actor,
        "request_export",
        {"provider": provider, "format": fmt, "requests": [r["reference"] for r in records]},
    )
    if fmt == "json":
        return json.dumps({"provider": provider, "requests": records}, indent=1)
    if fmt != "csv":
        raise ValueError("format must be csv or json")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    for record in records:
        writer.writerow([_cell(record[c]) for c in EXPORT_COLUMNS])
    return out.getvalue()


@dataclass
class ReturnReport:
    rows: int = 0
    attached: int = 0
    nil: int = 0
    already: int = 0
    errors: list[RowError] = field(default_factory=list)


def import_returns(
    session: Session,
    data: bytes,
    *,
    actor: Actor,
    settings: ReferralSettings | None = None,
    name: str = "return.csv",
) -> ReturnReport:
    """A provider's return against its requests: each row names the request (``reference``)
    or the identifier (+ ``provider``). Subscriber identities become identifiers of the
    referral (origin "return", normalised, originals kept); the request becomes returned or
    nil_return. Importing the same file again changes nothing."""
    require(actor, CAN_REFERRALS)
    settings = settings or ReferralSettings.from_env()
    sha = hashlib.sha256(data).hexdigest()
    rows, errors = parse_return_csv(data)
    report = ReturnReport(errors=list(errors))
    for row in rows:
        report.rows += 1
        request = _request_for(session, row)
        if isinstance(request, str):
            report.errors.append(RowError(row.line, request))
            continue
        if store.return_exists(session, request.id, sha, row.line):
            report.already += 1
            continue
        if request.state not in (rules.SENT, rules.RETURNED):
            report.errors.append(
                RowError(row.line, f"request {request.reference} is {request.state}, not sent")
            )
            continue
        start = parse_instant(row.service_start)
        end = parse_instant(row.service_end)
        back = store.add_return(
            session,
            request_id=request.id,
            document_sha256=sha,
            line=row.line,
            imported_by=actor.username,
            nil=row.nil,
            subscriber_name=row.subscriber_name,
            address=row.address,
            email=row.email,
            phone=row.phone,
            account=row.account,
            service_start=start.utc if start else None,
            service_end=end.utc if end else None,
        )
        if row.nil:
            report.nil += 1
            if request.state == rules.SENT:
                advance_request(session, request.reference, rules.NIL_RETURN, actor=actor)
        else:
            report.attached += 1
            for kind, text in (
                ("name", row.subscriber_name),
                ("address", row.address),
                ("email", row.email),
                ("phone", row.phone),
                ("esp_account", row.account),
            ):
                if not text:
                    continue
                norm = normalise(kind, text, settings.phone_region)
                store.add_identifier(
                    session,
                    referral_id=request.referral_id,
                    return_id=back.id,
                    origin="return",
                    kind=kind,
                    value=norm.value,
                    original=text,
                    valid=norm.valid,
                    flags=" ".join(norm.flags) or None,
                    location=f"{name} line {row.line} ({request.reference})",
                    note=f"subscriber of {request.kind} {request.value}",
                )
            if request.state == rules.SENT:
                advance_request(session, request.reference, rules.RETURNED, actor=actor)
        audit_event(
            session,
            actor,
            "request_return",
            {"request": request.reference, "file_sha256": sha, "line": row.line, "nil": row.nil},
        )
    return report


def _request_for(session: Session, row) -> ProviderRequest | str:  # noqa: ANN001
    if row.reference:
        try:
            return store.get_request(session, row.reference)
        except store.RequestNotFound as error:
            return str(error)
    kind_guess = (
        "ip"
        if any(c in row.identifier for c in ".:") and "@" not in row.identifier
        else ("email" if "@" in row.identifier else "phone")
    )
    value = normalise(kind_guess, row.identifier).value
    provider_id = None
    if row.provider:
        provider = store.get_provider(session, row.provider)
        if provider is None:
            return f"no provider {row.provider!r}"
        provider_id = provider.id
    candidates = store.requests_matching(session, value, provider_id)
    port = normalise_port(row.port)
    if port is not None:
        candidates = [c for c in candidates if c.port in (None, port)]
    start = parse_instant(row.window_start)
    if start and start.utc:
        candidates = [
            c
            for c in candidates
            if as_utc(c.window_start) <= start.utc <= as_utc(c.window_end)
            or as_utc(c.window_start) == start.utc
        ] or candidates
    if not candidates:
        return f"no request for {row.identifier!r}"
    if len(candidates) > 1:
        return f"{len(candidates)} requests match {row.identifier!r}; name the request's reference"
    return candidates[0]

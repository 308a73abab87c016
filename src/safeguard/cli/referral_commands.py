"""``safeguard referral ...``: the referral hub's intake and resolution commands. Thin: every
command calls a service of ``safeguard.referrals`` (the web calls the same ones)."""

from __future__ import annotations

import getpass
import json
import sys
from datetime import datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from safeguard.cli.progress import RichProgress
from safeguard.referrals import resolution, service, views
from safeguard.referrals.settings import ReferralSettings
from safeguard.store.database import session_scope
from safeguard.store.providers import RequestNotFound
from safeguard.store.referrals import ReferralNotFound

referral_app = typer.Typer(help="Referrals: intake, identifiers, providers.", no_args_is_help=True)
returns_app = typer.Typer(help="Provider returns.", no_args_is_help=True)
provider_app = typer.Typer(help="Providers and the ranges they hold.", no_args_is_help=True)
referral_app.add_typer(returns_app, name="returns")
referral_app.add_typer(provider_app, name="provider")

console = Console()
err = Console(stderr=True)


def _actor() -> service.Actor:
    try:
        return service.Actor(f"cli:{getpass.getuser()}")
    except (KeyError, OSError):
        return service.Actor("cli")


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {escape(message)}")
    return typer.Exit(code=1)


_EXPECTED = (
    ReferralNotFound,
    RequestNotFound,
    service.Refused,
    service.NotPermitted,
    ValueError,
    OSError,
)


@referral_app.command("import")
def referral_import(
    path: Path = typer.Argument(..., exists=True, help="A report, a folder or a zip."),
    source: str = typer.Option("ncmec", help="ncmec, nca, force, public or proactive."),
    received: str = typer.Option(None, help="When received (ISO 8601; default now)."),
    uploads: bool = typer.Option(True, help="Ingest uploaded files found in the bundle."),
) -> None:
    """Import CyberTipline-shaped reports (XML, JSON) and fragment CSVs. Importing the same
    report again changes nothing and says so."""
    when = datetime.fromisoformat(received) if received else None
    try:
        with RichProgress(err) as progress:
            report = service.import_referrals(
                path,
                source=source.lower(),
                actor=_actor(),
                progress=progress,
                received_at=when,
                match_uploads=uploads,
            )
    except _EXPECTED as error:
        raise _fail(str(error)) from None
    for problem in report.errors:
        err.print(f"[yellow]error[/yellow] {escape(str(problem))}")
    for already in report.already[:50]:
        err.print(f"already imported: {escape(already)}")
    if len(report.already) > 50:
        err.print(f"... and {len(report.already) - 50:,} more already imported")
    if report.cases:
        from safeguard.cli.review_commands import prepare_review

        for case in report.cases:
            prepare_review(case)
    console.print(
        f"{report.documents:,} documents: {len(report.imported):,} referrals imported,"
        f" {len(report.already):,} already imported, {len(report.errors):,} errors;"
        f" files: {escape(json.dumps(dict(sorted(report.file_status.items()))))}"
    )
    if report.errors and not report.imported and not report.already:
        raise typer.Exit(code=1)


@referral_app.command("list")
def referral_list(
    state: list[str] = typer.Option([], help="Only these states (repeatable)."),
    source: list[str] = typer.Option([], help="Only these sources (repeatable)."),
    older_than: int = typer.Option(None, help="Received at least this many days ago."),
    overdue: bool = typer.Option(False, help="Only referrals with overdue requests."),
    sort: str = typer.Option("waiting", help="waiting, received, -received, id, -id."),
    limit: int = typer.Option(200),
    fmt: str = typer.Option("text", "--format", help="text or json."),
) -> None:
    """The referral queue (waiting longest first)."""
    with session_scope() as session:
        rows = views.queue(
            session,
            actor=_actor(),
            states=tuple(state),
            sources=tuple(source),
            min_age_days=older_than,
            overdue=overdue,
            sort=sort,
            limit=limit,
        )
    if fmt == "json":
        sys.stdout.write(json.dumps(rows, indent=1) + "\n")
        return
    table = Table(
        "id",
        "source",
        "external id",
        "state",
        "assignee",
        "age (d)",
        "identifiers",
        "files",
        "open requests",
        "overdue",
    )
    for r in rows:
        table.add_row(
            str(r["id"]),
            r["source"],
            escape(r["external_id"]),
            r["state"],
            escape(r["assignee"] or ""),
            str(r["age_days"]),
            str(r["identifiers"]),
            str(r["files"]),
            str(r["open_requests"]),
            str(r["overdue_requests"] or ""),
        )
    console.print(table)


@referral_app.command("show")
def referral_show(
    referral_id: int,
    fmt: str = typer.Option("text", "--format", help="text or json."),
) -> None:
    """One referral: summary, identifiers with originals, files, requests, history."""
    try:
        with session_scope() as session:
            data = views.detail(session, referral_id, actor=_actor())
    except _EXPECTED as error:
        raise _fail(str(error)) from None
    if fmt == "json":
        sys.stdout.write(json.dumps(data, indent=1, default=str) + "\n")
        return
    inc = data["incident"]
    console.print(
        f"referral {data['id']}: {escape(data['source'])}/{escape(data['external_id'])}"
        f"  state {data['state']}  assignee {escape(data['assignee'] or '-')}"
    )
    console.print(
        f"received {data['received_at']}; incident {escape(inc['incident_type'] or '-')}"
        f" at {inc['incident_at'] or '-'}; document {escape(data['document']['filename'])}"
        f" sha256 {data['document']['sha256']}"
    )
    console.print(f"files: {escape(json.dumps(data['file_counts']))}")
    table = Table(
        "kind",
        "value",
        "original",
        "valid",
        "time (UTC)",
        "offset",
        "port",
        "event",
        "service",
        title="identifiers",
    )
    for i in data["identifiers"]:
        table.add_row(
            i["kind"],
            escape(i["value"]),
            escape(i["original"]),
            "yes" if i["valid"] else "NO " + escape(" ".join(i["flags"])),
            i["event_at"] or "",
            str(i["event_offset_minutes"] or ""),
            str(i["port"] or ""),
            escape(i["event_name"] or ""),
            escape(i["service"] or ""),
        )
    console.print(table)
    files = Table("file", "md5", "status", "category", "viewed by ESP", "authority", title="files")
    for f in data["files"]:
        gate = ""
        if f["authority_required"]:
            gate = f"recorded {f['authority_reference']}" if f["authority_at"] else "NEEDED"
        files.add_row(
            escape(f["file_name"] or ""),
            f["md5"] or "",
            f["match_status"] or "",
            f["category"] or "",
            str(f["file_viewed_by_esp"]),
            escape(gate),
        )
    console.print(files)
    requests = Table(
        "reference",
        "provider",
        "identifier",
        "window (UTC)",
        "port",
        "state",
        "deadline",
        title="requests",
    )
    for q in data["requests"]:
        requests.add_row(
            q["reference"],
            escape(q["provider"]),
            escape(q["identifier"]),
            f"{q['window_start_utc']} - {q['window_end_utc']}",
            str(q["port"] or ""),
            q["state"],
            (q["deadline_utc"] or "") + (" OVERDUE" if q["overdue"] else ""),
        )
    console.print(requests)
    for e in data["history"]:
        console.print(
            f"{e['at']}  {e['from'] or '-'} -> {e['to']}  by {escape(e['actor'] or '-')}"
            f"  assignee {escape(e['assignee'] or '-')}: {escape(e['reason'])}"
        )


@referral_app.command("move")
def referral_move(
    referral_id: int,
    state: str,
    reason: str = typer.Option(..., help="Why (required)."),
    assignee: str = typer.Option(None, help="Give it to this user."),
) -> None:
    """Move a referral to another state (received, resolving, resolved, ..., closed)."""
    try:
        with session_scope() as session:
            referral = service.move(
                session, referral_id, state, reason=reason, actor=_actor(), assignee=assignee
            )
            console.print(f"referral {referral.id} is now {referral.state}")
    except _EXPECTED as error:
        raise _fail(str(error)) from None


@referral_app.command("assign")
def referral_assign(
    referral_id: int, assignee: str, reason: str = typer.Option(..., help="Why (required).")
) -> None:
    """Give a referral to a user."""
    try:
        with session_scope() as session:
            service.assign(session, referral_id, assignee, reason=reason, actor=_actor())
        console.print(f"referral {referral_id} assigned to {escape(assignee)}")
    except _EXPECTED as error:
        raise _fail(str(error)) from None


@referral_app.command("authority")
def referral_authority(
    referral_id: int,
    reference: str = typer.Option(..., help="The authority's reference."),
    file: list[int] = typer.Option([], help="Only these referral file ids (default all)."),
) -> None:
    """Record the authority to view files the ESP did not view (audited)."""
    try:
        with session_scope() as session:
            rows = service.record_authority(
                session, referral_id, reference=reference, actor=_actor(), file_ids=file
            )
        console.print(f"authority recorded for {len(rows)} file(s)")
    except _EXPECTED as error:
        raise _fail(str(error)) from None


@referral_app.command("requests")
def referral_requests(
    referral_id: list[int] = typer.Argument(None, help="Draft for these referrals."),
    draft: bool = typer.Option(True, help="Draft missing requests first."),
    state: list[str] = typer.Option([], help="List only these request states."),
    provider: str = typer.Option(None, help="Only this provider."),
    reason: str = typer.Option(None, help="Reason written on drafted requests."),
    fmt: str = typer.Option("text", "--format", help="text or json."),
) -> None:
    """Draft communications-data requests (for the referrals given, or every received or
    resolving referral) and list requests grouped by provider, with their deadlines."""
    actor = _actor()
    try:
        with session_scope() as session:
            if draft:
                ids = list(referral_id or [])
                if not ids:
                    ids = [
                        r["id"]
                        for r in views.queue(
                            session, actor=actor, states=("received", "resolving"), limit=100_000
                        )
                    ]
                drafted = 0
                for rid in ids:
                    drafted += len(
                        resolution.draft_requests(session, rid, actor=actor, reason=reason).drafted
                    )
                err.print(f"{drafted:,} requests drafted")
            grouped = views.requests_by_provider(
                session, actor=actor, states=tuple(state), provider=provider
            )
    except _EXPECTED as error:
        raise _fail(str(error)) from None
    if fmt == "json":
        sys.stdout.write(json.dumps(grouped, indent=1) + "\n")
        return
    if fmt == "none":
        return
    for name, rows in grouped.items():
        table = Table(
            "reference",
            "referral",
            "kind",
            "identifier",
            "window (UTC)",
            "port",
            "state",
            "deadline",
            title=escape(name),
        )
        for q in rows:
            table.add_row(
                q["reference"],
                str(q["referral_id"]),
                q["kind"],
                escape(q["identifier"]),
                f"{q['window_start_utc']} - {q['window_end_utc']}",
                str(q["port"] or ""),
                q["state"],
                (q["deadline_utc"] or "") + (" OVERDUE" if q["overdue"] else ""),
            )
        console.print(table)


def _advance(reference: str, to: str, authorisation: str | None = None) -> None:
    try:
        with session_scope() as session:
            row = resolution.advance_request(
                session, reference, to, actor=_actor(), authorisation_reference=authorisation
            )
            console.print(f"request {row.reference} is now {row.state}")
    except _EXPECTED as error:
        raise _fail(str(error)) from None


@referral_app.command("request-authorise")
def request_authorise(
    reference: str,
    authorisation: str = typer.Option(None, help="The authorisation's own reference."),
) -> None:
    """Authorise a drafted request (not by the officer who drafted it)."""
    _advance(reference, "authorised", authorisation)


@referral_app.command("request-send")
def request_send(reference: str) -> None:
    """Record that an authorised request was sent to its provider."""
    _advance(reference, "sent")


@referral_app.command("request-nil")
def request_nil(reference: str) -> None:
    """Record a nil return (the provider holds no data)."""
    _advance(reference, "nil_return")


@referral_app.command("request-expire")
def request_expire() -> None:
    """Expire every open request whose deadline has passed."""
    with session_scope() as session:
        expired = resolution.expire_overdue(session, actor=_actor())
    console.print(f"{len(expired)} request(s) expired")


@referral_app.command("requests-export")
def requests_export(
    provider: str,
    fmt: str = typer.Option("csv", "--format", help="csv or json."),
    state: list[str] = typer.Option(["authorised"], help="Request states to export."),
    output: Path = typer.Option(None, "--output", "-o"),
) -> None:
    """Export one provider's requests (authorised ones by default) as CSV or JSON."""
    try:
        with session_scope() as session:
            text = resolution.export_requests(
                session, provider, fmt, actor=_actor(), states=tuple(state)
            )
    except _EXPECTED as error:
        raise _fail(str(error)) from None
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        err.print(f"wrote {output}")


@returns_app.command("import")
def returns_import(path: Path = typer.Argument(..., exists=True, dir_okay=False)) -> None:
    """Import a provider's return (CSV) against its requests."""
    try:
        data = resolution.read_table(path)
        with session_scope() as session:
            report = resolution.import_returns(
                session,
                data,
                actor=_actor(),
                settings=ReferralSettings.from_env(),
                name=path.name,
            )
    except _EXPECTED as error:
        raise _fail(str(error)) from None
    for problem in report.errors:
        err.print(
            f"[yellow]error[/yellow] {escape(path.name)} line {problem.line}: "
            f"{escape(problem.message)}"
        )
    console.print(
        f"{report.rows} rows: {report.attached} subscriber(s) attached, {report.nil} nil,"
        f" {report.already} already imported, {len(report.errors)} errors"
    )


@provider_app.command("import")
def provider_import(path: Path = typer.Argument(..., exists=True, dir_okay=False)) -> None:
    """Import the provider table (CSV: provider, range, retention_days, contact)."""
    try:
        data = resolution.read_table(path)
        with session_scope() as session:
            report = resolution.import_provider_table(session, data, actor=_actor(), name=path.name)
    except _EXPECTED as error:
        raise _fail(str(error)) from None
    for problem in report.errors:
        err.print(
            f"[yellow]error[/yellow] {escape(path.name)} line {problem.line}: "
            f"{escape(problem.message)}"
        )
    console.print(
        f"providers: {report.providers_new} new, {report.providers_updated} updated;"
        f" {report.ranges_changed} ranges changed; {len(report.errors)} errors"
    )


@provider_app.command("list")
def provider_list() -> None:
    """Providers, their retention and how many ranges they hold."""
    from safeguard.store import providers as provider_store

    with session_scope() as session:
        counts = provider_store.range_counts(session)
        table = Table("provider", "retention (days)", "ranges", "contact")
        for p in provider_store.providers(session):
            table.add_row(
                escape(p.name),
                str(p.retention_days),
                str(counts.get(p.id, 0)),
                escape(p.contact or ""),
            )
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(referral_app, name="referral")

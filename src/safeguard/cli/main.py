"""The ``safeguard`` command line. Thin: every command calls the layers below."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sys
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from safeguard.cli import review_commands, server_commands
from safeguard.cli.progress import RichProgress
from safeguard.interchange import BankFormat
from safeguard.reports.case_report import build_case_report
from safeguard.reports.render import FORMATS, render
from safeguard.store import banks as bank_store
from safeguard.store import cases as case_store
from safeguard.store.cases import AlreadyExists, NotFound
from safeguard.store.database import database_url, session_scope, upgrade
from safeguard.triage.banks import export_bank, import_bank_file
from safeguard.triage.exhibit_matching import MatchOptions
from safeguard.triage.ingest import IngestOptions, ingest_exhibit

app = typer.Typer(
    help="Safeguard: triage seized media against banks of known material.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
case_app = typer.Typer(help="Cases (operations).", no_args_is_help=True)
bank_app = typer.Typer(help="Banks of known hashes.", no_args_is_help=True)
db_app = typer.Typer(help="The case store.", no_args_is_help=True)
app.add_typer(case_app, name="case")
app.add_typer(bank_app, name="bank")
app.add_typer(db_app, name="db")
review_commands.register(app)  # serve, user, audit, review
server_commands.register(app, case_app)  # case export, token

console = Console(stderr=False)
err = Console(stderr=True)


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}")
    return typer.Exit(code=1)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the store's schema to the newest version."""
    upgrade()
    console.print(f"store is up to date: {database_url()}")


@case_app.command("create")
def case_create(reference: str, title: str = typer.Option(None, help="A descriptive title.")):
    """Create a case."""
    try:
        with session_scope() as session:
            case_store.create_case(session, reference, title)
    except (AlreadyExists, ValueError) as error:
        raise _fail(str(error)) from None
    console.print(f"created case {reference}")


@case_app.command("list")
def case_list() -> None:
    """List cases with their exhibits."""
    table = Table("Case", "Title", "Exhibits", "Created")
    with session_scope() as session:
        for case in case_store.list_cases(session):
            exhibits = ", ".join(f"{e.reference} ({e.state})" for e in case.exhibits)
            table.add_row(
                case.reference,
                case.title or "",
                exhibits or "-",
                case.created_at.strftime("%Y-%m-%d %H:%M"),
            )
    console.print(table)


@bank_app.command("import")
def bank_import(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True),
    name: str = typer.Option(..., "--name", help="Name of the new bank."),
    fmt: BankFormat = typer.Option(None, "--format", help="Format; detected when left out."),
    profile: str = typer.Option(None, help="VICS profile (uk or us) for category codes."),
    replace: bool = typer.Option(False, help="Replace the bank of this name by this version."),
    category: str = typer.Option(
        None, help="Category of entries whose format has none (hash lists, vPDQ text)."
    ),
) -> None:
    """Import a bank file (VICS JSON 1.x/2.0, md5sum list, CSV, HMA-style lines, vPDQ text)."""
    try:
        with RichProgress(err) as progress:
            summary = import_bank_file(
                file,
                name,
                fmt=fmt,
                profile=profile,
                replace=replace,
                category=category,
                progress=progress,
            )
    except (AlreadyExists, ValueError, KeyError) as error:
        raise _fail(str(error)) from None
    console.print(f"bank {name}: imported {summary.imported:,} entries ({summary.format})")
    for problem in summary.errors[:50]:
        err.print(f"[yellow]skipped[/yellow] {file.name} {problem}")
    if len(summary.errors) > 50:
        err.print(f"... and {len(summary.errors) - 50:,} more skipped lines")


@bank_app.command("enable")
def bank_enable(name: str) -> None:
    """Match against this bank again."""
    _set_enabled(name, True)


@bank_app.command("disable")
def bank_disable(name: str) -> None:
    """Stop matching against this bank (its entries and past matches are kept)."""
    _set_enabled(name, False)


def _set_enabled(name: str, enabled: bool) -> None:
    try:
        with session_scope() as session:
            bank_store.set_enabled(session, name, enabled)
    except NotFound as error:
        raise _fail(str(error)) from None
    console.print(f"bank {name} {'enabled' if enabled else 'disabled'}")


@bank_app.command("list")
def bank_list() -> None:
    """List banks with their size and source."""
    table = Table("Bank", "Entries", "Scheme", "Format", "Enabled", "Source")
    with session_scope() as session:
        for b in bank_store.list_banks(session):
            table.add_row(
                b.name,
                f"{b.entries:,}",
                b.scheme,
                b.format or "",
                "yes" if b.enabled else "no",
                b.source or "",
            )
    console.print(table)


@bank_app.command("export")
def bank_export(
    name: str,
    fmt: BankFormat = typer.Option(BankFormat.VICS, "--format"),
    output: Path = typer.Option(None, "--output", "-o", help="File to write; stdout if omitted."),
    profile: str = typer.Option(None, help="VICS profile (uk or us)."),
) -> None:
    """Export a bank in any supported format."""
    try:
        if output is None:
            count = export_bank(name, sys.stdout, fmt, profile=profile)
        else:
            with output.open("w", encoding="utf-8", newline="") as out:
                count = export_bank(name, out, fmt, profile=profile)
    except (NotFound, ValueError) as error:
        raise _fail(str(error)) from None
    err.print(f"exported {count:,} entries of bank {name}")


@app.command("ingest")
def ingest(
    case: str,
    exhibit: str,
    path: Path = typer.Argument(..., exists=True, help="Folder, zip or tar of the exhibit."),
    workers: int = typer.Option(None, help="Hashing processes (default: one per core)."),
    radius: int = typer.Option(31, help="PDQ match distance."),
    min_quality: int = typer.Option(50, help="Ignore PDQ hashes below this quality."),
    batch: int = typer.Option(256, help="Files stored per transaction."),
    timings: Path = typer.Option(
        None, "--timings", help="Write where the time went (seconds by phase) to this JSON file."
    ),
) -> None:
    """Ingest an exhibit: hash every file, match against the banks, group what is new.

    Safe to interrupt: run the same command again and it resumes where it stopped.
    """
    options = IngestOptions(
        batch=batch, matching=MatchOptions(radius=radius, min_quality=min_quality)
    )
    if workers:
        options = dataclasses.replace(options, workers=workers)
    try:
        with RichProgress(err) as progress:
            summary = ingest_exhibit(case, exhibit, path, options, progress)
    except (NotFound, FileNotFoundError) as error:
        raise _fail(str(error)) from None
    console.print(
        f"exhibit {exhibit}: {summary.files_seen:,} files seen, {summary.files_stored:,} stored"
        f" now, {summary.files_already_stored:,} already stored, {summary.errors:,} unreadable;"
        f" {summary.previews:,} pictures for review with previews"
    )
    preparing = time.perf_counter()
    review_commands.prepare_review(case, exhibit)  # only what the workers could not make
    if timings is not None:
        spent = dict(summary.timings)
        spent["prepare_review"] = time.perf_counter() - preparing
        timings.write_text(json.dumps({k: round(v, 4) for k, v in spent.items()}, indent=2))


@app.command("report")
def report(
    case: str,
    fmt: str = typer.Option("text", "--format", help=f"One of {', '.join(FORMATS)}."),
    output: Path = typer.Option(None, "--output", "-o"),
) -> None:
    """The case (charging) report."""
    try:
        with session_scope() as session:
            text = render(build_case_report(session, case), fmt)
    except (NotFound, ValueError) as error:
        raise _fail(str(error)) from None
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        err.print(f"wrote {output}")


@app.command("demo")
def demo(
    directory: Path = typer.Option(Path("demo"), "--dir", help="Where to generate the demo."),
    case: str = typer.Option("DEMO-1", help="Case reference for the demo."),
    workers: int = typer.Option(None, help="Hashing processes (default: one per core)."),
) -> None:
    """Generate a benign demo exhibit and bank, ingest it and print the case report."""
    from safeguard.demo.corpus import generate_demo

    exhibit_dir, bank_csv = directory / "exhibit", directory / "demo-bank.csv"
    if exhibit_dir.exists() and bank_csv.exists():
        console.print(f"reusing the benign demo exhibit in {directory}")
    else:
        console.print(f"generating a benign demo exhibit in {directory} ...")
        corpus = generate_demo(directory)
        exhibit_dir, bank_csv = corpus.exhibit_dir, corpus.bank_csv
    with session_scope() as session:
        with contextlib.suppress(AlreadyExists):
            case_store.create_case(session, case, "Generated benign demo")
        has_bank = any(b.name == "demo-bank" for b in bank_store.list_banks(session))
    if not has_bank:
        bank_import(
            bank_csv, name="demo-bank", fmt=None, profile=None, replace=False, category=None
        )
    ingest(
        case,
        "EXHIBIT-1",
        exhibit_dir,
        workers=workers,
        radius=31,
        min_quality=50,
        batch=256,
        timings=None,
    )
    report(case, fmt="text", output=None)


if __name__ == "__main__":
    app()

"""The ``safeguard`` command line. Thin: every command calls the layers below."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from safeguard.banks import admin as bank_admin
from safeguard.banks.bank_files import BankImportRefused, export_bank, import_bank_file
from safeguard.cli import (
    outcome_commands,
    referral_commands,
    review_commands,
    server_commands,
    subject_commands,
)
from safeguard.cli.progress import RichProgress
from safeguard.domain.actors import Actor
from safeguard.domain.signals import PDQ_MIN_QUALITY, PDQ_RADIUS
from safeguard.interchange import BankFormat
from safeguard.reports.case_report import build_case_report
from safeguard.reports.render import FORMATS, render
from safeguard.store import banks as bank_store
from safeguard.store import cases as case_store
from safeguard.store.cases import AlreadyExists, NotFound
from safeguard.store.database import database_url, session_scope, upgrade
from safeguard.store.locks import ExhibitBusy
from safeguard.triage.exhibit_matching import MatchOptions
from safeguard.triage.ingest import IngestOptions, ingest_exhibit
from safeguard.triage.retention import RetentionError, close_case, purge_case, reopen_case
from safeguard.triage.workers import ClusterError

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
referral_commands.register(app)  # referral import|list|show|requests|...
# subject, deconflict; referral priority|queue|kirat|fact|release|package|disseminate
subject_commands.register(app, referral_commands.referral_app)
outcome_commands.register(app)  # action, outcome, stats

console = Console(stderr=False)
err = Console(stderr=True)


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {escape(message)}")
    return typer.Exit(code=1)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the store's schema to the newest version."""
    upgrade()
    console.print(escape(f"store is up to date: {database_url()}"))


@case_app.command("create")
def case_create(reference: str, title: str = typer.Option(None, help="A descriptive title.")):
    """Create a case."""
    try:
        with session_scope() as session:
            case_store.create_case(session, reference, title)
    except (AlreadyExists, ValueError) as error:
        raise _fail(str(error)) from None
    console.print(escape(f"created case {reference}"))


@case_app.command("list")
def case_list() -> None:
    """List cases with their exhibits."""
    table = Table("Case", "Title", "Exhibits", "Created")
    with session_scope() as session:
        for case in case_store.list_cases(session):
            exhibits = ", ".join(f"{e.reference} ({e.state})" for e in case.exhibits)
            table.add_row(
                escape(case.reference),
                escape(case.title or ""),
                escape(exhibits or "-"),
                case.created_at.strftime("%Y-%m-%d %H:%M"),
            )
    console.print(table)


def _retention(step, reference: str) -> object:
    try:
        with session_scope() as session:
            return step(session, reference)
    except (NotFound, RetentionError) as error:
        raise _fail(str(error)) from None


@case_app.command("close")
def case_close(reference: str) -> None:
    """Close a finished case (kept as it is; previews stay until it is purged)."""
    _retention(close_case, reference)
    console.print(escape(f"case {reference} closed"))


@case_app.command("reopen")
def case_reopen(reference: str) -> None:
    """Reopen a closed case."""
    _retention(reopen_case, reference)
    console.print(escape(f"case {reference} reopened"))


@case_app.command("purge")
def case_purge(
    reference: str,
    yes: bool = typer.Option(False, "--yes", help="Confirm: the pictures cannot be restored."),
) -> None:
    """Delete a closed case's review previews and video keyframes for good (audited).

    Hashes, grades, matches and the audit log stay.
    """
    if not yes:
        raise _fail("purging deletes the case's previews for good: add --yes to confirm")
    summary = _retention(purge_case, reference)
    deleted = ", ".join(f"{n:,} {kind}" for kind, n in sorted(summary.deleted.items()))
    console.print(
        escape(
            f"case {reference} purged: deleted {deleted or 'no previews'}; "
            f"{summary.kept_shared:,} media kept for other cases"
        )
    )


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
    allow_partial: bool = typer.Option(
        False,
        "--allow-partial",
        help="Import the good entries of a file with bad ones (never a truncated file "
        "over an existing bank).",
    ),
) -> None:
    """Import a bank file (VICS JSON 1.x/2.0, md5sum list, CSV, HMA-style lines, vPDQ text).

    All or nothing: a file with any bad entry imports nothing and exits 1, unless
    --allow-partial.
    """
    try:
        with RichProgress(err) as progress:
            summary = import_bank_file(
                file,
                name,
                fmt=fmt,
                profile=profile,
                replace=replace,
                category=category,
                allow_partial=allow_partial,
                progress=progress,
            )
    except BankImportRefused as refused:
        _print_problems(file, refused.summary.errors, "bad")
        raise _fail(str(refused)) from None
    except (AlreadyExists, ValueError, KeyError) as error:
        raise _fail(str(error)) from None
    console.print(
        escape(f"bank {name}: imported {summary.imported:,} entries ({summary.format})")
    )
    _print_problems(file, summary.errors, "skipped")


def _print_problems(file: Path, problems: list, label: str) -> None:
    for problem in problems[:50]:
        err.print(f"[yellow]{label}[/yellow] {escape(file.name)} {escape(str(problem))}")
    if len(problems) > 50:
        err.print(escape(f"... and {len(problems) - 50:,} more {label} entries"))


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
            bank_admin.set_bank_enabled(session, Actor.operator(), name, enabled)
    except NotFound as error:
        raise _fail(str(error)) from None
    console.print(escape(f"bank {name} {'enabled' if enabled else 'disabled'}"))


@bank_app.command("list")
def bank_list() -> None:
    """List banks with their size and source."""
    table = Table("Bank", "Entries", "Scheme", "Format", "Enabled", "Source")
    with session_scope() as session:
        for b in bank_store.list_banks(session):
            table.add_row(
                escape(b.name),
                f"{b.entries:,}",
                b.scheme,
                b.format or "",
                "yes" if b.enabled else "no",
                escape(b.source or ""),
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
    err.print(escape(f"exported {count:,} entries of bank {name}"))


@app.command("ingest")
def ingest(
    case: str,
    exhibit: str,
    path: Path = typer.Argument(
        ...,
        exists=True,
        help="Folder, zip or tar of the exhibit, or a disk image (E01, raw/dd, split .001).",
    ),
    workers: int = typer.Option(None, help="Hashing processes (default: one per core)."),
    radius: int = typer.Option(PDQ_RADIUS, help="PDQ match distance."),
    min_quality: int = typer.Option(PDQ_MIN_QUALITY, help="Ignore PDQ hashes below this quality."),
    batch: int = typer.Option(256, help="Files stored per transaction."),
    carve: bool = typer.Option(
        False, "--carve", help="Disk images: carve pictures and videos from free space."
    ),
    verify: bool = typer.Option(
        False, "--verify", help="Disk images: check the stored acquisition hashes (E01)."
    ),
    cluster: str = typer.Option(
        None,
        help="Hash on a Ray cluster: ray://HOST:PORT, HOST:PORT or auto (a cluster started with"
        " `ray start` on this machine). Every node must see PATH at the same absolute path."
        " Needs: pip install 'safeguard[cluster]'.",
    ),
    timings: Path = typer.Option(
        None, "--timings", help="Write where the time went (seconds by phase) to this JSON file."
    ),
) -> None:
    """Ingest an exhibit: hash every file, match against the banks, group what is new.

    Safe to interrupt: run the same command again and it resumes where it stopped.
    """
    options = IngestOptions(
        batch=batch,
        matching=MatchOptions(radius=radius, min_quality=min_quality),
        carve=carve,
        verify=verify,
        cluster=cluster or None,
    )
    if workers:
        options = dataclasses.replace(options, workers=workers)
    try:
        with RichProgress(err) as progress:
            summary = ingest_exhibit(case, exhibit, path, options, progress)
    except (NotFound, FileNotFoundError, ClusterError, ExhibitBusy) as error:
        raise _fail(str(error)) from None
    console.print(
        escape(
            f"exhibit {exhibit}: {summary.files_seen:,} files seen, {summary.files_stored:,} "
            f"stored now, {summary.files_already_stored:,} already stored, {summary.errors:,} "
            f"unreadable; {summary.previews:,} pictures for review with previews"
        )
    )
    image = summary.image
    if image is not None:
        line = f"disk image: {image.format}, {image.media_size:,} bytes"
        if image.verification is not None:
            line += f"; verification: {image.verification} ({image.detail})"
        console.print(escape(line))
    if cluster:
        for node, rate in summary.node_rates().items():
            console.print(
                f"  node {escape(node)}: {summary.nodes[node]:,} files, {rate:,.1f} files/s"
            )
    preparing = time.perf_counter()
    review_commands.prepare_review(case, exhibit)  # only what the workers could not make
    if timings is not None:
        spent = dict(summary.timings)
        spent["prepare_review"] = time.perf_counter() - preparing
        timings.write_text(json.dumps({k: round(v, 4) for k, v in spent.items()}, indent=2))
    if image is not None and image.verification in ("mismatch", "unreadable"):
        raise _fail(f"the image of exhibit {exhibit} failed verification: {image.detail}")


@app.command("report")
def report(
    case: str,
    fmt: str = typer.Option("text", "--format", help=f"One of {', '.join(FORMATS)}."),
    output: Path = typer.Option(None, "--output", "-o"),
) -> None:
    """The case (charging) report; ``--format pdf`` needs ``-o FILE``."""
    if fmt == "pdf" and output is None:
        raise _fail("a PDF report needs --output FILE")
    try:
        with session_scope() as session:
            text = render(build_case_report(session, case), fmt)
    except (NotFound, ValueError, RuntimeError) as error:
        raise _fail(str(error)) from None
    if isinstance(text, bytes):
        output.write_bytes(text)
        err.print(escape(f"wrote {output}"))
    elif output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        err.print(escape(f"wrote {output}"))


@app.command("demo")
def demo(
    directory: Path = typer.Option(Path("demo"), "--dir", help="Where to generate the demo."),
    case: str = typer.Option("DEMO-1", help="Case reference for the demo."),
    workers: int = typer.Option(None, help="Hashing processes (default: one per core)."),
    referrals: int = typer.Option(30, help="Generated referrals to import (0: none)."),
) -> None:
    """Generate a benign demo exhibit and bank, ingest it and print the case report; then a
    referral set: import, normalise, match files, draft requests."""
    from safeguard.demo.corpus import generate_demo
    from safeguard.demo.videos import VIDEO_BANK, generate_demo_videos

    exhibit_dir, bank_csv = directory / "exhibit", directory / "demo-bank.csv"
    video_bank = directory / VIDEO_BANK
    if exhibit_dir.exists() and bank_csv.exists():
        console.print(escape(f"reusing the benign demo exhibit in {directory}"))
    else:
        console.print(escape(f"generating a benign demo exhibit in {directory} ..."))
        corpus = generate_demo(directory)
        exhibit_dir, bank_csv = corpus.exhibit_dir, corpus.bank_csv
    if not video_bank.exists():
        console.print("generating benign demo videos (known, re-encoded, clipped, new) ...")
        video_bank, _ = generate_demo_videos(directory)
    with session_scope() as session:
        with contextlib.suppress(AlreadyExists):
            case_store.create_case(session, case, "Generated benign demo")
        banks = {b.name for b in bank_store.list_banks(session)}
    if "demo-bank" not in banks:
        bank_import(
            bank_csv,
            name="demo-bank",
            fmt=None,
            profile=None,
            replace=False,
            category=None,
            allow_partial=False,
        )
    if "demo-video-bank" not in banks:
        bank_import(
            video_bank,
            name="demo-video-bank",
            fmt=None,
            profile="uk",
            replace=False,
            category=None,
        )
    ingest(
        case,
        "EXHIBIT-1",
        exhibit_dir,
        workers=workers,
        radius=PDQ_RADIUS,
        min_quality=PDQ_MIN_QUALITY,
        batch=256,
        carve=False,
        verify=False,
        cluster=None,
        timings=None,
    )
    report(case, fmt="text", output=None)
    if referrals:
        demo_referrals(directory / "referrals", referrals)


def demo_referrals(directory: Path, count: int) -> None:
    """The demo's referral set: generated reports (XML from NCMEC, JSON from the NCA, fragment
    CSVs from the public), a bank knowing some of their files, the provider table; imported,
    with communications-data requests drafted."""
    from safeguard.cli import referral_commands
    from safeguard.demo.referrals import generate_referrals

    # the referrals' uploaded files live beside the demo, not in the working directory
    os.environ.setdefault("SAFEGUARD_REFERRAL_UPLOADS", str(directory / "uploads"))

    if (directory / "truth.csv").exists():
        console.print(escape(f"reusing the benign demo referrals in {directory}"))
    else:
        console.print(escape(f"generating {count} benign demo referrals in {directory} ..."))
        generate_referrals(directory, count)
    with session_scope() as session:
        has_bank = any(b.name == "demo-referrals" for b in bank_store.list_banks(session))
    if not has_bank:
        bank_import(
            directory / "bank.csv",
            name="demo-referrals",
            fmt=None,
            profile=None,
            replace=False,
            category=None,
        )
    referral_commands.provider_import(directory / "providers.csv")
    for folder, source in (("xml", "ncmec"), ("json", "nca"), ("fragments", "public")):
        referral_commands.referral_import(
            directory / folder, source=source, received=None, uploads=True
        )
    referral_commands.referral_requests(
        referral_id=None, draft=True, state=["drafted"], provider=None, reason=None, fmt="none"
    )
    referral_commands.referral_list(
        state=[], source=[], older_than=None, overdue=False, sort="id", limit=20, fmt="text"
    )
    console.print(
        f"ground truth (which referrals are about the same person): {directory / 'truth.csv'}"
    )


if __name__ == "__main__":
    app()

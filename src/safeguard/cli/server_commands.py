"""Server commands: ``case export`` (final grades as a bank) and ``token`` (lookup API tokens)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from safeguard.banks import admin as bank_admin
from safeguard.banks.case_export import export_case
from safeguard.domain.actors import Actor
from safeguard.interchange import BankFormat
from safeguard.store import api_tokens
from safeguard.store.cases import AlreadyExists, NotFound
from safeguard.store.database import session_scope

token_app = typer.Typer(help="API tokens for the lookup API.", no_args_is_help=True)
console = Console(stderr=False)
err = Console(stderr=True)
EXPORT_FORMATS = ("vics", "csv", "hma")


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {escape(message)}")
    return typer.Exit(code=1)


def case_export(
    case: str,
    fmt: str = typer.Option("vics", "--format", help="vics, csv or hma."),
    profile: str = typer.Option(None, help="VICS code table, uk or us (default: the case's)."),
    output: Path = typer.Option(None, "--output", "-o", help="File to write; stdout if omitted."),
    confirmed_only: bool = typer.Option(
        False, help="Leave out perceptual matches that no person confirmed."
    ),
) -> None:
    """Export the case's final grades (bank and review) as a bank file. Audited."""
    if fmt not in EXPORT_FORMATS:
        raise _fail(f"format must be one of {', '.join(EXPORT_FORMATS)}")
    options = {
        "profile": profile,
        "confirmed_only": confirmed_only,
        "username": Actor.operator().username,
    }
    try:
        if output is None:
            summary = export_case(case, sys.stdout, BankFormat(fmt), **options)
        else:
            with output.open("w", encoding="utf-8", newline="") as out:
                summary = export_case(case, out, BankFormat(fmt), **options)
    except (NotFound, KeyError, ValueError) as error:
        raise _fail(str(error)) from None
    err.print(
        escape(f"exported {summary.entries:,} entries of case {case} (sha256 {summary.sha256})")
    )


@token_app.command("issue")
def token_issue(name: str) -> None:
    """Issue an API token; it is printed once and only its SHA-256 is kept."""
    try:
        with session_scope() as session:
            token = bank_admin.issue_token(session, Actor.operator(), name)
    except (AlreadyExists, ValueError) as error:
        raise _fail(str(error)) from None
    console.print(token, highlight=False)


@token_app.command("revoke")
def token_revoke(name: str) -> None:
    """Revoke the active API token of that name."""
    try:
        with session_scope() as session:
            bank_admin.revoke_token(session, Actor.operator(), name)
    except NotFound as error:
        raise _fail(str(error)) from None
    console.print(escape(f"revoked token {name}"))


@token_app.command("list")
def token_list() -> None:
    """API tokens (never the tokens themselves)."""
    table = Table("name", "issued", "by", "revoked")
    with session_scope() as session:
        for row in api_tokens.list_tokens(session):
            revoked = row.revoked_at.isoformat(timespec="seconds") if row.revoked_at else ""
            issued = row.created_at.isoformat(timespec="seconds")
            table.add_row(escape(row.name), issued, escape(row.created_by or ""), revoked)
    console.print(table)


def register(app: typer.Typer, case_app: typer.Typer) -> None:
    case_app.command("export")(case_export)
    app.add_typer(token_app, name="token")

"""Review workstation commands: ``serve``, ``user``, ``audit verify`` and ``review prepare``."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from safeguard.domain.actors import Actor
from safeguard.review import accounts
from safeguard.review import admin as people
from safeguard.review.previews import prepare_case
from safeguard.review.settings import ReviewSettings
from safeguard.store import audit
from safeguard.store import users as user_store
from safeguard.store.cases import AlreadyExists, NotFound
from safeguard.store.database import session_scope

user_app = typer.Typer(help="Users of the review workstation.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit log.", no_args_is_help=True)
review_app = typer.Typer(help="Review preparation.", no_args_is_help=True)

console = Console(stderr=False)
err = Console(stderr=True)


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {escape(message)}")
    return typer.Exit(code=1)


def _password_option(prompt: bool | str) -> str:
    """A password asked for twice, hidden (or read from SAFEGUARD_NEW_PASSWORD)."""
    return typer.Option(
        ...,
        prompt=prompt,
        hide_input=True,
        confirmation_prompt=True,
        envvar="SAFEGUARD_NEW_PASSWORD",
        help="Asked for when left out (or read from SAFEGUARD_NEW_PASSWORD).",
    )


@user_app.command("add")
def user_add(
    username: str,
    role: str = typer.Option("reviewer", help=f"One of {', '.join(user_store.ROLES)}."),
    name: str = typer.Option(None, help="Display name."),
    password: str = _password_option(True),
) -> None:
    """Add a user (argon2id password hash)."""
    try:
        with session_scope() as session:
            accounts.add_user(session, Actor.operator(), username, password, role, name)
    except (AlreadyExists, ValueError) as error:
        raise _fail(str(error)) from None
    console.print(escape(f"added {role} {username}"))


@user_app.command("assign")
def user_assign(username: str, case: str) -> None:
    """Give a user access to a case."""
    try:
        with session_scope() as session:
            accounts.assign(session, Actor.operator(), username, case)
    except NotFound as error:
        raise _fail(str(error)) from None
    console.print(escape(f"{username} is assigned to {case}"))


def _set_active(username: str, active: bool) -> None:
    try:
        with session_scope() as session:
            accounts.set_active(session, Actor.operator(), username, active)
    except NotFound as error:
        raise _fail(str(error)) from None


@user_app.command("unassign")
def user_unassign(username: str, case: str) -> None:
    """Take a case away from a user."""
    try:
        with session_scope() as session:
            people.unassign(session, username, case)
    except NotFound as error:
        raise _fail(str(error)) from None
    console.print(escape(f"{username} is no longer assigned to {case}"))


@user_app.command("disable")
def user_disable(username: str) -> None:
    """Stop a user signing in and end their sessions (their votes and audit entries stay)."""
    _set_active(username, False)
    console.print(escape(f"{username} is disabled"))


@user_app.command("enable")
def user_enable(username: str) -> None:
    """Let a disabled user sign in again."""
    _set_active(username, True)
    console.print(escape(f"{username} is enabled"))


@user_app.command("password")
def user_password(
    username: str,
    password: str = _password_option("New password"),
) -> None:
    """Set a user's password; their sessions end."""
    try:
        with session_scope() as session:
            accounts.change_password(session, Actor.operator(), username, password)
    except (NotFound, ValueError) as error:
        raise _fail(str(error)) from None
    console.print(escape(f"password of {username} changed"))


@user_app.command("list")
def user_list() -> None:
    """List users, their roles and cases."""
    table = Table("User", "Role", "Active", "Cases")
    with session_scope() as session:
        for user in user_store.list_users(session):
            cases = ", ".join(c.reference for c in user_store.assigned_cases(session, user.id))
            table.add_row(
                escape(user.username),
                user.role,
                "yes" if user.active else "no",
                escape(cases or "-"),
            )
    console.print(table)


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the hash chain of the audit log; exit 1 naming the first bad entry."""
    with session_scope() as session:
        problem = audit.verify(session)
        head = session.get(audit.AuditHead, 1)
    if problem is not None:
        err.print(f"[red]audit log broken[/red] at {escape(str(problem))}")
        raise typer.Exit(code=1)
    if head is None:
        console.print("audit log intact: empty")
    else:
        console.print(escape(f"audit log intact: {head.seq:,} entries, head {head.hash}"))


def prepare_review(case: str, exhibit: str | None = None) -> None:
    """Store the review previews still missing for a case, or one exhibit of it; problems are
    warnings. Counts are per exhibit when one is named."""
    try:
        summary = prepare_case(case, exhibit_reference=exhibit)
    except NotFound as error:
        raise _fail(str(error)) from None
    scope = f"exhibit {exhibit}" if exhibit else f"case {case}"
    err.print(
        escape(
            f"review ({scope}): {summary.stored:,} previews stored, {summary.already:,} already"
            f" there, {len(summary.problems):,} problems"
        )
    )
    for problem in summary.problems[:20]:
        err.print(f"[yellow]preview[/yellow] {escape(problem)}")


@review_app.command("prepare")
def review_prepare(case: str) -> None:
    """Store small previews of the pictures that need review (run after each ingest)."""
    prepare_review(case)


def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000),
    secure_cookies: bool = typer.Option(
        None, "--secure-cookies/--no-secure-cookies", help="Send cookies over https only."
    ),
    votes_required: int = typer.Option(None, help="Agreeing votes for a final grade (3)."),
    confirmations_required: int = typer.Option(
        None, help="Confirmations of a known grade from a perceptual match (1)."
    ),
    auto_accept_below: int = typer.Option(
        None, help="Accept pictures' PDQ matches closer than this without a person (10; 0: off)."
    ),
    enforce_breaks: bool = typer.Option(
        None, "--enforce-breaks/--no-enforce-breaks", help="Refuse reveals while a break is due."
    ),
    break_reveals: int = typer.Option(None, help="Prompt a break after this many reveals."),
    break_minutes: int = typer.Option(None, help="Prompt a break after this many minutes."),
) -> None:
    """Run the review workstation (web pages and JSON API)."""
    import uvicorn

    from safeguard.web.app import create_app

    settings = ReviewSettings.from_env(
        secure_cookies=secure_cookies,
        votes_required=votes_required,
        confirmations_required=confirmations_required,
        auto_accept_below=auto_accept_below,
        enforce_breaks=enforce_breaks,
        break_after_reveals=break_reveals,
        break_after_minutes=break_minutes,
    )
    console.print(
        escape(f"serving on http://{host}:{port} (secure cookies: {settings.secure_cookies})")
    )
    uvicorn.run(create_app(settings), host=host, port=port, proxy_headers=False)


def register(app: typer.Typer) -> None:
    app.add_typer(user_app, name="user")
    app.add_typer(audit_app, name="audit")
    app.add_typer(review_app, name="review")
    app.command("serve")(serve)

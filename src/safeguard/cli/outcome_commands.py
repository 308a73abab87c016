"""``safeguard action``, ``safeguard outcome`` and ``safeguard stats``: thin, over
``outcomes.services`` (role checks and audit happen there). The acting user is ``--user`` (or
SAFEGUARD_USER): a Safeguard user whose role decides what they may do."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from safeguard.outcomes import layouts, rollup
from safeguard.outcomes import services as svc
from safeguard.outcomes.codes import CRITERIA_21, OUTCOME_TYPES, OutcomeIn, OutcomeRecord
from safeguard.outcomes.kinds import KINDS, ActionIn, parse_pairs
from safeguard.outcomes.periods import DEFAULT_TZ, PeriodError, parse_moment, parse_period
from safeguard.outcomes.statistics import STATISTICS
from safeguard.store.database import session_scope
from safeguard.store.outcomes import ALL, Scope

action_app = typer.Typer(help="Actions after a referral or in a case.", no_args_is_help=True)
outcome_app = typer.Typer(help="Home Office crime outcomes.", no_args_is_help=True)
stats_app = typer.Typer(
    help="Statistics for a period and unit; the signed national roll-up.",
    invoke_without_command=True,
)
console = Console(stderr=False, highlight=False)
err = Console(stderr=True)
MAX_FILE = rollup.MAX_BYTES

USER = typer.Option(None, "--user", envvar="SAFEGUARD_USER", help="Who is acting (a user).")


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {escape(message)}")
    return typer.Exit(code=1)


def _actor(session, username: str | None) -> svc.Actor:  # noqa: ANN001
    if not username:
        raise _fail("name the acting user with --user or SAFEGUARD_USER")
    try:
        return svc.actor_named(session, username)
    except svc.NotPermitted as error:
        raise _fail(str(error)) from None


def _run(work):  # noqa: ANN001, ANN202
    """Run ``work(session)`` in one transaction; service errors become a clear exit 1."""
    try:
        with session_scope() as session:
            return work(session)
    except svc.OutcomeError as error:
        err.print(
            "[red]error:[/red] " + "\n  ".join(escape(p) for p in ["", *error.problems]).lstrip()
        )
        raise typer.Exit(code=1) from None
    except (svc.NotPermitted, svc.Missing, PeriodError, rollup.RollupError) as error:
        raise _fail(str(error)) from None


def _fields(pairs: list[str]) -> dict[str, object]:
    fields, problems = parse_pairs(pairs)
    if problems:
        raise _fail("; ".join(problems))
    return fields


def _target(text: str) -> tuple[str, str]:
    kind, sep, ref = text.partition(":")
    if not sep:
        raise _fail("--target is KIND:REF, e.g. subject:S-102, referral:R-88 or case:OP-KESTREL")
    return kind, ref


def _moment(text: str | None, tz: str, what: str):  # noqa: ANN202
    if text is None:
        return None
    try:
        return parse_moment(text, tz)
    except PeriodError as error:
        raise _fail(f"{what}: {error}") from None


@action_app.command("record")
def action_record(
    kind: str = typer.Argument(..., help=f"One of {', '.join(KINDS)}."),
    target: str = typer.Option(..., help="subject:REF, referral:REF or case:REF."),
    at: str = typer.Option(..., help="When (YYYY-MM-DD[THH:MM[+HH:MM]]; local time in --tz)."),
    force: str = typer.Option(..., help="The force (code)."),
    team: str = typer.Option(None, help="The team or unit."),
    operation: str = typer.Option(None, help="The operation."),
    person: str = typer.Option(
        None,
        help="Person key (hid:/local:) or strong identifier (email:, phone:, pnc:, passport:).",
    ),
    band: str = typer.Option(None, help="KIRAT band recorded elsewhere."),
    referral_received: str = typer.Option(None, help="When the referral was received."),
    field: list[str] = typer.Option([], "--field", help="name=value (JSON for lists)."),
    tz: str = typer.Option(DEFAULT_TZ, help="Time zone of times without an offset."),
    user: str = USER,
) -> None:
    """Record an action. Audited."""
    kind_t, ref = _target(target)

    def work(session):  # noqa: ANN001, ANN202
        actor = _actor(session, user)
        action = ActionIn(
            kind=kind,
            occurred_at=_moment(at, tz, "--at"),
            force=force,
            target_kind=kind_t,
            target_ref=ref,
            fields={k: v for k, v in _fields(field).items() if v is not None},
            person_key=svc.resolve_person(person, kind_t, ref),
            team=team,
            operation=operation,
            band=band,
            referral_received_at=_moment(referral_received, tz, "--referral-received"),
        )
        return svc.record_action(session, actor, action).ref

    console.print(escape(f"recorded action {_run(work)}"))


@action_app.command("correct")
def action_correct(
    ref: str,
    reason: str = typer.Option(..., help="Why it is corrected (kept in the history)."),
    at: str = typer.Option(None),
    force: str = typer.Option(None),
    team: str = typer.Option(None),
    operation: str = typer.Option(None),
    person: str = typer.Option(None),
    band: str = typer.Option(None),
    field: list[str] = typer.Option([], "--field", help="name=value; name= removes it."),
    tz: str = typer.Option(DEFAULT_TZ),
    user: str = USER,
) -> None:
    """Correct an action: a new version supersedes the old one, which stays. Audited."""
    changes: dict[str, object] = {
        k: v
        for k, v in {"force": force, "team": team, "operation": operation, "band": band}.items()
        if v is not None
    }
    if at is not None:
        changes["occurred_at"] = _moment(at, tz, "--at")
    if field:
        changes["fields"] = _fields(field)

    def work(session):  # noqa: ANN001, ANN202
        actor = _actor(session, user)
        if person is not None:
            current = svc.action_history(session, actor, ref)[-1]
            changes["person_key"] = svc.resolve_person(
                person, current.target_kind, current.target_ref
            )
        return svc.correct_action(session, actor, ref, reason, changes).version

    console.print(escape(f"action {ref} is now version {_run(work)}"))


@action_app.command("withdraw")
def action_withdraw(
    ref: str, reason: str = typer.Option(..., help="Why."), user: str = USER
) -> None:
    """Withdraw an action recorded in error (it stays in the history). Audited."""
    _run(lambda s: svc.withdraw_action(s, _actor(s, user), ref, reason))
    console.print(escape(f"action {ref} withdrawn"))


def _scope(unit: str | None) -> Scope:
    if not unit or unit == "national":
        return ALL
    kind, sep, value = unit.partition(":")
    names = {"force": "force", "team": "team", "unit": "team", "operation": "operation"}
    if not sep or kind not in names or not value:
        raise _fail("--unit is national, force:CODE, team:NAME (or unit:NAME) or operation:NAME")
    return Scope(**{names[kind]: value})


@action_app.command("list")
def action_list(
    target: str = typer.Option(None, help="subject:REF, referral:REF or case:REF."),
    kind: str = typer.Option(None),
    unit: str = typer.Option(None, help="force:CODE, team:NAME or operation:NAME."),
    limit: int = typer.Option(200, min=1, max=10000),
    user: str = USER,
) -> None:
    """Current actions, newest first."""
    table = Table("ref", "v", "kind", "when (UTC)", "force", "target", "person", "details")

    def work(session):  # noqa: ANN001, ANN202
        rows = svc.list_actions(
            session,
            _actor(session, user),
            _scope(unit),
            target=_target(target) if target else None,
            kind=kind,
            limit=limit,
        )
        for r in rows:
            table.add_row(
                *(
                    escape(str(v))
                    for v in (
                        r.ref,
                        r.version,
                        r.kind,
                        r.occurred_at.strftime("%Y-%m-%d %H:%M"),
                        r.force,
                        f"{r.target_kind}:{r.target_ref}",
                        r.person_key or "",
                        r.details,
                    )
                )
            )

    _run(work)
    console.print(table)


@action_app.command("history")
def action_history(ref: str, user: str = USER) -> None:
    """Every version of an action, with who changed it, when and why."""
    table = Table("v", "recorded (UTC)", "by", "when (UTC)", "withdrawn", "reason", "details")

    def work(session):  # noqa: ANN001, ANN202
        for r in svc.action_history(session, _actor(session, user), ref):
            table.add_row(
                *(
                    escape(str(v))
                    for v in (
                        r.version,
                        r.recorded_at.strftime("%Y-%m-%d %H:%M:%S"),
                        r.recorded_by,
                        r.occurred_at.strftime("%Y-%m-%d %H:%M"),
                        "yes" if r.withdrawn else "",
                        r.reason or "",
                        r.details,
                    )
                )
            )

    _run(work)
    console.print(table)


@outcome_app.command("record")
def outcome_record(
    crime: str = typer.Argument(..., help="The crime reference."),
    code: int = typer.Option(..., help="Home Office outcome type, 1-22."),
    decided: str = typer.Option(..., help="When it was decided."),
    force: str = typer.Option(...),
    sub_code: str = typer.Option(None),
    team: str = typer.Option(None),
    operation: str = typer.Option(None),
    target: str = typer.Option(None, help="subject:REF, referral:REF or case:REF."),
    person: str = typer.Option(None),
    referral_received: str = typer.Option(None),
    criterion: list[str] = typer.Option(
        [], help=f"Outcome 21: CRITERION=reason for each of {', '.join(CRITERIA_21)}."
    ),
    images_action: str = typer.Option(None, help="Outcome 21: what was done with the images."),
    images_notes: str = typer.Option(None),
    diversion: str = typer.Option(None, help="Outcome 22: the diversionary activity."),
    reason: str = typer.Option(None, help="To correct an earlier outcome: why."),
    tz: str = typer.Option(DEFAULT_TZ),
    user: str = USER,
) -> None:
    """Record (or, with --reason, correct) a crime's outcome. Audited."""
    details: dict[str, object] = {}
    if criterion:
        reasons = {}
        for pair in criterion:
            name, sep, text = pair.partition("=")
            if not sep:
                raise _fail(f"--criterion takes CRITERION=reason, not {pair!r}")
            reasons[name.strip()] = text
        details["criteria_reasons"] = reasons
    for name, value in (
        ("images_action", images_action),
        ("images_notes", images_notes),
        ("diversion", diversion),
    ):
        if value is not None:
            details[name] = value
    when = _moment(decided, tz, "--decided")
    kind_t, ref = _target(target) if target else (None, None)

    def work(session):  # noqa: ANN001, ANN202
        actor = _actor(session, user)
        local_day = when.astimezone(ZoneInfo(tz)).date()
        record = OutcomeRecord(
            OutcomeIn(crime, code, local_day, sub_code, details),
            when,
            force,
            team,
            operation,
            kind_t,
            ref,
            svc.resolve_person(person, kind_t or "", ref or "") if person else None,
            _moment(referral_received, tz, "--referral-received"),
        )
        return svc.record_outcome(session, actor, record, reason).version

    version = _run(work)
    console.print(escape(f"crime {escape(crime)}: outcome {code} recorded (version {version})"))


@outcome_app.command("codes")
def outcome_codes() -> None:
    """The Home Office outcome types and their sub-codes."""
    table = Table("type", "description", "solved", "from", "sub-codes")
    for o in OUTCOME_TYPES.values():
        table.add_row(
            str(o.code),
            o.label,
            "yes" if o.solved else "",
            o.from_date.isoformat() if o.from_date else "",
            ", ".join(o.sub_codes),
        )
    console.print(table)


@outcome_app.command("history")
def outcome_history(crime: str, user: str = USER) -> None:
    table = Table("v", "recorded (UTC)", "by", "code", "decided (UTC)", "reason")

    def work(session):  # noqa: ANN001, ANN202
        for r in svc.outcome_history(session, _actor(session, user), crime):
            table.add_row(
                *(
                    escape(str(v))
                    for v in (
                        r.version,
                        r.recorded_at.strftime("%Y-%m-%d %H:%M:%S"),
                        r.recorded_by,
                        r.code,
                        r.decided_at.strftime("%Y-%m-%d %H:%M"),
                        r.reason or "",
                    )
                )
            )

    _run(work)
    console.print(table)


def _write(text: str | bytes, output: Path | None) -> None:
    if output is None:
        if isinstance(text, bytes):
            sys.stdout.buffer.write(text)
        else:
            sys.stdout.write(text)
        sys.stdout.flush()
    elif isinstance(text, bytes):
        output.write_bytes(text)
    else:
        output.write_text(text, encoding="utf-8")


@stats_app.callback()
def stats(
    ctx: typer.Context,
    first: str = typer.Option(None, "--from", help="First day (YYYY-MM-DD), local."),
    last: str = typer.Option(None, "--to", help="Last day, included."),
    unit: str = typer.Option(None, help="national, force:CODE, team:NAME or operation:NAME."),
    tz: str = typer.Option(DEFAULT_TZ, help="Time zone of the calendar days."),
    fmt: str = typer.Option("text", "--format", help="text, json, csv or html."),
    layout: str = typer.Option("snapshot", help=", ".join(layouts.LAYOUTS) + "."),
    output: Path = typer.Option(None, "--output", "-o"),
    user: str = USER,
) -> None:
    """Statistics for a period (both days included) and unit, in a built-in layout."""
    if ctx.invoked_subcommand is not None:
        return
    if not first or not last:
        raise _fail("give the period with --from and --to")
    if fmt not in layouts.FORMATS:
        raise _fail(f"--format must be one of {', '.join(layouts.FORMATS)}")
    scope = _scope(unit)

    def work(session):  # noqa: ANN001, ANN202
        period = parse_period(first, last, tz)
        return svc.statistics_table(session, _actor(session, user), period, scope, layout)

    _write(layouts.render(_run(work), fmt), output)


@stats_app.command("definitions")
def stats_definitions() -> None:
    """What each statistic counts, and how it counts a person or child once."""
    for s in STATISTICS:
        console.print(
            f"[bold]{escape(s.label)}[/bold] ({s.key})\n  {escape(s.definition)}\n"
            f"  Counted once: {escape(s.count_once)}"
        )


@stats_app.command("keygen")
def stats_keygen(
    out: Path = typer.Option(..., "--out", help="Private key file to write (PEM, mode 0600)."),
) -> None:
    """A new Ed25519 signing key for this force; the public key goes to the national instance."""
    if out.exists():
        raise _fail(f"{out} exists; not overwriting a key")
    private_pem, public_pem = rollup.new_key()
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(private_pem)
    public = out.with_name(out.name + ".pub")
    public.write_bytes(public_pem)
    kid = rollup.key_id(rollup.load_public(public_pem))
    console.print(escape(f"private key {out} (keep it secret); public key {public} (key id {kid})"))


@stats_app.command("register-key")
def stats_register_key(
    force: str,
    public_key: Path = typer.Argument(..., exists=True, dir_okay=False),
    user: str = USER,
) -> None:
    """At the national instance: register a force's public key. Audited."""
    if public_key.stat().st_size > 10_000:
        raise _fail(f"{public_key}: too large for a public key")
    data = public_key.read_bytes()
    row = _run(lambda s: svc.register_force_key(s, _actor(s, user), force, data))
    console.print(escape(f"registered key {row.key_id} for {escape(force)}"))


@stats_app.command("export")
def stats_export(
    first: str = typer.Option(..., "--from"),
    last: str = typer.Option(..., "--to"),
    force: str = typer.Option(..., help="This force's code (its records are exported)."),
    sign: Path = typer.Option(..., "--sign", exists=True, dir_okay=False, help="Private key."),
    tz: str = typer.Option(DEFAULT_TZ),
    output: Path = typer.Option(None, "--output", "-o"),
    user: str = USER,
) -> None:
    """The force's statistics for the period as a signed file for the national instance."""
    key = sign.read_bytes()

    def work(session):  # noqa: ANN001, ANN202
        return svc.export_rollup(
            session, _actor(session, user), parse_period(first, last, tz), force, key
        )

    _write(_run(work), output)
    if output is not None:
        err.print(escape(f"wrote {output}"))


@stats_app.command("import")
def stats_import(
    files: list[Path] = typer.Argument(..., exists=True, dir_okay=False), user: str = USER
) -> None:
    """At the national instance: verify and import forces' signed files (refused files are
    named with the reason; exit 1 if any was refused)."""
    refused = 0
    for path in files:
        if path.stat().st_size > MAX_FILE:
            err.print(f"[red]refused[/red] {escape(str(path))}: larger than the limit")
            refused += 1
            continue
        data = path.read_bytes()
        result = _run(lambda s, d=data, p=path: svc.import_rollup(s, _actor(s, user), d, p.name))
        if result.accepted:
            console.print(escape(f"imported {escape(path.name)} ({escape(result.force or '')})"))
        else:
            refused += 1
            err.print(f"[red]refused[/red] {escape(result.error or '')}")
    if refused:
        raise typer.Exit(code=1)


@stats_app.command("national")
def stats_national(
    first: str = typer.Option(..., "--from"),
    last: str = typer.Option(..., "--to"),
    tz: str = typer.Option(DEFAULT_TZ),
    fmt: str = typer.Option("text", "--format"),
    output: Path = typer.Option(None, "--output", "-o"),
    user: str = USER,
) -> None:
    """The national table and per-force breakdown of the imported files for the period."""
    if fmt not in layouts.FORMATS:
        raise _fail(f"--format must be one of {', '.join(layouts.FORMATS)}")

    def work(session):  # noqa: ANN001, ANN202
        table = svc.national_table(session, _actor(session, user), parse_period(first, last, tz))
        return svc.national_as_table(table)

    _write(layouts.render(_run(work), fmt), output)


def register(app: typer.Typer) -> None:
    app.add_typer(action_app, name="action")
    app.add_typer(outcome_app, name="outcome")
    app.add_typer(stats_app, name="stats")

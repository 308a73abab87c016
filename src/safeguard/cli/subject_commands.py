"""``safeguard subject ...``, ``safeguard deconflict export|import`` and the referral commands
for priority, KIRAT, intelligence, holds and packages. Thin: each calls one service.

The acting user (``--user`` or ``SAFEGUARD_USER``) must exist in the store; their role is
checked by the service, as on the web.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from safeguard.referrals import deconflict_service, priority_service, subjects
from safeguard.referrals.deconfliction import DeconflictError, load_keyring
from safeguard.referrals.priority import load_rules
from safeguard.reports import intel_service
from safeguard.store import subjects as repo
from safeguard.store.cases import NotFound
from safeguard.store.database import session_scope
from safeguard.store.users import find_user

subject_app = typer.Typer(help="Subjects: people linked from referrals.", no_args_is_help=True)
deconflict_app = typer.Typer(
    help="Deconfliction across forces (keyed hashes).", no_args_is_help=True
)
referral_app = typer.Typer(help="Referrals.", no_args_is_help=True)

console = Console()
err = Console(stderr=True)
USER = typer.Option(..., "--user", envvar="SAFEGUARD_USER", help="The acting Safeguard user.")


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {escape(message)}")
    return typer.Exit(code=1)


def _run(action):  # noqa: ANN001, ANN202 - a callable taking (session)
    try:
        with session_scope() as session:
            return action(session)
    except (subjects.Refused, subjects.NotAllowed, NotFound, LookupError) as error:
        raise _fail(str(error)) from None


def _user(session, name: str):  # noqa: ANN001, ANN202
    user = find_user(session, name)
    if user is None or not user.active:
        raise LookupError(f"no active user {name!r}")
    return user


def _referral(session, ref: str):  # noqa: ANN001, ANN202
    found = repo.find_referral(session, ref)
    if found is None:
        raise LookupError(f"no referral {ref!r} (give source:external id, or the external id)")
    return found


def _subject(session, ref: str):  # noqa: ANN001, ANN202
    found = repo.subject(session, ref)
    if found is None:
        raise LookupError(f"no subject {ref!r}")
    return found


@subject_app.command("link")
def subject_link(
    user: str = USER,
    threshold: float = typer.Option(
        0.95, help="Match probability a name/DOB/address pair needs to link."
    ),
    postgres_splink: bool = typer.Option(
        False, help="Run Splink on the store's PostgreSQL server instead of DuckDB."
    ),
) -> None:
    """Link every referral into subjects (deterministic + Splink); analyst decisions kept."""

    def act(session):  # noqa: ANN001, ANN202
        with console.status("linking referrals into subjects..."):
            return subjects.relink(
                session, _user(session, user), threshold=threshold, postgres_splink=postgres_splink
            )

    s = _run(act)
    console.print(
        f"{s.referrals:,} referrals -> {s.subjects:,} subjects ({s.linked_subjects:,} with more "
        f"than one referral); {s.edges:,} links; {s.blocked} held apart by analyst splits; "
        f"{s.new_conflicts} new conflict(s)"
    )


@subject_app.command("list")
def subject_list(linked_only: bool = typer.Option(True, help="Only subjects with 2+ referrals.")):
    """Subjects and their referrals."""

    def act(session):  # noqa: ANN001, ANN202
        table = Table("subject", "name", "referrals")
        for s in repo.subjects(session):
            members = repo.members(session, s.id)
            if linked_only and len(members) < 2:
                continue
            table.add_row(
                s.reference,
                escape(s.label or "—"),
                escape(", ".join(repo.referral_label(r) for r in members)),
            )
        console.print(table)

    _run(act)


@subject_app.command("show")
def subject_show(reference: str, as_json: bool = typer.Option(False, "--json")) -> None:
    """A subject: referrals, identifiers with sources, returns, links and why, timeline."""
    view = _run(lambda s: subjects.subject_view(s, _subject(s, reference)))
    if as_json:
        console.print_json(json.dumps(view))
        return
    console.print(f"[bold]{escape(view['reference'])}[/bold] {escape(view['label'] or '')}")
    t = Table("referral", "state", "assignee", "received", "held")
    for r in view["referrals"]:
        t.add_row(
            escape(r["reference"]),
            r["state"],
            escape(r["assignee"] or "—"),
            r["received_at"],
            "HELD" if r["held"] else "",
        )
    console.print(t)
    t = Table("link", "a", "b", "method", "why", "weight")
    for link in view["links"]:
        t.add_row(
            str(link["id"]),
            escape(link["a"]),
            escape(link["b"]),
            link["method"],
            escape("; ".join(link["reasons"])),
            f"{link['weight']:.2f}" if link["weight"] is not None else "—",
        )
    console.print(t)
    t = Table("kind", "value", "sources")
    for i in view["identifiers"]:
        t.add_row(i["kind"], escape(i["value"]), escape("; ".join(i["sources"])))
    console.print(t)
    for item in view["timeline"]:
        console.print(f"{item['at']}  {escape(item['what'])}")


@subject_app.command("confirm")
def subject_confirm(a: str, b: str, reason: str = typer.Option(...), user: str = USER) -> None:
    """Two referrals are the same person (kept through every re-linking)."""
    _run(
        lambda s: subjects.decide(
            s, _user(s, user), _referral(s, a), _referral(s, b), same=True, reason=reason
        )
    )
    console.print(escape(f"confirmed: {escape(a)} and {escape(b)} are one person"))


@subject_app.command("split")
def subject_split(a: str, b: str, reason: str = typer.Option(...), user: str = USER) -> None:
    """Two referrals are not the same person (never linked again, by any path)."""
    _run(
        lambda s: subjects.decide(
            s, _user(s, user), _referral(s, a), _referral(s, b), same=False, reason=reason
        )
    )
    console.print(escape(f"split: {escape(a)} and {escape(b)} are different people"))


@subject_app.command("merge")
def subject_merge(
    first: str, second: str, reason: str = typer.Option(...), user: str = USER
) -> None:
    """Two subjects are one person."""
    _run(
        lambda s: subjects.merge_subjects(
            s, _user(s, user), _subject(s, first), _subject(s, second), reason
        )
    )
    console.print(escape(f"merged {escape(first)} and {escape(second)}"))


@deconflict_app.command("export")
def deconflict_export(
    keyring: Path = typer.Option(..., help="Keyring JSON shared by the participating forces."),
    force: str = typer.Option(..., help="This force's name as others will read it."),
    output: Path = typer.Option(None, "--output", "-o"),
    user: str = USER,
) -> None:
    """Keyed hashes (HMAC-SHA-256) of open referrals' strong identifiers; no raw value."""
    ring = load_keyring(keyring)
    if isinstance(ring, DeconflictError):
        raise _fail(str(ring))
    doc = _run(lambda s: deconflict_service.export(s, _user(s, user), ring, force))
    text = json.dumps(doc, indent=1, sort_keys=True) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        err.print(f"{len(doc['entries']):,} entries under key {doc['key_id']!r} -> {output}")


@deconflict_app.command("import")
def deconflict_import(
    files: list[Path],
    keyring: Path = typer.Option(..., help="Keyring JSON shared by the participating forces."),
    user: str = USER,
) -> None:
    """Other forces' files: hits read 'also held by FORCE, reference, since DATE'."""
    ring = load_keyring(keyring)
    if isinstance(ring, DeconflictError):
        raise _fail(str(ring))
    failed = False
    for path in files:
        try:
            data = path.read_bytes()
        except OSError as exc:
            err.print(f"[red]error:[/red] {escape(str(path))}: {escape(exc.strerror or str(exc))}")
            failed = True
            continue
        try:
            with session_scope() as session:
                r = deconflict_service.import_file(
                    session, _user(session, user), data, ring, str(path)
                )
        except (subjects.Refused, subjects.NotAllowed, LookupError) as error:
            err.print(f"[red]error:[/red] {escape(str(error))}")
            failed = True
            continue
        console.print(
            f"{escape(str(path))}: {r['entries']:,} entries from "
            f"{escape(r['force'])}, {r['new_hits']} new hit(s)"
        )
    if failed:
        raise typer.Exit(code=1)


@referral_app.command("priority")
def referral_priority(
    ref: str,
    rules: Path = typer.Option(None, help="The unit's rule file (TOML)."),
    user: str = USER,
) -> None:
    """Score a referral: score, band and every factor with whether it applied and why."""
    loaded = load_rules(rules)

    def act(session):  # noqa: ANN001, ANN202
        ruleset = priority_service.rules_or_raise(rules) if loaded else None
        return priority_service.score(
            session, _user(session, user), _referral(session, ref), rules=ruleset
        )

    result, changed = _run(act)
    console.print(
        f"[bold]{escape(ref)}[/bold]: band {result.band.upper()}, score {result.score}"
        + ("" if changed else " (unchanged)")
    )
    t = Table("factor", "applied", "points", "why")
    for f in result.factors:
        t.add_row(f.name, "yes" if f.applied else "no", str(f.points), escape(f.reason))
    console.print(t)


@referral_app.command("queue")
def referral_queue() -> None:
    """Open referrals by band, then age."""
    rows = _run(priority_service.queue)
    t = Table("referral", "band", "score", "received", "state", "held")
    for r in rows:
        t.add_row(
            escape(r["referral"]),
            r["band"] or "unscored",
            str(r["score"] or "—"),
            r["received_at"],
            r["state"],
            "HELD" if r["held"] else "",
        )
    console.print(t)


@referral_app.command("kirat")
def referral_kirat(
    ref: str,
    band: str = typer.Option(..., help="Low, Medium, High or 'Very High'."),
    version: str = typer.Option(...),
    assessor: str = typer.Option(...),
    assessed_on: str = typer.Option(..., help="YYYY-MM-DD"),
    user: str = USER,
) -> None:
    """Record a KIRAT result made elsewhere (Safeguard never computes one); re-scores."""
    _run(
        lambda s: priority_service.record_kirat(
            s,
            _user(s, user),
            _referral(s, ref),
            band=band,
            version=version,
            assessor=assessor,
            assessed_on=assessed_on,
        )
    )
    console.print(escape(f"KIRAT {escape(band)} recorded for {escape(ref)}"))


@referral_app.command("fact")
def referral_fact(
    ref: str,
    kind: str = typer.Argument(..., help=", ".join(subjects.FACT_KINDS)),
    note: str = typer.Option(..., help="Where it comes from."),
    user: str = USER,
) -> None:
    """Record intelligence on the referral's subject; re-scores."""

    def act(session):  # noqa: ANN001, ANN202
        acting, referral = _user(session, user), _referral(session, ref)
        subjects.record_fact(session, acting, referral, kind, note)
        return priority_service.score(session, acting, referral)

    result, _ = _run(act)
    console.print(
        escape(f"{escape(kind)} recorded; band {result.band.upper()}, score {result.score}")
    )


@referral_app.command("release")
def referral_release(ref: str, note: str = typer.Option(...), user: str = USER) -> None:
    """A supervisor releases a referral held for a conflict."""
    _run(lambda s: subjects.release_hold(s, _user(s, user), _referral(s, ref), note))
    console.print(escape(f"{escape(ref)} released"))


@referral_app.command("package")
def referral_package(
    ref: str,
    output: Path = typer.Option(Path("."), "--output", "-o", help="Folder for the files."),
    pdf: bool = typer.Option(True, help="Also render the PDF (WeasyPrint)."),
    user: str = USER,
) -> None:
    """The intelligence package (JSON, HTML, PDF) up to warrant stage; SHA-256 recorded."""

    def act(session):  # noqa: ANN001, ANN202
        with console.status("rendering the package..."):
            p = intel_service.make_package(
                session, _user(session, user), _referral(session, ref), pdf=pdf
            )
        return p.reference, p.json_bytes, p.html_bytes, p.pdf_bytes, p.json_sha256, p.pdf_sha256

    reference, js, html, pdf_bytes, js_sha, pdf_sha = _run(act)
    output.mkdir(parents=True, exist_ok=True)
    (output / f"{reference}.json").write_bytes(js)
    (output / f"{reference}.html").write_bytes(html)
    if pdf_bytes is not None:
        (output / f"{reference}.pdf").write_bytes(pdf_bytes)
    console.print(
        f"{reference}: {output}/{reference}.{{json,html{',pdf' if pdf_bytes else ''}}}"
        f" (sha256 json {js_sha}" + (f", pdf {pdf_sha})" if pdf_sha else ")")
    )


@referral_app.command("disseminate")
def referral_disseminate(
    package: str,
    to: str = typer.Option(..., "--to", help="The force or team it goes to."),
    note: str = typer.Option(None),
    user: str = USER,
) -> None:
    """Record that a package went to a force or team (when, by whom). Audited."""

    def act(session):  # noqa: ANN001, ANN202
        row = repo.package(session, package)
        if row is None:
            raise LookupError(f"no package {package!r}")
        return intel_service.disseminate(session, _user(session, user), row, to, note).sent_at

    when = _run(act)
    console.print(escape(f"{escape(package)} disseminated to {escape(to)} at {when}"))


def register(app: typer.Typer, existing_referral_app: typer.Typer | None = None) -> None:
    app.add_typer(subject_app, name="subject")
    app.add_typer(deconflict_app, name="deconflict")
    if existing_referral_app is None:
        app.add_typer(referral_app, name="referral")
    else:  # the intake's referral group gains these commands
        for command in referral_app.registered_commands:
            existing_referral_app.registered_commands.append(command)

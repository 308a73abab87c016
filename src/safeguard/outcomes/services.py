"""The services: every state change here is one function that checks the actor's role and
writes its audit entry in the same transaction. The CLI and the web call these and nothing else.

Roles: analysts, supervisors and intelligence officers record and correct actions and outcomes;
they and admins read statistics; admins run the national roll-up (register force keys, sign exports,
import forces' files).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from safeguard.outcomes import kinds, layouts, rollup
from safeguard.outcomes.codes import SOLVED_CODES, OutcomeRecord, check_outcome
from safeguard.outcomes.identity import IdentityError, person_hash
from safeguard.outcomes.periods import Period
from safeguard.outcomes.statistics import BY_KEY, PERSON_MEASURES, STATISTICS, export_key, percent
from safeguard.store import audit
from safeguard.store import outcomes as repo
from safeguard.store.outcome_models import Action, CrimeOutcome, ForceKey, RollupImport
from safeguard.store.outcomes import ALL, Scope
from safeguard.store.review_models import User

CAN_RECORD = frozenset({"analyst", "supervisor", "intelligence"})
CAN_READ_STATS = frozenset({"analyst", "supervisor", "intelligence", "admin"})
CAN_ROLLUP = frozenset({"admin"})
KEY_ENV = "SAFEGUARD_DECONFLICTION_KEY"
MAX_REASON = 2000


class OutcomeError(ValueError):
    """The request cannot be done; ``problems`` lists every reason."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


class NotPermitted(PermissionError):
    pass


class Missing(LookupError):
    pass


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    username: str
    role: str


def actor_of(user: User) -> Actor:
    return Actor(user.id, user.username, user.role)


def actor_named(session: Session, username: str) -> Actor:
    """The active user of that name, for the command line (``--user`` / SAFEGUARD_USER)."""
    from safeguard.store.users import find_user

    user = find_user(session, username)
    if user is None or not user.active:
        raise NotPermitted(f"no active user {username!r}")
    return actor_of(user)


def _require(actor: Actor, roles: frozenset[str], what: str) -> None:
    if actor.role not in roles:
        raise NotPermitted(f"a {actor.role} may not {what}")


def _audit(session: Session, actor: Actor, action: str, detail: dict[str, Any]) -> None:
    audit.append(session, action, user_id=actor.user_id, username=actor.username, detail=detail)


# --- people --------------------------------------------------------------------------------------


def resolve_person(text: str | None, target_kind: str, target_ref: str) -> str | None:
    """The person key of an action: ``hid:``/``local:`` keys as given; ``email:...``,
    ``phone:...``, ``pnc:...``, ``passport:...`` hashed under the shared deconfliction key
    (SAFEGUARD_DECONFLICTION_KEY); none given on a subject: the subject's local key."""
    if text:
        text = text.strip()
        kind, _, value = text.partition(":")
        if kind in ("hid", "local"):
            return text
        key = os.environ.get(KEY_ENV, "")
        if not key:
            raise OutcomeError([f"set {KEY_ENV} to hash a person's {kind} (or give a person key)"])
        try:
            return person_hash(kind, value, key.encode())
        except IdentityError as error:
            raise OutcomeError([str(error)]) from None
    if target_kind == "subject":
        return f"local:subject:{target_ref}"
    return None


# --- actions -------------------------------------------------------------------------------------


def _links(session: Session, action: kinds.ActionIn) -> list[str]:
    """Problems with what the action links to (its subject, referral or case; exhibits of the
    case; first-generation media)."""
    problems = []
    if not repo.target_facts(session, action.target_kind, action.target_ref).found:
        problems.append(f"no {action.target_kind} {action.target_ref!r}")
    fields = action.fields
    if action.kind == "devices_seized" and fields.get("exhibits"):
        case_ref = fields.get("case") or (
            action.target_ref if action.target_kind == "case" else None
        )
        if not case_ref:
            problems.append("Devices seized: name the case its exhibits belong to")
        else:
            for ref in repo.missing_exhibits(session, case_ref, fields["exhibits"]):
                problems.append(f"Devices seized: {ref!r} is not an exhibit of case {case_ref}")
    if action.kind == "victim_identified" and fields.get("media"):
        wanted = [m.lower() for m in fields["media"]]
        found = repo.first_generation_media(session, wanted)
        for sha in wanted:
            if sha not in found:
                problems.append(
                    f"Victim identified: {sha[:64]!r} is not a first-generation media item"
                )
    return problems


def _row(action: kinds.ActionIn, ref: str, version: int, actor: Actor) -> Action:
    counted = kinds.counting(action.kind, action.fields)
    return Action(
        ref=ref,
        version=version,
        kind=action.kind,
        occurred_at=action.occurred_at.astimezone(UTC),
        force=action.force.strip(),
        team=action.team,
        operation=action.operation,
        target_kind=action.target_kind,
        target_ref=action.target_ref.strip(),
        person_key=action.person_key,
        counted_key=counted.counted_key,
        quantity=counted.quantity,
        flag=counted.flag,
        band=action.band,
        referral_received_at=action.referral_received_at.astimezone(UTC)
        if action.referral_received_at
        else None,
        details=json.dumps(dict(action.fields), sort_keys=True),
        recorded_by=actor.username,
        withdrawn=False,
    )


def _validated(session: Session, action: kinds.ActionIn) -> kinds.ActionIn:
    """The action, checked, with what its target tells: when the referral behind it was
    received and its latest KIRAT band, where the user gave neither."""
    action = _with_person(action)
    problems = kinds.check_input(action)
    if not problems:
        problems = _links(session, action)
    if problems:
        raise OutcomeError(problems)
    return _enriched(session, action)


def _with_person(action: kinds.ActionIn) -> kinds.ActionIn:
    """An action on a subject counts that subject unless another person key is given."""
    if action.person_key is None and action.target_kind == "subject":
        return replace(action, person_key=resolve_person(None, "subject", action.target_ref))
    return action


def _enriched(session: Session, action: kinds.ActionIn) -> kinds.ActionIn:
    if action.referral_received_at is not None and action.band is not None:
        return action
    facts = repo.target_facts(session, action.target_kind, action.target_ref)
    received = action.referral_received_at or facts.received_at
    if received is not None and received.tzinfo is None:
        received = received.replace(tzinfo=UTC)  # SQLite gives stored UTC back without its zone
    if received is not None and received > action.occurred_at:
        received = action.referral_received_at  # a referral after the action did not lead to it
    return replace(action, referral_received_at=received, band=action.band or facts.band)


def record_action(session: Session, actor: Actor, action: kinds.ActionIn) -> Action:
    _require(actor, CAN_RECORD, "record actions")
    action = _validated(session, action)
    ref = "A-" + secrets.token_hex(6).upper()
    row = repo.add_action(session, _row(action, ref, 1, actor), _children(action, ref))
    _audit(
        session,
        actor,
        "action_record",
        {"ref": ref, "kind": action.kind, "target": f"{action.target_kind}:{action.target_ref}"},
    )
    return row


def _children(action: kinds.ActionIn, ref: str) -> list[str]:
    return kinds.child_keys(ref, action.fields) if action.kind == "safeguarding" else []


def record_actions(
    session: Session, actor: Actor, actions: Sequence[kinds.ActionIn], source: str
) -> list[str]:
    """Many actions at once (an import or a generated scenario): all valid or none recorded,
    one audit entry naming the source, the count and a digest of the new refs."""
    _require(actor, CAN_RECORD, "record actions")
    problems = []
    actions = [_with_person(a) for a in actions]
    for i, action in enumerate(actions):
        found = kinds.check_input(action) or _links(session, action)
        problems.extend(f"record {i + 1}: {p}" for p in found)
        if len(problems) > 50:
            break
    if problems:
        raise OutcomeError(problems)
    refs = []
    for action in actions:
        action = _enriched(session, action)
        ref = "A-" + secrets.token_hex(6).upper()
        repo.add_action(session, _row(action, ref, 1, actor), _children(action, ref))
        refs.append(ref)
    digest = hashlib.sha256("\n".join(refs).encode()).hexdigest()
    _audit(
        session,
        actor,
        "action_record_batch",
        {"source": source[:200], "count": len(refs), "refs_sha256": digest},
    )
    return refs


def action_input(row: Action, children: Sequence[str] = ()) -> kinds.ActionIn:
    """The input that would record this row again (the base a correction changes)."""
    fields = json.loads(row.details)
    return kinds.ActionIn(
        kind=row.kind,
        occurred_at=row.occurred_at.replace(tzinfo=row.occurred_at.tzinfo or UTC),
        force=row.force,
        target_kind=row.target_kind,
        target_ref=row.target_ref,
        fields=fields,
        person_key=row.person_key,
        team=row.team,
        operation=row.operation,
        band=row.band,
        referral_received_at=row.referral_received_at.replace(
            tzinfo=row.referral_received_at.tzinfo or UTC
        )
        if row.referral_received_at
        else None,
    )


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason or len(reason) > MAX_REASON:
        raise OutcomeError([f"a correction needs a reason (1 to {MAX_REASON} characters)"])
    return reason


def correct_action(
    session: Session,
    actor: Actor,
    ref: str,
    reason: str,
    changes: Mapping[str, Any],
) -> Action:
    """A new version of the action with ``changes`` (ActionIn field names; ``fields`` entries
    merge into the old ones, a None value removing one). The old row stays, superseded."""
    _require(actor, CAN_RECORD, "correct actions")
    reason = _reason(reason)
    previous = repo.current_action(session, ref)
    if previous is None:
        raise Missing(f"no action {ref!r}")
    if previous.withdrawn:
        raise OutcomeError([f"action {ref} was withdrawn; it cannot be corrected"])
    base = action_input(previous)
    changes = dict(changes)
    if "kind" in changes and changes["kind"] != base.kind:
        raise OutcomeError(["the kind of an action cannot be corrected; withdraw it instead"])
    if "fields" in changes:
        merged = {**base.fields, **changes.pop("fields")}
        changes["fields"] = {k: v for k, v in merged.items() if v is not None}
    unknown = set(changes) - set(kinds.ActionIn.__dataclass_fields__)
    if unknown:
        raise OutcomeError([f"{', '.join(sorted(unknown))} cannot be corrected"])
    corrected = _validated(session, replace(base, **changes))
    row = _row(corrected, ref, previous.version + 1, actor)
    row.supersedes_id, row.reason = previous.id, reason
    repo.add_action(session, row, _children(corrected, ref))
    _audit(
        session,
        actor,
        "action_correct",
        {"ref": ref, "version": row.version, "fields": sorted(changes), "reason": reason},
    )
    return row


def withdraw_action(session: Session, actor: Actor, ref: str, reason: str) -> Action:
    """Withdraw an action recorded in error: a superseding row that counts for nothing."""
    _require(actor, CAN_RECORD, "withdraw actions")
    reason = _reason(reason)
    previous = repo.current_action(session, ref)
    if previous is None:
        raise Missing(f"no action {ref!r}")
    if previous.withdrawn:
        raise OutcomeError([f"action {ref} is already withdrawn"])
    row = _row(action_input(previous), ref, previous.version + 1, actor)
    row.supersedes_id, row.reason, row.withdrawn = previous.id, reason, True
    repo.add_action(session, row)
    _audit(
        session, actor, "action_withdraw", {"ref": ref, "version": row.version, "reason": reason}
    )
    return row


def action_history(session: Session, actor: Actor, ref: str) -> list[Action]:
    _require(actor, CAN_RECORD | CAN_READ_STATS, "read actions")
    rows = repo.action_history(session, ref)
    if not rows:
        raise Missing(f"no action {ref!r}")
    return rows


def list_actions(
    session: Session, actor: Actor, scope: Scope = ALL, **filters: Any
) -> list[Action]:
    _require(actor, CAN_RECORD | CAN_READ_STATS, "read actions")
    return repo.list_actions(session, scope, **filters)


# --- outcomes ------------------------------------------------------------------------------------


def _outcome_row(record: OutcomeRecord, version: int, actor: Actor) -> CrimeOutcome:
    problems = check_outcome(record.outcome)
    if not record.force.strip() or len(record.force) > 40:
        problems.append("the force is required (at most 40 characters)")
    if record.target_kind is not None and record.target_kind not in kinds.TARGET_KINDS:
        problems.append(f"the target must be one of {', '.join(kinds.TARGET_KINDS)}")
    if record.decided_at.tzinfo is None:
        problems.append("the decision time needs a time zone")
    if problems:
        raise OutcomeError(problems)
    return CrimeOutcome(
        crime_ref=record.outcome.crime_ref,
        version=version,
        code=record.outcome.code,
        sub_code=record.outcome.sub_code,
        decided_at=record.decided_at.astimezone(UTC),
        force=record.force,
        team=record.team,
        operation=record.operation,
        target_kind=record.target_kind,
        target_ref=record.target_ref,
        person_key=record.person_key,
        referral_received_at=record.referral_received_at,
        details=json.dumps(dict(record.outcome.details), sort_keys=True),
        recorded_by=actor.username,
        withdrawn=False,
    )


def record_outcome(
    session: Session, actor: Actor, record: OutcomeRecord, reason: str | None = None
) -> CrimeOutcome:
    """The crime's outcome; if the crime has one already this is a correction (a reason is
    required and the earlier decision stays in the history)."""
    _require(actor, CAN_RECORD, "record outcomes")
    previous = repo.current_outcome(session, record.outcome.crime_ref)
    if previous is not None and not previous.withdrawn and reason is None:
        raise OutcomeError(
            [
                f"crime {record.outcome.crime_ref} already has outcome {previous.code}; "
                "give a reason to correct it"
            ]
        )
    row = _outcome_row(record, previous.version + 1 if previous else 1, actor)
    if previous is not None:
        row.supersedes_id, row.reason = previous.id, _reason(reason or "")
    if (
        record.target_kind is not None
        and not repo.target_facts(session, record.target_kind, record.target_ref or "").found
    ):
        raise OutcomeError([f"no {record.target_kind} {record.target_ref!r}"])
    repo.add_outcome(session, row)
    _audit(
        session,
        actor,
        "outcome_correct" if previous else "outcome_record",
        {"crime": row.crime_ref, "code": row.code, "version": row.version},
    )
    return row


def outcome_history(session: Session, actor: Actor, crime_ref: str) -> list[CrimeOutcome]:
    _require(actor, CAN_RECORD | CAN_READ_STATS, "read outcomes")
    rows = repo.outcome_history(session, crime_ref)
    if not rows:
        raise Missing(f"no outcome for crime {crime_ref!r}")
    return rows


# --- statistics ----------------------------------------------------------------------------------


#: (person kinds, thing kinds, flagged kinds) for ``store.outcomes.counts_by_kind``.
_KIND_MEASURES = (
    tuple(s.kind for s in STATISTICS if s.measure == "persons" and s.kind),
    tuple(s.kind for s in STATISTICS if s.measure == "things" and s.kind),
    tuple(s.kind for s in STATISTICS if s.flag is not None and s.kind),
)


def figures(session: Session, period: Period, scope: Scope = ALL) -> layouts.Figures:
    """Every statistic for the period and scope (the SQL form of ``reference_figures``)."""
    start, end = period.start_utc, period.end_utc
    by_kind = repo.counts_by_kind(session, start, end, scope, *_KIND_MEASURES)
    empty = repo.KindCounts(0, 0)
    values: dict[str, int] = {}
    for stat in STATISTICS:
        counts = by_kind.get(stat.kind or "", empty)
        if stat.measure in ("persons", "things"):
            values[stat.key] = counts.distinct
        elif stat.measure == "sum":
            values[stat.key] = counts.quantity // stat.divisor
        elif stat.measure == "children":
            values[stat.key] = repo.distinct_children(session, start, end, scope)
        elif stat.measure == "solved":
            values[stat.key] = repo.solved_crimes(session, start, end, scope, SOLVED_CODES)
        elif stat.measure == "percent":
            whole, unknown = repo.prior_knowledge_of_arrested(session, start, end, scope)
            values[stat.key] = percent(unknown, whole)
    return layouts.Figures(period, scope.label(), values)


def statistics_table(
    session: Session, actor: Actor, period: Period, scope: Scope, layout: str
) -> layouts.Table:
    _require(actor, CAN_READ_STATS, "read statistics")
    if layout not in layouts.LAYOUTS:
        raise OutcomeError(
            [f"unknown layout {layout!r}; choose one of {', '.join(layouts.LAYOUTS)}"]
        )
    start, end = period.start_utc, period.end_utc
    if layout == "snapshot":
        return layouts.snapshot(figures(session, period, scope))
    if layout == "full":
        return layouts.full(figures(session, period, scope))
    if layout == "yoy":
        before = figures(session, period.year_before(), scope)
        return layouts.year_on_year(figures(session, period, scope), before)
    if layout == "timing":
        arrests = layouts.first_delays(repo.arrest_delays(session, start, end, scope))
        outcomes = layouts.first_delays(repo.outcome_delays(session, start, end, scope))
        return layouts.timing(
            period,
            scope.label(),
            (
                layouts.Delay("referral to arrest", arrests),
                layouts.Delay("referral to outcome", outcomes),
            ),
        )
    return layouts.outcomes_table(
        period, scope.label(), repo.outcomes_by_code(session, start, end, scope)
    )


@dataclass(frozen=True)
class Dashboard:
    figures: layouts.Figures
    monthly: tuple[tuple[str, int, int], ...]  # (month, arrests, children safeguarded)
    by_band: Mapping[str, int]
    by_outcome: Mapping[int, int]


def dashboard(session: Session, actor: Actor, period: Period, scope: Scope) -> Dashboard:
    _require(actor, CAN_READ_STATS, "read statistics")
    monthly = []
    for month in period.months():
        a, b = month.start_utc, month.end_utc
        arrests = repo.distinct_persons(session, "arrest", a, b, scope)
        children = repo.distinct_children(session, a, b, scope)
        monthly.append((f"{month.first:%b %Y}", arrests, children))
    start, end = period.start_utc, period.end_utc
    bands = repo.arrests_by_band(session, start, end, scope)
    order = [*kinds.BANDS, "not recorded"]
    return Dashboard(
        figures(session, period, scope),
        tuple(monthly),
        {
            b: bands[b]
            for b in sorted(bands, key=lambda b: (order.index(b) if b in order else 99, b))
        },
        repo.outcomes_by_code(session, start, end, scope),
    )


# --- the national roll-up ------------------------------------------------------------------------


def force_figures(session: Session, period: Period, force: str) -> rollup.ForceFigures:
    """A force's figures with the exported keys of the people and children it counted."""
    scope = Scope(force=force)
    values = dict(figures(session, period, scope).values)
    start, end = period.start_utc, period.end_utc
    people: dict[str, list[str]] = {}
    for stat in STATISTICS:
        if stat.measure == "persons":
            keys = repo.persons_of(session, stat.kind or "", start, end, scope, stat.flag is True)
        elif stat.measure == "children":
            keys = repo.children_of(session, start, end, scope)
        else:
            continue
        people[stat.key] = sorted({export_key(force, k) for k in keys})
    generated = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return rollup.ForceFigures(force, period, values, people, generated)


def export_rollup(
    session: Session, actor: Actor, period: Period, force: str, private_pem: bytes
) -> bytes:
    """The force's signed statistics file for the period. Audited."""
    _require(actor, CAN_ROLLUP, "export signed statistics")
    private = rollup.load_private(private_pem)
    data = rollup.sign(force_figures(session, period, force), private)
    _audit(
        session,
        actor,
        "stats_export",
        {
            "force": force,
            "from": period.first.isoformat(),
            "to": period.last.isoformat(),
            "key_id": rollup.key_id(private.public_key()),
            "sha256": hashlib.sha256(data).hexdigest(),
        },
    )
    return data


def register_force_key(session: Session, actor: Actor, force: str, public_pem: bytes) -> ForceKey:
    """Register a force's public key at the national instance. Audited."""
    _require(actor, CAN_ROLLUP, "register force keys")
    public = rollup.load_public(public_pem)
    if not rollup._FORCE.fullmatch(force):
        raise OutcomeError([f"{force[:60]!r} is not a force code"])
    kid = rollup.key_id(public)
    existing = repo.force_key(session, kid)
    if existing is not None:
        raise OutcomeError([f"key {kid} is already registered for {existing.force}"])
    row = repo.add_force_key(
        session,
        ForceKey(
            force=force,
            key_id=kid,
            public_pem=public_pem.decode("ascii"),
            registered_by=actor.username,
        ),
    )
    _audit(session, actor, "force_key_register", {"force": force, "key_id": kid})
    return row


@dataclass(frozen=True)
class ImportResult:
    name: str
    accepted: bool
    force: str | None = None
    error: str | None = None


def import_rollup(session: Session, actor: Actor, data: bytes, name: str) -> ImportResult:
    """Verify and store a force's signed file. A refusal is a value (and audited too): an
    unsigned, tampered, unknown-key or malformed file, or a key registered to another force."""
    _require(actor, CAN_ROLLUP, "import statistics")
    digest = hashlib.sha256(data).hexdigest()
    try:
        signed = rollup.parse(data, name)
        key = repo.force_key(session, signed.key_id)
        if key is None:
            raise rollup.RollupError(
                f"{name}: signed by key {signed.key_id}, which is not registered here"
            )
        if key.force != signed.figures.force:
            raise rollup.RollupError(
                f"{name}: key {signed.key_id} belongs to {key.force}, not {signed.figures.force}"
            )
        rollup.verify(signed, rollup.load_public(key.public_pem.encode()), name)
    except rollup.RollupError as error:
        _audit(
            session,
            actor,
            "stats_import_refused",
            {"file": name[:200], "sha256": digest, "reason": str(error)[:500]},
        )
        return ImportResult(name, False, error=str(error))
    figures_ = signed.figures
    repo.add_rollup(
        session,
        RollupImport(
            force=figures_.force,
            period_from=figures_.period.first.isoformat(),
            period_to=figures_.period.last.isoformat(),
            tz=figures_.period.tz,
            key_id=signed.key_id,
            sha256=digest,
            payload=signed.payload_bytes.decode("utf-8"),
            imported_by=actor.username,
        ),
    )
    _audit(
        session,
        actor,
        "stats_import",
        {"force": figures_.force, "file": name[:200], "sha256": digest, "key_id": signed.key_id},
    )
    return ImportResult(name, True, figures_.force)


def national_table(session: Session, actor: Actor, period: Period) -> rollup.NationalTable:
    """The national table from the newest verified file of each force for exactly the period."""
    _require(actor, CAN_READ_STATS, "read statistics")
    files = []
    for row in repo.latest_rollups(
        session, period.first.isoformat(), period.last.isoformat(), period.tz
    ):
        payload = json.loads(row.payload)
        files.append(
            rollup.ForceFigures(
                row.force, period, payload["statistics"], payload["people"], payload["generated_at"]
            )
        )
    return rollup.national(files, period)


def national_as_table(table: rollup.NationalTable) -> layouts.Table:
    rows = []
    for stat in STATISTICS:
        if stat.key not in table.national:
            continue
        per_force = [table.per_force[f].get(stat.key, 0) for f in table.forces]
        dedup = table.deduplicated.get(stat.key, 0) if stat.measure in PERSON_MEASURES else ""
        rows.append((stat.label, table.national[stat.key], dedup, *per_force))
    lines = [
        f"{r[0]}: {r[1]:,}"
        + (f" ({r[2]:,} counted by more than one force, counted once)" if r[2] else "")
        for r in rows
    ]
    return layouts.Table(
        "national",
        f"National statistics ({len(table.forces)} forces)",
        table.period,
        "national",
        ("statistic", "national", "de-duplicated", *table.forces),
        tuple(rows),
        tuple(lines),
        (f"forces: {', '.join(table.forces) or 'none imported for this period'}",),
    )


def statistic_keys() -> tuple[str, ...]:
    return tuple(BY_KEY)

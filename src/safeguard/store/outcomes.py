"""SQL for actions, crime outcomes, statistics, force keys and roll-up imports.

"Current" rows are those no other row supersedes and that are not withdrawals (NOT IN the
small set of superseded ids: a hashed filter, cheaper than an anti-join over every row).
Counting follows ``outcomes/statistics.py`` (whose ``reference_figures`` is the oracle the
tests compare with).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, false, func, literal, or_, select, text, true
from sqlalchemy.orm import Session, aliased

from safeguard.store import subjects as subject_store
from safeguard.store.models import Case, Exhibit, ExhibitMedia, Media
from safeguard.store.outcome_models import (
    Action,
    ActionChild,
    CrimeOutcome,
    ForceKey,
    RollupImport,
)


@dataclass(frozen=True)
class Scope:
    """Which records a statistic covers: one force, team or operation, or all (national)."""

    force: str | None = None
    team: str | None = None
    operation: str | None = None

    def label(self) -> str:
        parts = [
            f"{name} {value}"
            for name, value in (
                ("force", self.force),
                ("team", self.team),
                ("operation", self.operation),
            )
            if value
        ]
        return ", ".join(parts) or "all records"


ALL = Scope()


def _current_action(row: type[Action] = Action):  # noqa: ANN202 - a SQL expression
    newer = aliased(Action)
    superseded = select(newer.supersedes_id).where(newer.supersedes_id.is_not(None))
    return and_(row.withdrawn.is_(false()), row.id.not_in(superseded))


def _current_outcome():  # noqa: ANN202
    newer = aliased(CrimeOutcome)
    superseded = select(newer.supersedes_id).where(newer.supersedes_id.is_not(None))
    return and_(CrimeOutcome.withdrawn.is_(false()), CrimeOutcome.id.not_in(superseded))


def _scoped(model: type, scope: Scope) -> list:
    out = []
    for name in ("force", "team", "operation"):
        value = getattr(scope, name)
        if value:
            out.append(getattr(model, name) == value)
    return out


def _in(model_time, start: datetime, end: datetime) -> list:  # noqa: ANN001
    return [model_time >= start, model_time < end]


# --- writing -------------------------------------------------------------------------------------


def add_action(session: Session, row: Action, children: Sequence[str] = ()) -> Action:
    session.add(row)
    session.flush()
    if children:
        session.add_all(ActionChild(action_id=row.id, child_key=c) for c in children)
        session.flush()
    return row


def current_action(session: Session, ref: str) -> Action | None:
    """The newest version of an action (a withdrawal included), or None."""
    return session.scalar(
        select(Action).where(Action.ref == ref).order_by(Action.version.desc()).limit(1)
    )


def action_history(session: Session, ref: str) -> list[Action]:
    return list(session.scalars(select(Action).where(Action.ref == ref).order_by(Action.version)))


def action_children(session: Session, action_id: int) -> list[str]:
    return list(
        session.scalars(
            select(ActionChild.child_key)
            .where(ActionChild.action_id == action_id)
            .order_by(ActionChild.id)
        )
    )


def list_actions(
    session: Session,
    scope: Scope = ALL,
    *,
    target: tuple[str, str] | None = None,
    kind: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int = 200,
) -> list[Action]:
    """Current actions, newest first."""
    query = select(Action).where(_current_action(), *_scoped(Action, scope))
    if target is not None:
        query = query.where(Action.target_kind == target[0], Action.target_ref == target[1])
    if kind is not None:
        query = query.where(Action.kind == kind)
    if start is not None:
        query = query.where(Action.occurred_at >= start)
    if end is not None:
        query = query.where(Action.occurred_at < end)
    return list(
        session.scalars(query.order_by(Action.occurred_at.desc(), Action.id.desc()).limit(limit))
    )


def add_outcome(session: Session, row: CrimeOutcome) -> CrimeOutcome:
    session.add(row)
    session.flush()
    return row


def current_outcome(session: Session, crime_ref: str) -> CrimeOutcome | None:
    return session.scalar(
        select(CrimeOutcome)
        .where(CrimeOutcome.crime_ref == crime_ref)
        .order_by(CrimeOutcome.version.desc())
        .limit(1)
    )


def outcome_history(session: Session, crime_ref: str) -> list[CrimeOutcome]:
    return list(
        session.scalars(
            select(CrimeOutcome)
            .where(CrimeOutcome.crime_ref == crime_ref)
            .order_by(CrimeOutcome.version)
        )
    )


# --- counting ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KindCounts:
    #: Distinct keys: people (person kinds), counted things (thing kinds), records (others).
    distinct: int
    quantity: int


def counts_by_kind(
    session: Session,
    start: datetime,
    end: datetime,
    scope: Scope,
    person_kinds: Iterable[str],
    thing_kinds: Iterable[str],
    flagged: Iterable[str] = (),
) -> dict[str, KindCounts]:
    """Per action kind, over current actions in [start, end), in one pass: the number of
    distinct keys (a person kind's people, for ``flagged`` kinds only those whose flag is true;
    a thing kind's counted things, the action's ref standing for a missing one; any other
    kind's records) and the sum of quantities (each record once).

    Distinct keys are grouped first and counted after (a hash aggregate), not counted with
    COUNT(DISTINCT), which sorts per group."""
    person_kinds, thing_kinds, flagged = tuple(person_kinds), tuple(thing_kinds), tuple(flagged)
    key = case(
        (
            and_(
                Action.kind.in_(person_kinds),
                or_(Action.kind.not_in(flagged), Action.flag.is_(true())),
            ),
            Action.person_key,
        ),
        (
            Action.kind.in_(thing_kinds),
            func.coalesce(Action.counted_key, literal("action:") + Action.ref),
        ),
        else_=None,
    ).label("key")
    keyed = (
        select(
            Action.kind,
            key,
            func.sum(Action.quantity).label("quantity"),
            func.count().label("records"),
        )
        .where(_current_action(), *_in(Action.occurred_at, start, end), *_scoped(Action, scope))
        .group_by(Action.kind, key)
        .subquery()
    )
    _roomy(session)
    rows = session.execute(
        select(
            keyed.c.kind,
            func.count(keyed.c.key),
            func.coalesce(func.sum(case((keyed.c.key.is_(None), keyed.c.records), else_=0)), 0),
            func.coalesce(func.sum(keyed.c.quantity), 0),
        ).group_by(keyed.c.kind)
    ).all()
    out = {}
    for kind, keys, records, quantity in rows:
        distinct = keys if kind in person_kinds or kind in thing_kinds else records
        out[kind] = KindCounts(int(distinct), int(quantity))
    return out


def _roomy(session: Session) -> None:
    """On PostgreSQL, let this transaction's hash aggregates stay in memory (a year of a large
    force groups a few hundred thousand keys; the 4 MB default spills them to disk)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL work_mem = '256MB'"))


def distinct_persons(
    session: Session, kind: str, start: datetime, end: datetime, scope: Scope
) -> int:
    """Distinct people with a current action of ``kind`` in [start, end)."""
    people = (
        select(Action.person_key)
        .where(
            Action.kind == kind,
            Action.person_key.is_not(None),
            _current_action(),
            *_in(Action.occurred_at, start, end),
            *_scoped(Action, scope),
        )
        .group_by(Action.person_key)
        .subquery()
    )
    return int(session.scalar(select(func.count()).select_from(people)) or 0)


def distinct_children(session: Session, start: datetime, end: datetime, scope: Scope) -> int:
    keys = (
        select(ActionChild.child_key)
        .join(Action, Action.id == ActionChild.action_id)
        .where(
            Action.kind == "safeguarding",
            _current_action(),
            *_in(Action.occurred_at, start, end),
            *_scoped(Action, scope),
        )
        .group_by(ActionChild.child_key)
        .subquery()
    )
    return int(session.scalar(select(func.count()).select_from(keys)) or 0)


def solved_crimes(
    session: Session, start: datetime, end: datetime, scope: Scope, codes: Iterable[int]
) -> int:
    return int(
        session.scalar(
            select(func.count(func.distinct(CrimeOutcome.crime_ref))).where(
                CrimeOutcome.code.in_(tuple(codes)),
                _current_outcome(),
                *_in(CrimeOutcome.decided_at, start, end),
                *_scoped(CrimeOutcome, scope),
            )
        )
        or 0
    )


def outcomes_by_code(
    session: Session, start: datetime, end: datetime, scope: Scope
) -> dict[int, int]:
    rows = session.execute(
        select(CrimeOutcome.code, func.count(func.distinct(CrimeOutcome.crime_ref)))
        .where(
            _current_outcome(),
            *_in(CrimeOutcome.decided_at, start, end),
            *_scoped(CrimeOutcome, scope),
        )
        .group_by(CrimeOutcome.code)
    ).all()
    return {int(code): int(n) for code, n in rows}


def _arrested(start: datetime, end: datetime, scope: Scope):  # noqa: ANN202
    return (
        select(Action.person_key)
        .where(
            Action.kind == "arrest",
            Action.person_key.is_not(None),
            _current_action(),
            *_in(Action.occurred_at, start, end),
            *_scoped(Action, scope),
        )
        .distinct()
    )


def prior_knowledge_of_arrested(
    session: Session, start: datetime, end: datetime, scope: Scope
) -> tuple[int, int]:
    """(arrested people with a prior-knowledge record before ``end``, of whom the latest record
    says not previously known)."""
    arrested = _arrested(start, end, scope).subquery()
    ranked = (
        select(
            Action.person_key,
            Action.flag,
            func.row_number()
            .over(
                partition_by=Action.person_key,
                order_by=(Action.occurred_at.desc(), Action.ref.desc()),
            )
            .label("rank"),
        )
        .where(
            Action.kind == "prior_knowledge",
            Action.occurred_at < end,
            Action.person_key.in_(select(arrested.c.person_key)),
            _current_action(),
        )
        .subquery()
    )
    whole, unknown = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((ranked.c.flag.is_(false()), 1), else_=0)), 0),
        ).where(ranked.c.rank == 1)
    ).one()
    return int(whole), int(unknown)


def persons_of(
    session: Session,
    kind: str,
    start: datetime,
    end: datetime,
    scope: Scope,
    flag_required: bool = False,
) -> list[str]:
    query = select(Action.person_key).where(
        Action.kind == kind,
        Action.person_key.is_not(None),
        _current_action(),
        *_in(Action.occurred_at, start, end),
        *_scoped(Action, scope),
    )
    if flag_required:
        query = query.where(Action.flag.is_(true()))
    return sorted(set(session.scalars(query.distinct())))


def children_of(session: Session, start: datetime, end: datetime, scope: Scope) -> list[str]:
    return sorted(
        set(
            session.scalars(
                select(ActionChild.child_key)
                .join(Action, Action.id == ActionChild.action_id)
                .where(
                    Action.kind == "safeguarding",
                    _current_action(),
                    *_in(Action.occurred_at, start, end),
                    *_scoped(Action, scope),
                )
                .distinct()
            )
        )
    )


def arrests_by_band(
    session: Session, start: datetime, end: datetime, scope: Scope
) -> dict[str, int]:
    band = func.coalesce(Action.band, literal("not recorded"))
    rows = session.execute(
        select(band, func.count(func.distinct(Action.person_key)))
        .where(
            Action.kind == "arrest",
            _current_action(),
            *_in(Action.occurred_at, start, end),
            *_scoped(Action, scope),
        )
        .group_by(band)
    ).all()
    return {str(b): int(n) for b, n in rows}


def arrest_delays(
    session: Session, start: datetime, end: datetime, scope: Scope
) -> list[tuple[str, datetime, datetime]]:
    """(person, arrested at, referral received at) of arrests in the period with a referral."""
    rows = session.execute(
        select(Action.person_key, Action.occurred_at, Action.referral_received_at).where(
            Action.kind == "arrest",
            Action.referral_received_at.is_not(None),
            _current_action(),
            *_in(Action.occurred_at, start, end),
            *_scoped(Action, scope),
        )
    ).all()
    return [(p, a, r) for p, a, r in rows]


def outcome_delays(
    session: Session, start: datetime, end: datetime, scope: Scope
) -> list[tuple[str, datetime, datetime]]:
    rows = session.execute(
        select(
            CrimeOutcome.crime_ref, CrimeOutcome.decided_at, CrimeOutcome.referral_received_at
        ).where(
            CrimeOutcome.referral_received_at.is_not(None),
            _current_outcome(),
            *_in(CrimeOutcome.decided_at, start, end),
            *_scoped(CrimeOutcome, scope),
        )
    ).all()
    return [(c, d, r) for c, d, r in rows]


# --- force keys and roll-ups ---------------------------------------------------------------------


def add_force_key(session: Session, row: ForceKey) -> ForceKey:
    session.add(row)
    session.flush()
    return row


def force_key(session: Session, key_id: str) -> ForceKey | None:
    return session.scalar(
        select(ForceKey).where(ForceKey.key_id == key_id, ForceKey.revoked_at.is_(None))
    )


def force_keys(session: Session) -> list[ForceKey]:
    return list(session.scalars(select(ForceKey).order_by(ForceKey.force, ForceKey.id)))


def add_rollup(session: Session, row: RollupImport) -> RollupImport:
    session.add(row)
    session.flush()
    return row


def latest_rollups(
    session: Session, period_from: str, period_to: str, tz: str
) -> list[RollupImport]:
    """The newest import of each force for exactly this period."""
    rows = session.scalars(
        select(RollupImport)
        .where(
            RollupImport.period_from == period_from,
            RollupImport.period_to == period_to,
            RollupImport.tz == tz,
        )
        .order_by(RollupImport.force, RollupImport.id.desc())
    )
    newest: dict[str, RollupImport] = {}
    for row in rows:
        newest.setdefault(row.force, row)
    return list(newest.values())


# --- links to cases, exhibits and media ----------------------------------------------------------


def case_exists(session: Session, reference: str) -> bool:
    return session.scalar(select(Case.id).where(Case.reference == reference)) is not None


def missing_exhibits(session: Session, case_ref: str, exhibit_refs: Sequence[str]) -> list[str]:
    """The exhibit references that are not exhibits of the case."""
    found = set(
        session.scalars(
            select(Exhibit.reference)
            .join(Case, Case.id == Exhibit.case_id)
            .where(Case.reference == case_ref, Exhibit.reference.in_(list(exhibit_refs)))
        )
    )
    return [r for r in exhibit_refs if r not in found]


def first_generation_media(session: Session, sha256s: Sequence[str]) -> set[str]:
    """Those of the SHA-256s that are media some exhibit holds as first generation (``new``)."""
    return set(
        session.scalars(
            select(Media.sha256)
            .join(ExhibitMedia, ExhibitMedia.media_id == Media.id)
            .where(Media.sha256.in_(list(sha256s)), ExhibitMedia.status == "new")
        )
    )


@dataclass(frozen=True)
class TargetFacts:
    """What the store knows about an action's target: whether it exists, when the (earliest)
    referral behind it was received, and the latest KIRAT band recorded for it."""

    found: bool
    received_at: datetime | None = None
    band: str | None = None


def target_facts(session: Session, kind: str, ref: str) -> TargetFacts:
    if kind == "case":
        return TargetFacts(case_exists(session, ref))
    if kind == "referral":
        referral = subject_store.find_referral(session, ref)
        if referral is None:
            return TargetFacts(False)
        kirat = subject_store.latest_kirat(session, [referral.id])
        return TargetFacts(True, referral.received_at, kirat.band if kirat else None)
    if kind == "subject":
        found = subject_store.subject(session, ref)
        if found is None:
            return TargetFacts(False)
        referrals = subject_store.members(session, found.id)
        kirat = subject_store.latest_kirat(session, [r.id for r in referrals])
        first = min((r.received_at for r in referrals), default=None)
        return TargetFacts(True, first, kirat.band if kirat else None)
    return TargetFacts(False)

"""Generated actions and outcomes with known true totals (no real people: keys and references
are made up).

``snapshot_scenario`` builds records whose true statistics equal given targets while adding the
noise real records have, none of which may change a figure: people arrested twice, premises
searched twice, a child named in two safeguarding records, registered-sex-offender checks that
came back negative, records just outside the period (by the local calendar: the boundaries are
Europe/London midnights), and records about the same people in another unit.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from safeguard.outcomes.codes import OutcomeIn, OutcomeRecord
from safeguard.outcomes.kinds import TRUST_CATEGORIES, ActionIn
from safeguard.outcomes.periods import Period, zone

SNAPSHOT_2015 = {
    "children_safeguarded": 399,
    "arrests": 682,
    "premises_searched": 633,
    "warrants_executed": 651,
    "people_charged": 147,
    "registered_sex_offenders": 46,
    "contact_abuse": 32,
    "positions_of_trust": 104,
}
PERIOD_2015 = Period(date(2015, 1, 1), date(2015, 11, 27))
CASES = ("OP-KESTREL", "OP-HERON")


@dataclass(frozen=True)
class Scenario:
    period: Period
    force: str
    actions: tuple[ActionIn, ...]
    outcomes: tuple[OutcomeRecord, ...]
    #: A person counted in ``arrests`` (for the "one more arrest" check).
    an_arrested_person: str
    #: The cases (operations) the actions are recorded on: create them before recording.
    cases: tuple[str, ...] = ()


def _moment(rng: random.Random, period: Period) -> datetime:
    """A random time inside the period (local days)."""
    days = (period.last - period.first).days
    day = period.first + timedelta(days=rng.randint(0, days))
    local = datetime.combine(day, time(rng.randint(0, 23), rng.randint(0, 59)), zone(period.tz))
    return local.astimezone(UTC)


def _outside(rng: random.Random, period: Period) -> datetime:
    """A time just outside the period: a minute before its first local midnight or at the
    local midnight that ends it."""
    if rng.random() < 0.5:
        return period.start_utc - timedelta(minutes=rng.randint(1, 90))
    return period.end_utc + timedelta(minutes=rng.randint(0, 90))


def snapshot_scenario(
    targets: Mapping[str, int] = SNAPSHOT_2015,
    period: Period = PERIOD_2015,
    force: str = "WMP",
    seed: int = 2015,
) -> Scenario:
    rng = random.Random(seed)
    actions: list[ActionIn] = []
    outcomes: list[OutcomeRecord] = []
    t = dict(targets)

    def act(kind: str, person: str | None, when: datetime, **fields: object) -> None:
        case = rng.choice(CASES)
        actions.append(
            ActionIn(
                kind=kind,
                occurred_at=when,
                force=force,
                target_kind="case",
                target_ref=case,
                fields=fields,
                person_key=person,
                team="OCAIT",
                operation=case,
                band=rng.choice(("Low", "Medium", "High", "Very High")),
                referral_received_at=when - timedelta(days=rng.randint(5, 200)),
            )
        )

    people = [f"local:subject:S{seed}-{i:05d}" for i in range(t["arrests"])]
    for person in people:
        act("arrest", person, _moment(rng, period), offence="possession")
        if rng.random() < 0.15:  # arrested again in the period: still one person
            act("arrest", person, _moment(rng, period), offence="breach of bail")
    for _ in range(40):  # people arrested only outside the period
        act("arrest", f"local:subject:OUT-{rng.randint(1, 10**9)}", _outside(rng, period))
    sets = {}
    for key in (
        "people_charged",
        "registered_sex_offenders",
        "contact_abuse",
        "positions_of_trust",
    ):
        sets[key] = rng.sample(people, t[key])
    for n, person in enumerate(sets["people_charged"]):
        when = _moment(rng, period)
        act("charge", person, when, offences=["making indecent photographs of children"])
        if rng.random() < 0.3:
            act("charge", person, _moment(rng, period), offences=["distribution"])
        outcomes.append(
            OutcomeRecord(
                OutcomeIn(f"CR-{seed}-{n:05d}", 1, when.date()), when, force, team="OCAIT"
            )
        )
    for person in sets["registered_sex_offenders"]:
        act("rso_status", person, _moment(rng, period), registered=True)
    for person in rng.sample(people, 30):  # checked, not registered
        if person not in sets["registered_sex_offenders"]:
            act("rso_status", person, _moment(rng, period), registered=False)
    for person in sets["contact_abuse"]:
        act("contact_abuse", person, _moment(rng, period), basis="allegation")
        if rng.random() < 0.3:
            act("contact_abuse", person, _moment(rng, period), basis="conviction")
    for person in sets["positions_of_trust"]:
        act(
            "position_of_trust",
            person,
            _moment(rng, period),
            occupation=rng.choice(TRUST_CATEGORIES),
        )
    for i in range(t["premises_searched"]):
        premises = f"P-{seed}-{i:05d}"
        act("premises_searched", None, _moment(rng, period), premises=premises)
        if rng.random() < 0.1:
            act("premises_searched", None, _moment(rng, period), premises=premises)
    for i in range(t["warrants_executed"]):
        warrant = f"W-{seed}-{i:05d}"
        executed = _moment(rng, period)
        applied = executed - timedelta(hours=rng.randint(0, 48))  # may be before the period
        act("warrant_applied", None, applied, warrant_ref=warrant)
        act("warrant_executed", None, executed, warrant_ref=warrant)
    act("warrant_executed", None, _outside(rng, period), warrant_ref="W-OUTSIDE")
    # children: named children (some in two records) and unnamed ones counted by number
    remaining = t["children_safeguarded"]
    named = 0
    while remaining > 0:
        size = min(remaining, rng.randint(1, 3))
        if rng.random() < 0.6:
            keys = [f"local:child:C{seed}-{named + j:05d}" for j in range(size)]
            named += size
            act(
                "safeguarding",
                None,
                _moment(rng, period),
                children=size,
                how="childrens_services",
                child_keys=keys,
            )
            if rng.random() < 0.2:  # the same child again, removed from risk later
                act(
                    "safeguarding",
                    None,
                    _moment(rng, period),
                    children=1,
                    how="removed_from_risk",
                    child_keys=keys[:1],
                )
        else:
            act("safeguarding", None, _moment(rng, period), children=size, how="other")
        remaining -= size
    act("safeguarding", None, _outside(rng, period), children=2, how="other")
    rng.shuffle(actions)
    return Scenario(period, force, tuple(actions), tuple(outcomes), people[0], CASES)


#: The mix of a large force's year (kind, weight) for the benchmark.
YEAR_MIX = (
    ("arrest", 20),
    ("interview", 15),
    ("premises_searched", 12),
    ("warrant_applied", 8),
    ("warrant_executed", 8),
    ("devices_seized", 10),
    ("charge", 8),
    ("safeguarding", 8),
    ("rso_status", 3),
    ("position_of_trust", 2),
    ("contact_abuse", 2),
    ("prior_knowledge", 4),
)


def year_rows(
    n_actions: int, n_subjects: int, year: int, force: str = "BENCH", seed: int = 1
) -> Iterator[tuple[dict, list[str]]]:
    """Column values of ``n_actions`` current action rows over ``n_subjects`` people in one
    calendar year (UTC), for bulk loading; each with its child keys."""
    rng = random.Random(seed)
    kinds = [k for k, w in YEAR_MIX for _ in range(w)]
    start = datetime(year, 1, 1, tzinfo=UTC)
    span = int((datetime(year + 1, 1, 1, tzinfo=UTC) - start).total_seconds())
    for i in range(n_actions):
        kind = rng.choice(kinds)
        person = rng.randrange(n_subjects)
        when = start + timedelta(seconds=rng.randrange(span))
        ref = f"B-{i:08d}"
        row = {
            "ref": ref,
            "version": 1,
            "withdrawn": False,
            "kind": kind,
            "occurred_at": when,
            "force": force,
            "team": f"T{person % 7}",
            "operation": None,
            "target_kind": "subject",
            "target_ref": f"S{person}",
            "person_key": f"local:subject:S{person}",
            "counted_key": f"P{rng.randrange(n_subjects)}" if kind == "premises_searched" else None,
            "quantity": rng.randint(1, 6) if kind == "devices_seized" else None,
            "flag": rng.random() < 0.3 if kind in ("rso_status", "prior_knowledge") else None,
            "band": None,
            "referral_received_at": when - timedelta(days=rng.randint(1, 120)),
            "details": "{}",
            "recorded_by": "bench",
            "recorded_at": when,
        }
        children = (
            sorted(
                {f"local:child:K{rng.randrange(n_subjects * 2)}" for _ in range(rng.randint(1, 3))}
            )
            if kind == "safeguarding"
            else []
        )
        yield row, children

"""The statistics: each a written definition and a rule that counts a person, child or thing
once per period however many records touch it.

Only current records count (a corrected action counts as its newest version; a withdrawn one not
at all), and only those whose date falls in the period (see ``periods``). ``reference_figures``
is the rule in plain Python over fact rows: the SQL in ``store/outcomes.py`` must agree with it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from safeguard.outcomes.codes import SOLVED_CODES
from safeguard.outcomes.periods import Period


@dataclass(frozen=True)
class Statistic:
    key: str
    label: str
    definition: str
    count_once: str
    #: persons: distinct person keys of ``kind`` (with ``flag`` true where given);
    #: things: distinct counted keys of ``kind``; children: distinct child keys;
    #: sum: the sum of quantities; solved: distinct crimes with a solved outcome;
    #: percent: a share of another statistic's people.
    measure: str
    kind: str | None = None
    flag: bool | None = None
    #: A sum shown in other units (custodial months shown as years).
    divisor: int = 1


STATISTICS: tuple[Statistic, ...] = (
    Statistic(
        "children_safeguarded",
        "Children safeguarded",
        "Children for whom agencies took action to address concerns over their welfare "
        "(referral to children's services, removal from risk, or other action) in the period.",
        "Each child once: a child named in several safeguarding records is one child; a record "
        "without named children counts its stated number once.",
        "children",
        "safeguarding",
    ),
    Statistic(
        "arrests",
        "Arrests",
        "People arrested in the period.",
        "Each person once, however many times they were arrested in the period.",
        "persons",
        "arrest",
    ),
    Statistic(
        "premises_searched",
        "Premises searched",
        "Premises searched in the period.",
        "Each premises once (by its reference), however many searches it had.",
        "things",
        "premises_searched",
    ),
    Statistic(
        "warrants_executed",
        "Warrants executed",
        "Warrants executed in the period.",
        "Each warrant once (by its reference; an execution without one counts once).",
        "things",
        "warrant_executed",
    ),
    Statistic(
        "people_charged",
        "People charged to date",
        "People charged with at least one offence in the period.",
        "Each person once, however many charges or offences.",
        "persons",
        "charge",
    ),
    Statistic(
        "registered_sex_offenders",
        "Registered Sex Offenders",
        "People recorded in the period as registered sex offenders.",
        "Each person once.",
        "persons",
        "rso_status",
        flag=True,
    ),
    Statistic(
        "contact_abuse",
        "People with convictions or allegations of contact abuse",
        "People recorded in the period with a conviction or an allegation of contact abuse.",
        "Each person once, whether by allegation, conviction or both.",
        "persons",
        "contact_abuse",
    ),
    Statistic(
        "positions_of_trust",
        "People in positions of trust",
        "People recorded in the period as holding a position of trust (by occupation category).",
        "Each person once.",
        "persons",
        "position_of_trust",
    ),
    Statistic(
        "warrants_applied",
        "Warrants applied for",
        "Warrants applied for in the period.",
        "Each warrant once (by its reference).",
        "things",
        "warrant_applied",
    ),
    Statistic(
        "people_interviewed",
        "People interviewed",
        "People interviewed in the period.",
        "Each person once.",
        "persons",
        "interview",
    ),
    Statistic(
        "devices_seized",
        "Devices seized",
        "Devices seized in the period.",
        "The sum of the devices of each seizure record (each record once).",
        "sum",
        "devices_seized",
    ),
    Statistic(
        "people_convicted",
        "People convicted",
        "People convicted in the period.",
        "Each person once.",
        "persons",
        "conviction",
    ),
    Statistic(
        "custodial_years",
        "Years of custodial sentences",
        "Custodial sentences passed in the period, in years (months / 12, rounded down).",
        "Each sentence record once.",
        "sum",
        "sentence",
        divisor=12,
    ),
    Statistic(
        "victims_identified",
        "Victims identified",
        "Victims identified in the period (from first-generation material).",
        "Each victim once (by victim reference).",
        "things",
        "victim_identified",
    ),
    Statistic(
        "crimes_solved",
        "Crimes solved",
        "Crimes given a solved outcome in the period: Home Office outcome types "
        + ", ".join(str(c) for c in sorted(SOLVED_CODES))
        + " (charge/summons, cautions, taken into consideration, penalty notice, "
        "cannabis/khat warning, community resolution).",
        "Each crime once, by its crime reference.",
        "solved",
    ),
    Statistic(
        "arrested_not_previously_known_pct",
        "Of those arrested, not previously known to law enforcement (%)",
        "Of the people arrested in the period with a prior-knowledge record, the share whose "
        "latest record says they were not previously known to law enforcement.",
        "Each arrested person once.",
        "percent",
        "prior_knowledge",
    ),
)
BY_KEY = {s.key: s for s in STATISTICS}
#: The statistics whose counted keys are people or children (merged across forces nationally).
PERSON_MEASURES = frozenset({"persons", "children"})


@dataclass(frozen=True)
class ActionFact:
    """One current action row, as the statistics read it."""

    ref: str
    kind: str
    occurred_at: datetime
    person_key: str | None
    counted_key: str | None
    quantity: int | None
    flag: bool | None
    children: tuple[str, ...] = ()


@dataclass(frozen=True)
class OutcomeFact:
    crime_ref: str
    code: int
    decided_at: datetime


def reference_figures(
    actions: Iterable[ActionFact], outcomes: Iterable[OutcomeFact], period: Period
) -> dict[str, int]:
    """Every statistic for the period, straight from the definitions (the SQL's oracle)."""
    actions = list(actions)
    inside = [a for a in actions if period.contains(a.occurred_at)]
    out: dict[str, int] = {}
    arrested: set[str] = set()
    for stat in STATISTICS:
        rows = [a for a in inside if a.kind == stat.kind]
        if stat.measure == "persons":
            people = {
                a.person_key
                for a in rows
                if a.person_key and (stat.flag is None or a.flag == stat.flag)
            }
            out[stat.key] = len(people)
            if stat.key == "arrests":
                arrested = people
        elif stat.measure == "things":
            out[stat.key] = len({a.counted_key or f"action:{a.ref}" for a in rows})
        elif stat.measure == "children":
            out[stat.key] = len({c for a in rows for c in a.children})
        elif stat.measure == "sum":
            out[stat.key] = sum(a.quantity or 0 for a in rows) // stat.divisor
        elif stat.measure == "solved":
            out[stat.key] = len(
                {
                    o.crime_ref
                    for o in outcomes
                    if o.code in SOLVED_CODES and period.contains(o.decided_at)
                }
            )
        elif stat.measure == "percent":
            latest: dict[str, ActionFact] = {}
            for a in sorted(actions, key=lambda a: (a.occurred_at, a.ref)):
                known = a.kind == "prior_knowledge" and a.person_key in arrested
                if known and a.occurred_at < period.end_utc:
                    latest[a.person_key] = a
            out[stat.key] = percent(sum(1 for a in latest.values() if a.flag is False), len(latest))
    return out


def percent(part: int, whole: int) -> int:
    """A whole percentage, rounded half up; 0 of 0 is 0."""
    return (part * 200 + whole) // (2 * whole) if whole else 0


def export_key(force: str, key: str) -> str:
    """A person or child key as it leaves the force: keyed identifier hashes (``hid:``) as they
    are, so other forces' records of the same person meet them; any other (local) key hashed with
    the force's code, so two forces' local keys never collide and nothing local leaks."""
    if key.startswith("hid:"):
        return key
    return "loc:" + hashlib.sha256(f"{force}\x00{key}".encode()).hexdigest()[:40]


def labelled(values: Mapping[str, int]) -> list[tuple[Statistic, int]]:
    return [(s, values[s.key]) for s in STATISTICS if s.key in values]

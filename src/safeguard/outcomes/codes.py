"""Home Office crime outcome types (England and Wales), 1-22, with sub-codes and the extra
records outcomes 21 and 22 require.

Rules (``check_outcome``):
- the type is 1-22 and, where it has sub-codes, the sub-code is one of them (no sub-code where
  it has none);
- outcome 21 exists from 1 January 2016 and outcome 22 from 1 April 2019: a decision before that
  date cannot take them;
- outcome 21 records, for each of its five criteria (no exploitation, grooming, profit, malice,
  persistence), the reason the criterion is met, and what was done with the images;
- outcome 22 records the diversionary, educational or intervention activity;
- those records belong only to their outcome: giving them with another type is an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any


@dataclass(frozen=True)
class OutcomeType:
    code: int
    label: str
    #: A crime with this outcome counts as solved ("detected": a sanction or community outcome).
    solved: bool = False
    from_date: date | None = None
    sub_codes: Mapping[str, str] = field(default_factory=dict)


OUTCOME_TYPES: dict[int, OutcomeType] = {
    o.code: o
    for o in (
        OutcomeType(
            1,
            "Charge/summons",
            solved=True,
            sub_codes={"1A": "Charge/summons: alternative offence (offence charged differs)"},
        ),
        OutcomeType(2, "Youth caution", solved=True, sub_codes={"2A": "Youth conditional caution"}),
        OutcomeType(3, "Adult caution", solved=True, sub_codes={"3A": "Adult conditional caution"}),
        OutcomeType(4, "Taken into consideration", solved=True),
        OutcomeType(5, "Offender died"),
        OutcomeType(6, "Penalty notice for disorder", solved=True),
        OutcomeType(7, "Cannabis/khat warning", solved=True),
        OutcomeType(8, "Community resolution", solved=True),
        OutcomeType(9, "Prosecution not in the public interest (CPS)"),
        OutcomeType(10, "Formal action not in the public interest (police)"),
        OutcomeType(11, "Named suspect below the age of criminal responsibility"),
        OutcomeType(12, "Named suspect too ill to prosecute"),
        OutcomeType(13, "Victim or key witness dead or too ill"),
        OutcomeType(14, "Evidential difficulties: suspect not identified, victim does not support"),
        OutcomeType(15, "Evidential difficulties: suspect identified, victim supports"),
        OutcomeType(16, "Evidential difficulties: victim does not support"),
        OutcomeType(17, "Prosecution time limit expired"),
        OutcomeType(18, "Investigation complete, no suspect identified"),
        OutcomeType(19, "National Fraud Intelligence Bureau filed"),
        OutcomeType(20, "Action undertaken by another body or agency"),
        OutcomeType(
            21,
            "Further investigation to support formal action not in the public interest "
            "(police decision)",
            from_date=date(2016, 1, 1),
        ),
        OutcomeType(
            22,
            "Diversionary, educational or intervention activity; further action not in the "
            "public interest",
            from_date=date(2019, 4, 1),
        ),
    )
}

#: Outcome 21's criteria: for each, why it is met in this case.
CRITERIA_21 = ("no_exploitation", "no_grooming", "no_profit", "no_malice", "no_persistence")
IMAGES_DONE = ("deleted", "devices_seized_and_wiped", "retained_as_evidence", "other")
SOLVED_CODES = frozenset(c for c, o in OUTCOME_TYPES.items() if o.solved)
OUTCOME_FIELDS = {21: ("criteria_reasons", "images_action", "images_notes"), 22: ("diversion",)}
MAX_REASON = 2000


@dataclass(frozen=True)
class OutcomeIn:
    """An outcome for one crime, as a user gives it."""

    crime_ref: str
    code: int
    decided_on: date
    sub_code: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip()) and len(value) <= MAX_REASON


def check_outcome(outcome: OutcomeIn) -> list[str]:
    """Every problem with the outcome, each naming the outcome and field (empty when valid)."""
    problems: list[str] = []
    if not outcome.crime_ref or len(outcome.crime_ref) > 100:
        problems.append("the crime reference is required (at most 100 characters)")
    kind = OUTCOME_TYPES.get(outcome.code)
    if kind is None:
        return [*problems, f"outcome {outcome.code} does not exist: types are 1 to 22"]
    name = f"outcome {kind.code}"
    if outcome.sub_code is not None and outcome.sub_code not in kind.sub_codes:
        known = ", ".join(kind.sub_codes) or "none"
        problems.append(
            f"{name}: sub-code {outcome.sub_code!r} is not one of its sub-codes ({known})"
        )
    if kind.from_date and outcome.decided_on < kind.from_date:
        problems.append(
            f"{name} exists only from {kind.from_date:%d %B %Y}; "
            f"the decision is dated {outcome.decided_on:%d %B %Y}"
        )
    details = dict(outcome.details)
    for other, names in OUTCOME_FIELDS.items():
        if other != kind.code:
            for extra in names:
                if extra in details:
                    problems.append(f"{name}: {extra} belongs to outcome {other} only")
    allowed = set(OUTCOME_FIELDS.get(kind.code, ()))
    for extra in set(details) - allowed - {n for ns in OUTCOME_FIELDS.values() for n in ns}:
        problems.append(f"{name}: {extra} is not a field of an outcome")
    if kind.code == 21:
        reasons = details.get("criteria_reasons")
        if not isinstance(reasons, Mapping):
            problems.append(
                "outcome 21: criteria_reasons is required: why each criterion is met "
                f"({', '.join(CRITERIA_21)})"
            )
        else:
            for criterion in CRITERIA_21:
                if not _text(reasons.get(criterion)):
                    problems.append(f"outcome 21: the reason for {criterion} is missing")
            for extra in set(reasons) - set(CRITERIA_21):
                problems.append(f"outcome 21: {extra} is not one of its criteria")
        done = details.get("images_action")
        if done not in IMAGES_DONE:
            problems.append(
                "outcome 21: images_action (what was done with the images) is required, "
                f"one of {', '.join(IMAGES_DONE)}"
            )
        elif done == "other" and not _text(details.get("images_notes")):
            problems.append("outcome 21: images_notes must say what was done with the images")
    if kind.code == 22 and not _text(details.get("diversion")):
        problems.append(
            "outcome 22: diversion (the diversionary, educational or intervention activity) "
            "is required"
        )
    return problems


@dataclass(frozen=True)
class OutcomeRecord:
    """An outcome with where and when it was decided (times are aware datetimes)."""

    outcome: OutcomeIn
    decided_at: datetime
    force: str
    team: str | None = None
    operation: str | None = None
    target_kind: str | None = None
    target_ref: str | None = None
    person_key: str | None = None
    referral_received_at: datetime | None = None

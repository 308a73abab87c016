"""Action kinds and the fields each requires.

An action is something done after a referral or in a case (a warrant, a search, an arrest ...).
Each kind names its required and optional fields with their types; ``check_action`` returns every
problem at once (errors as values), and ``counting`` extracts what the statistics count once:
the person, the counted thing (premises, warrant, victim), a quantity and a flag.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import datetime
from typing import Any

TARGET_KINDS = ("subject", "referral", "case")
SAFEGUARDING_HOW = ("childrens_services", "removed_from_risk", "other")
CONTACT_ABUSE_BASIS = ("allegation", "conviction")
TRUST_CATEGORIES = (
    "education",
    "childcare",
    "health",
    "social_care",
    "sport_and_leisure",
    "faith",
    "police_and_security",
    "other",
)
BANDS = ("Low", "Medium", "High", "Very High")
MAX_TEXT = 2000
MAX_LIST = 1000

#: Field type names: str, int (>= 0), bool, str list, choice:<a|b>.
FieldType = str


@dataclass(frozen=True)
class ActionKind:
    name: str
    label: str
    required: Mapping[str, FieldType]
    optional: Mapping[str, FieldType]
    #: The action is about one person, who must be known (a person key).
    needs_person: bool = True
    #: The field whose value is counted once (e.g. the premises); the action's ref if absent.
    counted_field: str | None = None
    quantity_field: str | None = None
    flag_field: str | None = None


def _choice(values: tuple[str, ...]) -> str:
    return "choice:" + "|".join(values)


KINDS: dict[str, ActionKind] = {
    k.name: k
    for k in (
        ActionKind(
            "warrant_applied",
            "Warrant applied for",
            {},
            {"warrant_ref": "str", "court": "str", "premises": "str"},
            needs_person=False,
            counted_field="warrant_ref",
        ),
        ActionKind(
            "warrant_executed",
            "Warrant executed",
            {},
            {"warrant_ref": "str", "premises": "str"},
            needs_person=False,
            counted_field="warrant_ref",
        ),
        ActionKind(
            "premises_searched",
            "Premises searched",
            {"premises": "str"},
            {"warrant_ref": "str"},
            needs_person=False,
            counted_field="premises",
        ),
        ActionKind("arrest", "Arrest", {}, {"offence": "str", "custody_ref": "str"}),
        ActionKind("interview", "Interview", {}, {"interview_kind": "str"}),
        ActionKind(
            "devices_seized",
            "Devices seized",
            {"devices": "int"},
            {"exhibits": "list", "case": "str"},
            needs_person=False,
            quantity_field="devices",
        ),
        ActionKind("charge", "Charge", {"offences": "list"}, {"crime_refs": "list"}),
        ActionKind("conviction", "Conviction", {"offences": "list"}, {"court": "str"}),
        ActionKind(
            "sentence",
            "Sentence",
            {"custodial_months": "int"},
            {"sentence_kind": "str", "court": "str"},
            quantity_field="custodial_months",
        ),
        ActionKind(
            "bail_release",
            "Bail or release",
            {"status": _choice(("bail", "released_under_investigation", "no_further_action"))},
            {"conditions": "str"},
        ),
        ActionKind(
            "safeguarding",
            "Children safeguarded",
            {"children": "int", "how": _choice(SAFEGUARDING_HOW)},
            {"child_keys": "list", "notes": "str"},
            needs_person=False,
            quantity_field="children",
        ),
        ActionKind(
            "victim_identified",
            "Victim identified",
            {"victim_ref": "str"},
            {"media": "list"},
            needs_person=False,
            counted_field="victim_ref",
        ),
        ActionKind(
            "rso_status",
            "Registered sex offender status",
            {"registered": "bool"},
            {},
            flag_field="registered",
        ),
        ActionKind(
            "position_of_trust",
            "Position of trust",
            {"occupation": _choice(TRUST_CATEGORIES)},
            {"employer_notified": "bool"},
        ),
        ActionKind(
            "contact_abuse",
            "Contact abuse",
            {"basis": _choice(CONTACT_ABUSE_BASIS)},
            {"notes": "str"},
        ),
        ActionKind(
            "prior_knowledge",
            "Previously known to law enforcement",
            {"known": "bool"},
            {"for_child_abuse": "bool"},
            flag_field="known",
        ),
    )
}


@dataclass(frozen=True)
class Counting:
    """What the statistics read from one action (stored in columns so SQL can count)."""

    counted_key: str | None
    quantity: int | None
    flag: bool | None


def _check_value(name: str, kind: FieldType, value: Any) -> str | None:
    if kind == "str":
        if not isinstance(value, str) or not value.strip():
            return f"{name} must be non-empty text"
        if len(value) > MAX_TEXT:
            return f"{name} is longer than {MAX_TEXT} characters"
    elif kind == "int":
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            return f"{name} must be a whole number, 0 or more"
        if value > 1_000_000:
            return f"{name} is implausibly large"
    elif kind == "bool":
        if not isinstance(value, bool):
            return f"{name} must be true or false"
    elif kind == "list":
        if not isinstance(value, list) or not value:
            return f"{name} must be a non-empty list"
        if len(value) > MAX_LIST:
            return f"{name} has more than {MAX_LIST} entries"
        if not all(isinstance(v, str) and v.strip() and len(v) <= 200 for v in value):
            return f"{name} entries must be non-empty text of at most 200 characters"
    elif kind.startswith("choice:"):
        choices = kind.removeprefix("choice:").split("|")
        if value not in choices:
            return f"{name} must be one of {', '.join(choices)}"
    return None


def check_action(kind: str, fields: Mapping[str, Any], person_key: str | None) -> list[str]:
    """Every problem with an action of ``kind`` (empty when it may be recorded).

    Rule: the kind is known; every required field is present and well typed; no field outside
    the kind's own; an action about a person names that person; a safeguarding action lists at
    most as many child keys as children.
    """
    spec = KINDS.get(kind)
    if spec is None:
        return [f"unknown action kind {kind!r}; choose one of {', '.join(KINDS)}"]
    problems: list[str] = []
    for name in spec.required:
        if fields.get(name) is None:
            problems.append(f"{spec.label}: {name} is required")
    allowed = {**spec.required, **spec.optional}
    for name, value in fields.items():
        if name not in allowed:
            problems.append(f"{spec.label}: {name} is not a field of this action")
        elif value is not None and (error := _check_value(name, allowed[name], value)):
            problems.append(f"{spec.label}: {error}")
    if spec.needs_person and not person_key:
        problems.append(f"{spec.label}: the person is required (a subject or a person key)")
    if kind == "safeguarding" and not problems:
        keys = fields.get("child_keys") or []
        if len(keys) > fields["children"]:
            problems.append("Children safeguarded: more child keys than children")
        if len(set(keys)) != len(keys):
            problems.append("Children safeguarded: a child key is listed twice")
        if fields["children"] == 0:
            problems.append("Children safeguarded: children must be at least 1")
    return problems


def counting(kind: str, fields: Mapping[str, Any]) -> Counting:
    spec = KINDS[kind]
    counted = fields.get(spec.counted_field) if spec.counted_field else None
    quantity = fields.get(spec.quantity_field) if spec.quantity_field else None
    flag = fields.get(spec.flag_field) if spec.flag_field else None
    return Counting(counted.strip() if isinstance(counted, str) else None, quantity, flag)


def child_keys(action_ref: str, fields: Mapping[str, Any]) -> list[str]:
    """The children of a safeguarding action, each once: the given keys, then one anonymous key
    per remaining child (stable across corrections because it derives from the action's ref)."""
    given = [str(k) for k in fields.get("child_keys") or []]
    count = int(fields.get("children") or 0)
    return given + [f"anon:{action_ref}:{i}" for i in range(len(given), count)]


@dataclass(frozen=True)
class ActionIn:
    """An action as a user (or the generator) gives it; times are aware datetimes."""

    kind: str
    occurred_at: datetime
    force: str
    target_kind: str
    target_ref: str
    fields: Mapping[str, Any] = dataclass_field(default_factory=dict)
    person_key: str | None = None
    team: str | None = None
    operation: str | None = None
    band: str | None = None
    referral_received_at: datetime | None = None


def check_input(action: ActionIn) -> list[str]:
    """``check_action`` plus the parts every action shares (target, force, times, band)."""
    problems: list[str] = []
    if action.target_kind not in TARGET_KINDS:
        problems.append(f"the target must be one of {', '.join(TARGET_KINDS)}")
    if not action.target_ref.strip() or len(action.target_ref) > 100:
        problems.append("the target reference is required (at most 100 characters)")
    if not action.force.strip() or len(action.force) > 40:
        problems.append("the force is required (at most 40 characters)")
    for name in ("team", "operation"):
        value = getattr(action, name)
        if value is not None and (not value.strip() or len(value) > 100):
            problems.append(f"the {name} must be non-empty text of at most 100 characters")
    if action.person_key is not None and (
        not action.person_key.strip() or len(action.person_key) > 100
    ):
        problems.append("the person key must be non-empty text of at most 100 characters")
    if action.band is not None and action.band not in BANDS:
        problems.append(f"the band must be one of {', '.join(BANDS)}")
    if action.occurred_at.tzinfo is None:
        problems.append("the date of the action needs a time zone")
    received = action.referral_received_at
    if received is not None:
        if received.tzinfo is None:
            problems.append("the referral's received time needs a time zone")
        elif action.occurred_at.tzinfo is not None and received > action.occurred_at:
            problems.append("the referral was received after the action")
    return problems + check_action(action.kind, action.fields, action.person_key)


def parse_pairs(pairs: list[str]) -> tuple[dict[str, Any], list[str]]:
    """``name=value`` pairs (from a command line or a form's lines) as fields, and problems.
    A value that reads as JSON number, true/false or list is that; anything else is text; an
    empty value is None (a correction removes the field)."""
    import json

    out: dict[str, Any] = {}
    problems: list[str] = []
    for pair in pairs[:100]:
        if not pair.strip():
            continue
        name, sep, value = pair.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name:
            problems.append(f"fields are name=value, not {pair[:80]!r}")
            continue
        if value == "":
            out[name] = None
            continue
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = value
        out[name] = parsed if isinstance(parsed, int | bool | list) else value
    return out, problems

"""Referral priority: a score, a band and every factor with whether it applied and why.

The rule: each factor of the rule file (``config/priority_rules.toml`` by default; the unit
edits its own copy) is checked against the referral's facts and contributes its points when it
applies (0 when it does not); the score is the sum; the band is the highest band whose threshold
the score reaches, lifted to a factor's ``min_band`` when that factor applies. Points are never
negative (validated on load), so the generative-AI annotation, like every factor, can only raise
a score. A KIRAT band is an input recorded from elsewhere; it is never computed here.
Deterministic: the same facts, rules and ``now`` give the same assessment.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

DEFAULT_RULES = Path(__file__).resolve().parents[1] / "config" / "priority_rules.toml"
KIRAT_BANDS = ("Low", "Medium", "High", "Very High")
MAX_RULE_BYTES = 256 * 1024

#: Every factor the engine knows, with the parameters each requires (name -> type).
FACTORS: dict[str, dict[str, type | tuple[type, ...]]] = {
    "child_at_immediate_risk": {"points": int, "annotations": list, "incident_types": list},
    "access_to_children": {"points": int},
    "registered_sex_offender": {"points": int},
    "prior_referrals": {"points_each": int, "max_points": int},
    "first_generation": {"points": int},
    "possibly_self_produced": {"points": int},
    "highest_category": {
        "category": str,
        "min_count": int,
        "points": int,
        "points_each": int,
        "max_points": int,
    },
    "generative_ai": {"points": int},
    "esp_escalation": {"points": int},
    "referral_age": {"points_per_day": int, "max_points": int},
    "provider_deadline": {"within_days": int, "points": int},
    "kirat": {band: int for band in KIRAT_BANDS},
}
_OPTIONAL = {"min_band": str}


@dataclass(frozen=True)
class Kirat:
    """A KIRAT result made elsewhere (Safeguard never computes one)."""

    band: str
    version: str
    assessor: str
    assessed_on: str


@dataclass(frozen=True)
class PriorityFacts:
    """What the rules look at, gathered by the service from the store."""

    received_at: datetime
    incident_type: str | None = None
    annotations: frozenset[str] = frozenset()  # reportAnnotations
    file_annotations: frozenset[str] = frozenset()  # union over the referral's files
    escalate_to_high_priority: bool = False
    contact_abuse_alleged: bool = False
    position_of_trust: bool = False
    household_access: bool = False
    registered_sex_offender: bool = False
    prior_referrals: int = 0
    first_generation_count: int = 0
    category_counts: dict[str, int] = field(default_factory=dict)
    nearest_deadline: datetime | None = None
    kirat: Kirat | None = None


@dataclass(frozen=True)
class FactorResult:
    name: str
    applied: bool
    points: int
    reason: str


@dataclass(frozen=True)
class Assessment:
    score: int
    band: str
    factors: tuple[FactorResult, ...]
    rules_name: str
    rules_sha256: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "band": self.band,
            "rules": {"name": self.rules_name, "sha256": self.rules_sha256},
            "factors": [
                {"name": f.name, "applied": f.applied, "points": f.points, "reason": f.reason}
                for f in self.factors
            ],
        }


@dataclass(frozen=True)
class Rules:
    name: str
    bands: tuple[tuple[str, int], ...]  # highest threshold first
    factors: dict[str, dict[str, Any]]
    sha256: str

    def band_rank(self, band: str) -> int:
        """0 for the highest band."""
        return [b for b, _ in self.bands].index(band)


@dataclass(frozen=True)
class RuleError:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def load_rules(path: Path | None = None) -> Rules | RuleError:
    """Read and validate a rule file; a clear error names the file and the element."""
    path = path or DEFAULT_RULES
    try:
        if path.stat().st_size > MAX_RULE_BYTES:
            return RuleError(str(path), f"larger than {MAX_RULE_BYTES} bytes")
        data = path.read_bytes()
    except OSError as exc:
        return RuleError(str(path), f"cannot read: {exc.strerror or exc}")
    return parse_rules(data, str(path))


def parse_rules(data: bytes, where: str = "<rules>") -> Rules | RuleError:
    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        return RuleError(where, "not UTF-8 text")
    except tomllib.TOMLDecodeError as exc:
        return RuleError(where, f"not valid TOML: {exc}")
    if doc.get("version") != 1:
        return RuleError(where, "version: must be 1")
    bands = doc.get("bands")
    if not isinstance(bands, dict) or not bands:
        return RuleError(where, "[bands]: missing or empty (name = minimum score)")
    for name, threshold in bands.items():
        if type(threshold) is not int or threshold < 0:
            return RuleError(where, f"bands.{name}: must be a whole number >= 0")
    ordered = tuple(sorted(bands.items(), key=lambda kv: -kv[1]))
    if ordered[-1][1] != 0:
        return RuleError(where, "[bands]: the lowest band must start at 0")
    if len({t for _, t in ordered}) != len(ordered):
        return RuleError(where, "[bands]: two bands have the same threshold")
    factors = doc.get("factors")
    if not isinstance(factors, dict):
        return RuleError(where, "[factors]: missing")
    unknown = sorted(set(factors) - set(FACTORS))
    if unknown:
        return RuleError(
            where, f"factors.{unknown[0]}: unknown factor (known: {', '.join(FACTORS)})"
        )
    for name, params in FACTORS.items():
        table = factors.get(name)
        if not isinstance(table, dict):
            return RuleError(where, f"factors.{name}: missing (set its points to 0 to switch off)")
        for key in table:
            if key not in params and key not in _OPTIONAL:
                return RuleError(where, f"factors.{name}.{key}: unknown setting")
        for key, kind in params.items():
            if key not in table:
                return RuleError(where, f"factors.{name}.{key}: missing")
            value = table[key]
            if kind is int:
                if type(value) is not int or value < 0:
                    return RuleError(
                        where,
                        f"factors.{name}.{key}: must be a whole number >= 0 "
                        "(no factor may lower a score)",
                    )
            elif not isinstance(value, kind):
                return RuleError(where, f"factors.{name}.{key}: must be a {kind.__name__}")
            elif kind is list and not all(isinstance(v, str) for v in value):
                return RuleError(where, f"factors.{name}.{key}: must be a list of strings")
        if "min_band" in table and table["min_band"] not in bands:
            return RuleError(where, f"factors.{name}.min_band: no band {table['min_band']!r}")
    return Rules(
        name=str(doc.get("name", "unnamed")),
        bands=ordered,
        factors={k: dict(factors[k]) for k in FACTORS},
        sha256=hashlib.sha256(data).hexdigest(),
    )


def assess(facts: PriorityFacts, rules: Rules, now: datetime) -> Assessment:
    """Score, band and every factor (see the module rule)."""
    f = rules.factors
    results: list[FactorResult] = []

    def add(name: str, applied: bool, points: int, reason: str) -> None:
        results.append(FactorResult(name, applied, max(0, points) if applied else 0, reason))

    risk = f["child_at_immediate_risk"]
    hits = sorted(facts.annotations & set(risk["annotations"]))
    why = [f"annotation {a}" for a in hits]
    if facts.incident_type and facts.incident_type.lower() in {
        t.lower() for t in risk["incident_types"]
    }:
        why.append(f"incident type {facts.incident_type}")
    if facts.contact_abuse_alleged:
        why.append("contact abuse alleged (recorded by an analyst)")
    add(
        "child_at_immediate_risk",
        bool(why),
        risk["points"],
        "; ".join(why) or "no enticement, sextortion or contact abuse recorded",
    )

    access = []
    if facts.position_of_trust:
        access.append("position of trust")
    if facts.household_access:
        access.append("access to children in the household")
    add(
        "access_to_children",
        bool(access),
        f["access_to_children"]["points"],
        "; ".join(access) or "none recorded",
    )
    add(
        "registered_sex_offender",
        facts.registered_sex_offender,
        f["registered_sex_offender"]["points"],
        "registered sex offender (recorded)" if facts.registered_sex_offender else "not recorded",
    )

    prior = f["prior_referrals"]
    add(
        "prior_referrals",
        facts.prior_referrals > 0,
        min(prior["max_points"], prior["points_each"] * facts.prior_referrals),
        f"{facts.prior_referrals} prior referral(s) on the subject",
    )

    add(
        "first_generation",
        facts.first_generation_count > 0,
        f["first_generation"]["points"],
        f"{facts.first_generation_count} never-seen-before file(s)",
    )
    self_produced = "possibleSelfProduction" in facts.file_annotations
    add(
        "possibly_self_produced",
        self_produced,
        f["possibly_self_produced"]["points"],
        "a file is annotated possibleSelfProduction" if self_produced else "no file so annotated",
    )

    top = f["highest_category"]
    n = int(facts.category_counts.get(top["category"], 0))
    applies = n >= top["min_count"] and n > 0
    add(
        "highest_category",
        applies,
        min(top["max_points"], top["points"] + top["points_each"] * n),
        f"{n} file(s) at category {top['category']}",
    )

    genai = "generativeAi" in facts.file_annotations
    add(
        "generative_ai",
        genai,
        f["generative_ai"]["points"],
        "a file is annotated generativeAi (never lowers the score)"
        if genai
        else "no generativeAi annotation",
    )
    add(
        "esp_escalation",
        facts.escalate_to_high_priority,
        f["esp_escalation"]["points"],
        "the reporter asked for escalation" if facts.escalate_to_high_priority else "not asked",
    )

    age = f["referral_age"]
    days = max(0, (now - facts.received_at) // timedelta(days=1))
    add(
        "referral_age",
        days > 0,
        min(age["max_points"], age["points_per_day"] * days),
        f"waiting {days} day(s)",
    )

    dl = f["provider_deadline"]
    if facts.nearest_deadline is None:
        add("provider_deadline", False, 0, "no open provider request")
    else:
        left = facts.nearest_deadline - now
        soon = left <= timedelta(days=dl["within_days"])
        add(
            "provider_deadline",
            soon,
            dl["points"],
            f"nearest provider deadline {facts.nearest_deadline.date().isoformat()} "
            f"({left.days} day(s) left; threshold {dl['within_days']})",
        )

    k = facts.kirat
    if k is None:
        add("kirat", False, 0, "no KIRAT result recorded")
    else:
        add(
            "kirat",
            True,
            int(f["kirat"].get(k.band, 0)),
            f"KIRAT {k.band} (version {k.version}, by {k.assessor}, {k.assessed_on}; "
            "recorded, not computed)",
        )

    score = sum(r.points for r in results)
    band = next(name for name, threshold in rules.bands if score >= threshold)
    for r in results:
        floor = f[r.name].get("min_band")
        if r.applied and floor and rules.band_rank(floor) < rules.band_rank(band):
            band = floor
    return Assessment(score, band, tuple(results), rules.name, rules.sha256)


def queue_order(band_rank: int, received_at: datetime) -> tuple[int, datetime]:
    """The queue's sort key: band first (highest first), then oldest first."""
    return (band_rank, received_at)

"""Priority rules: every factor applying and not, bands, floors, bad rule files."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safeguard.referrals.priority import (
    DEFAULT_RULES,
    FACTORS,
    Kirat,
    PriorityFacts,
    RuleError,
    Rules,
    assess,
    load_rules,
    parse_rules,
)

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
BASE = PriorityFacts(received_at=NOW)


@pytest.fixture(scope="module")
def rules() -> Rules:
    loaded = load_rules()
    assert isinstance(loaded, Rules), loaded
    return loaded


#: For each factor: facts under which it applies.
APPLIES: dict[str, dict] = {
    "child_at_immediate_risk": {"annotations": frozenset({"sextortion"})},
    "access_to_children": {"position_of_trust": True},
    "registered_sex_offender": {"registered_sex_offender": True},
    "prior_referrals": {"prior_referrals": 2},
    "first_generation": {"first_generation_count": 3},
    "possibly_self_produced": {"file_annotations": frozenset({"possibleSelfProduction"})},
    "highest_category": {"category_counts": {"A": 4, "B": 2}},
    "generative_ai": {"file_annotations": frozenset({"generativeAi"})},
    "esp_escalation": {"escalate_to_high_priority": True},
    "referral_age": {"received_at": NOW - timedelta(days=5)},
    "provider_deadline": {"nearest_deadline": NOW + timedelta(days=3)},
    "kirat": {"kirat": Kirat("High", "3.1", "DC Example", "2026-11-30")},
}

#: And facts close to those under which it does not.
DOES_NOT: dict[str, dict] = {
    "child_at_immediate_risk": {"annotations": frozenset({"spam"})},
    "access_to_children": {},
    "registered_sex_offender": {},
    "prior_referrals": {"prior_referrals": 0},
    "first_generation": {"first_generation_count": 0},
    "possibly_self_produced": {"file_annotations": frozenset({"viral"})},
    "highest_category": {"category_counts": {"B": 9}},
    "generative_ai": {"file_annotations": frozenset({"potentialMeme"})},
    "esp_escalation": {"escalate_to_high_priority": False},
    "referral_age": {"received_at": NOW - timedelta(hours=3)},
    "provider_deadline": {"nearest_deadline": NOW + timedelta(days=30)},
    "kirat": {"kirat": None},
}


def _factor(assessment, name):  # noqa: ANN001, ANN202
    return next(f for f in assessment.factors if f.name == name)


def test_every_factor_is_listed_in_every_assessment(rules: Rules) -> None:
    result = assess(BASE, rules, NOW)
    assert [f.name for f in result.factors] == list(FACTORS)
    assert not any(f.applied for f in result.factors)
    assert result.score == 0 and result.band == "low"


@pytest.mark.parametrize("name", list(FACTORS))
def test_each_factor_applies_and_does_not(rules: Rules, name: str) -> None:
    on = assess(dataclasses.replace(BASE, **APPLIES[name]), rules, NOW)
    off = assess(dataclasses.replace(BASE, **DOES_NOT[name]), rules, NOW)
    f_on, f_off = _factor(on, name), _factor(off, name)
    assert f_on.applied and f_on.points > 0 and f_on.reason
    assert not f_off.applied and f_off.points == 0 and f_off.reason
    assert on.score - off.score == f_on.points
    others_on = [f for f in on.factors if f.name != name and f.applied]
    assert others_on == []


def test_points_follow_the_rule_file(rules: Rules) -> None:
    f = rules.factors
    r = assess(dataclasses.replace(BASE, prior_referrals=10, category_counts={"A": 3}), rules, NOW)
    assert _factor(r, "prior_referrals").points == f["prior_referrals"]["max_points"]
    top = f["highest_category"]
    assert _factor(r, "highest_category").points == min(
        top["max_points"], top["points"] + 3 * top["points_each"]
    )
    k = assess(
        dataclasses.replace(BASE, kirat=Kirat("Very High", "3", "x", "2026-01-01")), rules, NOW
    )
    assert _factor(k, "kirat").points == f["kirat"]["Very High"]
    assert "recorded, not computed" in _factor(k, "kirat").reason


def test_bands_and_floors(rules: Rules) -> None:
    risk = assess(
        dataclasses.replace(BASE, incident_type="Online Enticement of Children for Sexual Acts"),
        rules,
        NOW,
    )
    assert risk.band == "immediate"  # min_band lifts it whatever the score
    rso = assess(dataclasses.replace(BASE, registered_sex_offender=True), rules, NOW)
    assert rso.band == "high"
    medium = assess(
        dataclasses.replace(BASE, first_generation_count=1, escalate_to_high_priority=True),
        rules,
        NOW,
    )
    assert medium.score == 30 and medium.band == "medium"


@settings(max_examples=80, deadline=None)
@given(
    st.frozensets(st.sampled_from(["sextortion", "spam", "csamSolicitation"])),
    st.booleans(),
    st.booleans(),
    st.integers(0, 5),
    st.integers(0, 5),
    st.sampled_from([None, "Low", "Medium", "High", "Very High"]),
)
def test_generative_ai_never_lowers_a_score(annotations, trust, rso, prior, new, kirat) -> None:
    rules = load_rules()
    facts = PriorityFacts(
        received_at=NOW - timedelta(days=prior),
        annotations=annotations,
        position_of_trust=trust,
        registered_sex_offender=rso,
        prior_referrals=prior,
        first_generation_count=new,
        kirat=Kirat(kirat, "3", "a", "2026-01-01") if kirat else None,
    )
    without = assess(facts, rules, NOW)
    with_ai = assess(
        dataclasses.replace(facts, file_annotations=frozenset({"generativeAi"})), rules, NOW
    )
    assert with_ai.score >= without.score
    assert rules.band_rank(with_ai.band) <= rules.band_rank(without.band)


def _edit(old: str, new: str) -> bytes:
    text = DEFAULT_RULES.read_text()
    assert old in text
    return text.replace(old, new, 1).encode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"version = 1\n[bands\n", "not valid TOML"),
        (b"\xff\xfe", "not UTF-8"),
        (_edit("version = 1", "version = 2"), "version: must be 1"),
        (
            _edit("[factors.generative_ai]\npoints = 5", "[factors.generative_ai]\npoints = -5"),
            "factors.generative_ai.points: must be a whole number >= 0",
        ),
        (
            _edit("[factors.kirat]", "[factors.magic]\npoints = 1\n\n[factors.kirat]"),
            "factors.magic: unknown factor",
        ),
        (_edit("[factors.esp_escalation]\npoints = 10\n", ""), "factors.esp_escalation: missing"),
        (_edit("low = 0", "low = 5"), "the lowest band must start at 0"),
        (_edit('min_band = "high"', 'min_band = "urgent"'), "no band 'urgent'"),
        (_edit("within_days = 7", 'within_days = "seven"'), "within_days: must be a whole"),
        (_edit("points_per_day = 1", "points_per_day = 1\nbonus = 2"), "bonus: unknown setting"),
    ],
)
def test_bad_rule_files_give_a_clear_error(data: bytes, message: str) -> None:
    result = parse_rules(data, "unit-rules.toml")
    assert isinstance(result, RuleError)
    assert str(result).startswith("unit-rules.toml: ")
    assert message in str(result)


def test_missing_and_oversized_rule_files(tmp_path: Path) -> None:
    missing = load_rules(tmp_path / "none.toml")
    assert isinstance(missing, RuleError) and "cannot read" in str(missing)
    big = tmp_path / "big.toml"
    big.write_bytes(b"#" * (300 * 1024))
    assert "larger than" in str(load_rules(big))


def test_an_edited_rule_file_changes_the_outcome_and_its_hash(tmp_path: Path) -> None:
    edited = parse_rules(
        _edit("[factors.first_generation]\npoints = 20", "[factors.first_generation]\npoints = 55")
    )
    default = load_rules()
    assert isinstance(edited, Rules) and edited.sha256 != default.sha256
    facts = dataclasses.replace(BASE, first_generation_count=1)
    assert assess(facts, edited, NOW).band == "high"
    assert assess(facts, default, NOW).band == "low"


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=300),
        st.text(max_size=300).map(str.encode),
        st.dictionaries(
            st.sampled_from(["version", "bands", "factors", "name"]),
            st.one_of(
                st.integers(-3, 3),
                st.text(max_size=5),
                st.dictionaries(st.text(max_size=6), st.integers(-5, 90), max_size=4),
            ),
            max_size=4,
        ).map(
            lambda d: "\n".join(
                f"{k} = {v!r}"
                if not isinstance(v, dict)
                else f"[{k}]\n" + "\n".join(f'"{a}" = {b}' for a, b in v.items())
                for k, v in d.items()
            ).encode()
        ),
    )
)
def test_any_rule_file_gives_rules_or_an_error_never_an_exception(data: bytes) -> None:
    result = parse_rules(data, "fuzz.toml")
    assert isinstance(result, Rules | RuleError)
    if isinstance(result, RuleError):
        assert str(result).startswith("fuzz.toml: ")

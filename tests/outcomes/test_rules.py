"""Pure rules: outcome types 21 and 22, action fields, periods and time zones."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safeguard.outcomes.codes import CRITERIA_21, OUTCOME_TYPES, OutcomeIn, check_outcome
from safeguard.outcomes.kinds import check_action, child_keys
from safeguard.outcomes.periods import Period, PeriodError, parse_moment

REASONS = {c: f"because {c}" for c in CRITERIA_21}


def test_outcome_21_needs_a_reason_for_each_criterion_and_what_was_done_with_the_images() -> None:
    ok = OutcomeIn(
        "CR-1",
        21,
        date(2023, 5, 1),
        details={"criteria_reasons": REASONS, "images_action": "deleted"},
    )
    assert check_outcome(ok) == []
    missing = dict(REASONS)
    del missing["no_grooming"]
    bad = OutcomeIn("CR-1", 21, date(2023, 5, 1), details={"criteria_reasons": missing})
    problems = check_outcome(bad)
    assert "outcome 21: the reason for no_grooming is missing" in problems
    assert any("images_action" in p for p in problems)
    assert len(problems) == 2


def test_outcome_21_other_images_action_needs_notes_and_blank_reasons_do_not_count() -> None:
    blank = {**REASONS, "no_malice": "   "}
    problems = check_outcome(
        OutcomeIn(
            "CR-1",
            21,
            date(2023, 5, 1),
            details={"criteria_reasons": blank, "images_action": "other"},
        )
    )
    assert problems == [
        "outcome 21: the reason for no_malice is missing",
        "outcome 21: images_notes must say what was done with the images",
    ]


def test_outcome_22_needs_the_diversionary_activity() -> None:
    assert check_outcome(OutcomeIn("CR-2", 22, date(2020, 1, 1))) == [
        "outcome 22: diversion (the diversionary, educational or intervention activity) is required"
    ]
    assert (
        check_outcome(
            OutcomeIn("CR-2", 22, date(2020, 1, 1), details={"diversion": "education course"})
        )
        == []
    )


def test_outcomes_21_and_22_do_not_exist_before_their_start_dates() -> None:
    early_21 = OutcomeIn(
        "CR",
        21,
        date(2015, 12, 31),
        details={"criteria_reasons": REASONS, "images_action": "deleted"},
    )
    assert check_outcome(early_21) == [
        "outcome 21 exists only from 01 January 2016; the decision is dated 31 December 2015"
    ]
    early_22 = OutcomeIn("CR", 22, date(2019, 3, 31), details={"diversion": "x"})
    assert len(check_outcome(early_22)) == 1
    assert check_outcome(OutcomeIn("CR", 22, date(2019, 4, 1), details={"diversion": "x"})) == []


def test_invalid_combinations_are_named() -> None:
    assert check_outcome(OutcomeIn("CR", 23, date(2020, 1, 1))) == [
        "outcome 23 does not exist: types are 1 to 22"
    ]
    wrong_fields = check_outcome(
        OutcomeIn("CR", 1, date(2020, 1, 1), details={"diversion": "course"})
    )
    assert wrong_fields == ["outcome 1: diversion belongs to outcome 22 only"]
    assert check_outcome(OutcomeIn("CR", 1, date(2020, 1, 1), sub_code="1A")) == []
    assert "sub-code '3A'" in check_outcome(OutcomeIn("CR", 1, date(2020, 1, 1), sub_code="3A"))[0]
    assert "sub-code" in check_outcome(OutcomeIn("CR", 5, date(2020, 1, 1), sub_code="5A"))[0]


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    code=st.integers(-5, 30),
    day=st.dates(date(2010, 1, 1), date(2030, 1, 1)),
    details=st.dictionaries(
        st.sampled_from(["criteria_reasons", "images_action", "diversion", "images_notes", "x"]),
        st.one_of(
            st.text(max_size=5),
            st.none(),
            st.dictionaries(st.sampled_from([*CRITERIA_21, "x"]), st.sampled_from(["", " ", "r"])),
        ),
        max_size=4,
    ),
)
def test_check_outcome_never_raises_and_valid_means_the_rules_hold(code, day, details) -> None:
    problems = check_outcome(OutcomeIn("CR", code, day, details=details))
    if not problems:
        kind = OUTCOME_TYPES[code]
        assert kind.from_date is None or day >= kind.from_date
        if code == 21:
            assert all(details["criteria_reasons"][c].strip() for c in CRITERIA_21)
        if code == 22:
            assert details["diversion"].strip()
        if code not in (21, 22):
            assert not set(details) & {"criteria_reasons", "images_action", "diversion"}


def test_action_fields_are_checked_each_with_its_name() -> None:
    assert check_action("arrest", {}, "local:subject:S1") == []
    assert check_action("arrest", {}, None) == [
        "Arrest: the person is required (a subject or a person key)"
    ]
    assert check_action("sentence", {"custodial_months": -1}, "p") == [
        "Sentence: custodial_months must be a whole number, 0 or more"
    ]
    assert check_action("safeguarding", {"children": 2}, None) == [
        "Children safeguarded: how is required"
    ]
    assert check_action("teleport", {}, None)[0].startswith("unknown action kind 'teleport'")
    assert check_action("arrest", {"colour": "red"}, "p") == [
        "Arrest: colour is not a field of this action"
    ]
    assert check_action(
        "safeguarding", {"children": 1, "how": "other", "child_keys": ["a", "b"]}, None
    ) == ["Children safeguarded: more child keys than children"]


def test_unnamed_children_get_keys_stable_for_the_action() -> None:
    fields = {"children": 3, "how": "other", "child_keys": ["local:child:A"]}
    assert child_keys("A-1", fields) == ["local:child:A", "anon:A-1:1", "anon:A-1:2"]
    assert child_keys("A-1", fields) == child_keys("A-1", dict(fields))


# --- periods and time zones ----------------------------------------------------------------------


def test_a_bst_day_starts_at_23_utc_the_evening_before() -> None:
    july = Period(date(2015, 7, 1), date(2015, 7, 31))
    assert july.start_utc == datetime(2015, 6, 30, 23, 0, tzinfo=UTC)
    assert july.end_utc == datetime(2015, 7, 31, 23, 0, tzinfo=UTC)
    assert july.contains(datetime(2015, 6, 30, 23, 30, tzinfo=UTC))  # 00:30 BST on 1 July
    assert not july.contains(datetime(2015, 7, 31, 23, 0, tzinfo=UTC))  # midnight 1 August
    winter = Period(date(2015, 1, 1), date(2015, 1, 31))
    assert winter.start_utc == datetime(2015, 1, 1, tzinfo=UTC)


def test_the_clock_change_day_has_23_hours_and_the_period_is_still_whole_days() -> None:
    change = Period(date(2015, 3, 29), date(2015, 3, 29))  # clocks went forward at 01:00 UTC
    assert change.end_utc - change.start_utc == timedelta(hours=23)
    back = Period(date(2015, 10, 25), date(2015, 10, 25))
    assert back.end_utc - back.start_utc == timedelta(hours=25)


def test_the_last_day_is_included_and_another_zone_moves_the_bounds() -> None:
    period = Period(date(2015, 1, 1), date(2015, 11, 27))
    assert period.contains(datetime(2015, 11, 27, 23, 59, tzinfo=UTC))
    assert not period.contains(datetime(2015, 11, 28, 0, 0, tzinfo=UTC))
    utc = Period(date(2015, 7, 1), date(2015, 7, 1), "UTC")
    assert not utc.contains(datetime(2015, 6, 30, 23, 30, tzinfo=UTC))
    with pytest.raises(PeriodError):
        Period(date(2015, 7, 2), date(2015, 7, 1))
    with pytest.raises(PeriodError):
        Period(date(2015, 7, 1), date(2015, 7, 2), "Mars/Olympus")


def test_times_without_an_offset_are_local_and_a_date_is_its_local_noon() -> None:
    assert parse_moment("2015-07-01T00:30") == datetime(2015, 6, 30, 23, 30, tzinfo=UTC)
    assert parse_moment("2015-07-01T00:30Z") == datetime(2015, 7, 1, 0, 30, tzinfo=UTC)
    assert parse_moment("2015-07-01") == datetime(2015, 7, 1, 11, 0, tzinfo=UTC)
    with pytest.raises(PeriodError):
        parse_moment("yesterday")


def test_year_before_and_months() -> None:
    leap = Period(date(2024, 2, 29), date(2024, 3, 31))
    assert leap.year_before() == Period(date(2023, 2, 28), date(2023, 3, 31))
    months = Period(date(2022, 12, 1), date(2023, 11, 30)).months()
    assert len(months) == 12 and months[0].last == date(2022, 12, 31)
    assert months[-1] == Period(date(2023, 11, 1), date(2023, 11, 30))


@settings(deadline=None)
@given(st.dates(date(2000, 1, 1), date(2040, 1, 1)), st.integers(0, 800))
def test_months_tile_the_period_exactly(first: date, length: int) -> None:
    period = Period(first, first + timedelta(days=length))
    months = period.months()
    assert months[0].start_utc == period.start_utc and months[-1].end_utc == period.end_utc
    for a, b in zip(months, months[1:], strict=False):
        assert a.end_utc == b.start_utc

"""Consensus: N agreeing votes make a grade final, any dissent goes to a supervisor, and the
outcome never depends on the order the votes came in."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safeguard.review.consensus import (
    CONSENSUS,
    DISPUTED,
    FINAL,
    MODERATION,
    PENDING,
    Ballot,
    Grade,
    decide,
)


def ballots(*categories: str) -> list[Ballot]:
    return [Ballot(i + 1, Grade(c)) for i, c in enumerate(categories)]


def test_three_agreeing_votes_make_a_grade_final() -> None:
    assert decide(ballots("A", "A"), 3).state == PENDING
    outcome = decide(ballots("A", "A", "A"), 3)
    assert (outcome.state, outcome.grade.category, outcome.method) == (FINAL, "A", CONSENSUS)


def test_the_threshold_is_configurable() -> None:
    assert decide(ballots("C"), 1).state == FINAL
    assert decide(ballots("C", "C", "C"), 5).state == PENDING


def test_any_disagreement_goes_to_moderation_even_after_agreement() -> None:
    assert decide(ballots("A", "B"), 3).state == DISPUTED
    assert decide(ballots("A", "A", "A", "N"), 3).state == DISPUTED


def test_the_supervisors_decision_is_final() -> None:
    outcome = decide(ballots("A", "B"), 3, decision=Grade("B", victim_identified=True))
    assert (outcome.state, outcome.method, outcome.grade.category) == (FINAL, MODERATION, "B")
    assert outcome.grade.victim_identified


def test_flags_set_by_any_agreeing_reviewer_are_kept() -> None:
    votes = [
        Ballot(1, Grade("A", series=True)),
        Ballot(2, Grade("A", ai_generated=True)),
        Ballot(3, Grade("A")),
    ]
    grade = decide(votes, 3).grade
    assert grade.series and grade.ai_generated
    assert not grade.victim_identified and not grade.self_generated


def test_a_reviewer_votes_once() -> None:
    with pytest.raises(ValueError, match="once"):
        decide([Ballot(1, Grade("A")), Ballot(1, Grade("A"))], 3)


grades = st.builds(
    Grade,
    category=st.sampled_from(["A", "B", "C", "N"]),
    victim_identified=st.booleans(),
    series=st.booleans(),
    self_generated=st.booleans(),
    ai_generated=st.booleans(),
)


@settings(max_examples=200, deadline=None)
@given(
    votes=st.lists(grades, min_size=0, max_size=7),
    required=st.integers(1, 5),
    decision=st.none() | grades,
    data=st.data(),
)
def test_votes_in_any_order_reach_the_same_outcome(votes, required, decision, data) -> None:
    cast = [Ballot(i, g) for i, g in enumerate(votes)]
    shuffled = data.draw(st.permutations(cast))
    assert decide(shuffled, required, decision) == decide(cast, required, decision)
    # Folding vote by vote (as the service does, recomputing after each) ends the same way.
    seen: list[Ballot] = []
    for ballot in shuffled:
        seen.append(ballot)
        last = decide(seen, required, decision)
    if cast:
        assert last == decide(cast, required, decision)

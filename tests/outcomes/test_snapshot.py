"""The 2015 snapshot: a generated scenario whose true totals are the published figures, and
``safeguard stats`` printing exactly them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from safeguard.cli.main import app as cli
from safeguard.outcomes import services as svc
from safeguard.outcomes.kinds import ActionIn
from safeguard.outcomes.statistics import ActionFact, OutcomeFact, reference_figures
from safeguard.outcomes.synthetic import PERIOD_2015, SNAPSHOT_2015, snapshot_scenario
from safeguard.store.database import session_scope
from safeguard.store.outcome_models import Action, ActionChild
from tests.outcomes.conftest import People

EXPECTED_TEXT = [
    "Children safeguarded: 399",
    "Arrests: 682",
    "Premises searched: 633",
    "Warrants executed: 651",
    "People charged to date: 147",
    "Registered Sex Offenders: 46",
    "People with convictions or allegations of contact abuse: 32",
    "People in positions of trust: 104",
]


def _load(people: People):  # noqa: ANN202
    scenario = snapshot_scenario()
    assert set(scenario.cases) <= {"OP-KESTREL", "OP-HERON"}  # created by the fixture
    with session_scope(people.url) as session:
        svc.record_actions(session, people.analyst, scenario.actions, "scenario 2015")
        for outcome in scenario.outcomes:
            svc.record_outcome(session, people.analyst, outcome)
    return scenario


@pytest.mark.slow
def test_stats_prints_the_2015_snapshot_and_a_repeat_arrest_changes_nothing(
    people: People,
) -> None:
    scenario = _load(people)
    runner = CliRunner()
    args = ["stats", "--from", "2015-01-01", "--to", "2015-11-27", "--user", "ana"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[1:9] == EXPECTED_TEXT
    # the scenario's figures come from its own truth, not from the code under test
    with session_scope(people.url) as session:
        figures = svc.figures(session, PERIOD_2015).values
    assert {k: figures[k] for k in SNAPSHOT_2015} == SNAPSHOT_2015

    # one more arrest of a person already counted, in the same period
    with session_scope(people.url) as session:
        svc.record_action(
            session,
            people.analyst,
            ActionIn(
                "arrest",
                PERIOD_2015.start_utc + timedelta(days=100),
                "WMP",
                "case",
                "OP-KESTREL",
                person_key=scenario.an_arrested_person,
            ),
        )
    again = runner.invoke(cli, args)
    assert again.output == result.output

    as_json = runner.invoke(cli, [*args, "--format", "json"])
    assert as_json.exit_code == 0
    rows = {r["statistic"]: r["value"] for r in json.loads(as_json.output)["rows"]}
    assert rows["Arrests"] == 682 and rows["Children safeguarded"] == 399


def _utc(moment: datetime) -> datetime:
    """SQLite gives back the stored UTC time without its zone."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def test_the_sql_agrees_with_the_definitions_on_the_scenario(people: People) -> None:
    """The database's counts equal the plain-Python definitions over the same rows, for the
    period and for periods cut across it (the oracle is independent of the SQL)."""
    scenario = snapshot_scenario({k: max(1, v // 20) for k, v in SNAPSHOT_2015.items()}, seed=7)
    with session_scope(people.url) as session:
        svc.record_actions(session, people.analyst, scenario.actions, "small scenario")
        for outcome in scenario.outcomes:
            svc.record_outcome(session, people.analyst, outcome)
    with session_scope(people.url) as session:
        children: dict[int, list[str]] = {}
        for action_id, key in session.query(ActionChild.action_id, ActionChild.child_key):
            children.setdefault(action_id, []).append(key)
        facts = [
            ActionFact(
                a.ref,
                a.kind,
                _utc(a.occurred_at),
                a.person_key,
                a.counted_key,
                a.quantity,
                a.flag,
                tuple(children.get(a.id, ())),
            )
            for a in session.query(Action)
        ]
        outcomes = [
            OutcomeFact(o.outcome.crime_ref, o.outcome.code, o.decided_at)
            for o in scenario.outcomes
        ]
        for period in [PERIOD_2015, *PERIOD_2015.months()[:3]]:
            assert svc.figures(session, period).values == reference_figures(facts, outcomes, period)

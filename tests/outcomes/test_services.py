"""Services on both databases: corrections keep history, role checks, audit, period bounds."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from safeguard.outcomes import services as svc
from safeguard.outcomes.codes import CRITERIA_21, OutcomeIn, OutcomeRecord
from safeguard.outcomes.kinds import ActionIn
from safeguard.outcomes.periods import Period
from safeguard.store import audit
from safeguard.store.database import session_scope
from safeguard.store.outcomes import Scope
from tests.outcomes.conftest import People


def arrest(person: str, when: datetime, force: str = "WMP", **extra) -> ActionIn:  # noqa: ANN003
    return ActionIn("arrest", when, force, "case", "OP-T", person_key=person, **extra)


def _audit_actions(url: str) -> list[tuple[str, str | None, dict]]:
    with session_scope(url) as session:
        return [
            (e["action"], e["username"], e["detail"]) for e in reversed(audit.recent(session, 100))
        ]


def test_a_correction_is_a_new_version_and_the_old_one_stays(people: People) -> None:
    july = Period(date(2015, 7, 1), date(2015, 7, 31))
    august = Period(date(2015, 8, 1), date(2015, 8, 31))
    with session_scope(people.url) as session:
        row = svc.record_action(
            session,
            people.analyst,
            ActionIn(
                "premises_searched",
                datetime(2015, 7, 10, 9, tzinfo=UTC),
                "WMP",
                "case",
                "OP-T",
                fields={"premises": "P-1"},
            ),
        )
        ref = row.ref
    with session_scope(people.url) as session:
        assert svc.figures(session, july).values["premises_searched"] == 1
        svc.correct_action(
            session,
            people.supervisor,
            ref,
            "date was wrong: searched in August",
            {"occurred_at": datetime(2015, 8, 3, 9, tzinfo=UTC), "fields": {"warrant_ref": "W-9"}},
        )
    with session_scope(people.url) as session:
        assert svc.figures(session, july).values["premises_searched"] == 0
        assert svc.figures(session, august).values["premises_searched"] == 1
        history = svc.action_history(session, people.analyst, ref)
        assert [h.version for h in history] == [1, 2]
        assert history[0].occurred_at.month == 7 and history[1].occurred_at.month == 8
        assert history[1].supersedes_id == history[0].id
        assert history[1].reason == "date was wrong: searched in August"
        assert history[0].recorded_by == "ana" and history[1].recorded_by == "sue"
        assert json.loads(history[1].details) == {"premises": "P-1", "warrant_ref": "W-9"}
        svc.withdraw_action(session, people.analyst, ref, "duplicate of another record")
    with session_scope(people.url) as session:
        assert svc.figures(session, august).values["premises_searched"] == 0
        assert len(svc.action_history(session, people.analyst, ref)) == 3
        assert svc.list_actions(session, people.analyst) == []
        with pytest.raises(svc.OutcomeError, match="withdrawn"):
            svc.correct_action(session, people.analyst, ref, "again", {"team": "X"})
    actions = [a for a, _, _ in _audit_actions(people.url)]
    assert actions == ["action_record", "action_correct", "action_withdraw"]


def test_a_correction_is_checked_like_a_new_record(people: People) -> None:
    with session_scope(people.url) as session:
        ref = svc.record_action(
            session, people.analyst, arrest("local:subject:S1", datetime(2020, 1, 2, tzinfo=UTC))
        ).ref
        with pytest.raises(svc.OutcomeError, match="needs a reason"):
            svc.correct_action(session, people.analyst, ref, " ", {"team": "T"})
        with pytest.raises(svc.OutcomeError, match="colour is not a field"):
            svc.correct_action(session, people.analyst, ref, "why", {"fields": {"colour": "red"}})
        with pytest.raises(svc.OutcomeError, match="kind of an action"):
            svc.correct_action(session, people.analyst, ref, "why", {"kind": "charge"})
        with pytest.raises(svc.Missing):
            svc.correct_action(session, people.analyst, "A-NOPE", "why", {"team": "T"})


def test_roles_decide_who_may_record_read_and_roll_up_and_refusals_change_nothing(
    people: People,
) -> None:
    when = datetime(2020, 5, 5, tzinfo=UTC)
    with session_scope(people.url) as session:
        with pytest.raises(svc.NotPermitted):
            svc.record_action(session, people.reviewer, arrest("local:subject:S1", when))
        with pytest.raises(svc.NotPermitted):
            svc.record_action(session, people.admin, arrest("local:subject:S1", when))
        with pytest.raises(svc.NotPermitted):
            svc.statistics_table(
                session,
                people.reviewer,
                Period(date(2020, 1, 1), date(2020, 12, 31)),
                Scope(),
                "full",
            )
        with pytest.raises(svc.NotPermitted):
            svc.export_rollup(
                session, people.analyst, Period(date(2020, 1, 1), date(2020, 1, 2)), "WMP", b""
            )
        with pytest.raises(svc.NotPermitted):
            svc.import_rollup(session, people.supervisor, b"{}", "x.json")
    assert _audit_actions(people.url) == []
    with session_scope(people.url) as session:
        svc.record_action(session, people.supervisor, arrest("local:subject:S1", when))
        table = svc.statistics_table(
            session, people.admin, Period(date(2020, 1, 1), date(2020, 12, 31)), Scope(), "full"
        )
        assert table.rows[1][:2] == ("Arrests", 1)
    (entry,) = _audit_actions(people.url)
    assert entry[0] == "action_record" and entry[1] == "sue"
    assert entry[2]["kind"] == "arrest" and entry[2]["target"] == "case:OP-T"


def test_period_bounds_follow_london_local_days_in_the_database(people: People) -> None:
    with session_scope(people.url) as session:
        svc.record_actions(
            session,
            people.analyst,
            [
                # 00:30 BST on 1 July: July, not June
                arrest("local:subject:A", datetime(2015, 6, 30, 23, 30, tzinfo=UTC)),
                # 23:59 BST on 30 June: June
                arrest("local:subject:B", datetime(2015, 6, 30, 22, 59, tzinfo=UTC)),
                # 00:00 GMT on 1 December (winter: UTC = local): December
                arrest("local:subject:C", datetime(2015, 12, 1, 0, 0, tzinfo=UTC)),
            ],
            "test",
        )
    with session_scope(people.url) as session:
        count = lambda first, last, tz="Europe/London": svc.figures(  # noqa: E731
            session, Period(first, last, tz)
        ).values["arrests"]
        assert count(date(2015, 6, 1), date(2015, 6, 30)) == 1
        assert count(date(2015, 7, 1), date(2015, 7, 31)) == 1
        assert count(date(2015, 7, 1), date(2015, 7, 1), "UTC") == 0
        assert count(date(2015, 6, 30), date(2015, 6, 30), "UTC") == 2
        assert count(date(2015, 11, 1), date(2015, 11, 30)) == 0
        assert count(date(2015, 12, 1), date(2015, 12, 1)) == 1


def test_units_count_their_own_records_and_a_person_once(people: People) -> None:
    when = datetime(2021, 3, 3, 12, tzinfo=UTC)
    with session_scope(people.url) as session:
        svc.record_actions(
            session,
            people.analyst,
            [
                arrest("local:subject:P", when, team="OCAIT", operation="OP-A"),
                arrest("local:subject:P", when, team="OCAIT", operation="OP-B"),
                arrest("local:subject:Q", when, force="GMP", team="POLIT"),
            ],
            "test",
        )
    period = Period(date(2021, 1, 1), date(2021, 12, 31))
    with session_scope(people.url) as session:
        assert svc.figures(session, period).values["arrests"] == 2
        assert svc.figures(session, period, Scope(force="WMP")).values["arrests"] == 1
        assert svc.figures(session, period, Scope(team="OCAIT")).values["arrests"] == 1
        assert svc.figures(session, period, Scope(operation="OP-B")).values["arrests"] == 1
        assert svc.figures(session, period, Scope(team="POLIT")).values["arrests"] == 1


def test_outcomes_are_validated_and_a_second_outcome_is_a_correction(people: People) -> None:
    decided = datetime(2023, 6, 1, 10, tzinfo=UTC)
    reasons = {c: "explained" for c in CRITERIA_21}
    with session_scope(people.url) as session:
        with pytest.raises(svc.OutcomeError) as error:
            svc.record_outcome(
                session,
                people.analyst,
                OutcomeRecord(OutcomeIn("CR-7", 21, decided.date()), decided, "WMP"),
            )
        assert error.value.problems[0].startswith("outcome 21: criteria_reasons is required")
        svc.record_outcome(
            session,
            people.analyst,
            OutcomeRecord(
                OutcomeIn(
                    "CR-7",
                    21,
                    decided.date(),
                    details={"criteria_reasons": reasons, "images_action": "deleted"},
                ),
                decided,
                "WMP",
            ),
        )
    with session_scope(people.url) as session:
        record = OutcomeRecord(OutcomeIn("CR-7", 1, decided.date()), decided, "WMP")
        with pytest.raises(svc.OutcomeError, match="already has outcome 21"):
            svc.record_outcome(session, people.analyst, record)
        svc.record_outcome(session, people.supervisor, record, reason="CPS then charged")
    period = Period(date(2023, 1, 1), date(2023, 12, 31))
    with session_scope(people.url) as session:
        history = svc.outcome_history(session, people.analyst, "CR-7")
        assert [(h.version, h.code) for h in history] == [(1, 21), (2, 1)]
        assert svc.figures(session, period).values["crimes_solved"] == 1
        table = svc.statistics_table(session, people.analyst, period, Scope(), "outcomes")
        assert [r[0] for r in table.rows] == [1]
    assert [a for a, _, _ in _audit_actions(people.url)] == ["outcome_record", "outcome_correct"]


def test_links_to_cases_and_exhibits_are_checked(people: People) -> None:
    when = datetime(2022, 2, 2, tzinfo=UTC)
    with session_scope(people.url) as session:
        with pytest.raises(svc.OutcomeError, match="no case 'OP-NONE'"):
            svc.record_action(
                session,
                people.analyst,
                ActionIn("devices_seized", when, "WMP", "case", "OP-NONE", fields={"devices": 2}),
            )
        from safeguard.store.cases import create_case, get_or_create_exhibit

        case = create_case(session, "OP-LINK", "t")
        get_or_create_exhibit(session, case, "EX-1", "/tmp/x")
    with session_scope(people.url) as session:
        svc.record_action(
            session,
            people.analyst,
            ActionIn(
                "devices_seized",
                when,
                "WMP",
                "case",
                "OP-LINK",
                fields={"devices": 2, "exhibits": ["EX-1"]},
            ),
        )
        with pytest.raises(svc.OutcomeError, match="'EX-2' is not an exhibit of case OP-LINK"):
            svc.record_action(
                session,
                people.analyst,
                ActionIn(
                    "devices_seized",
                    when,
                    "WMP",
                    "case",
                    "OP-LINK",
                    fields={"devices": 1, "exhibits": ["EX-2"]},
                ),
            )
        with pytest.raises(svc.OutcomeError, match="not a first-generation media item"):
            svc.record_action(
                session,
                people.analyst,
                ActionIn(
                    "victim_identified",
                    when,
                    "WMP",
                    "case",
                    "OP-LINK",
                    fields={"victim_ref": "V-1", "media": ["ab" * 32]},
                ),
            )


def test_a_strong_identifier_becomes_a_keyed_hash(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(svc.KEY_ENV, "k" * 32)
    one = svc.resolve_person("email:Someone@Example.com ", "referral", "R-1")
    two = svc.resolve_person("email:someone@example.com", "subject", "S-9")
    assert one == two and one.startswith("hid:") and "example" not in one
    assert svc.resolve_person(None, "subject", "S-9") == "local:subject:S-9"
    assert svc.resolve_person(None, "referral", "R-1") is None
    monkeypatch.setenv(svc.KEY_ENV, "")
    with pytest.raises(svc.OutcomeError, match="SAFEGUARD_DECONFLICTION_KEY"):
        svc.resolve_person("phone:07700 900123", "referral", "R-1")


def _referral(session, external_id: str, received: datetime, band: str | None):  # noqa: ANN001, ANN202
    from safeguard.store.referral_models import Referral, ReferralDocument
    from safeguard.store.subject_models import KiratRecord

    document = ReferralDocument(
        sha256=external_id.encode().hex().ljust(64, "0")[:64],
        filename=f"{external_id}.json",
        format="json",
        size=2,
        content=b"{}",
    )
    session.add(document)
    session.flush()
    referral = Referral(
        source="ncmec", external_id=external_id, document_id=document.id, received_at=received
    )
    session.add(referral)
    session.flush()
    if band:
        session.add(
            KiratRecord(
                referral_id=referral.id,
                band=band,
                version="2",
                assessor="NCA",
                assessed_on="2023-01-05",
                recorded_by="ana",
            )
        )
        session.flush()
    return referral


def test_actions_on_referrals_and_subjects_take_the_referral_time_and_band(people: People) -> None:
    from safeguard.store.subject_models import SubjectMember
    from safeguard.store.subjects import subject as find_subject

    received = datetime(2023, 1, 2, 9, tzinfo=UTC)
    with session_scope(people.url) as session:
        referral = _referral(session, "CT-1", received, "High")
        later = _referral(session, "CT-2", datetime(2023, 2, 2, 9, tzinfo=UTC), None)
        sub = find_subject(session, people.subject)
        session.add_all(
            [
                SubjectMember(subject_id=sub.id, referral_id=referral.id),
                SubjectMember(subject_id=sub.id, referral_id=later.id),
            ]
        )
    when = datetime(2023, 1, 12, 9, tzinfo=UTC)
    with session_scope(people.url) as session:
        on_referral = svc.record_action(
            session,
            people.analyst,
            ActionIn("arrest", when, "WMP", "referral", "ncmec:CT-1", person_key="local:p1"),
        )
        on_subject = svc.record_action(
            session,
            people.analyst,
            ActionIn("arrest", when, "WMP", "subject", people.subject),
        )
        for row in (on_referral, on_subject):
            assert row.referral_received_at.replace(tzinfo=UTC) == received
            assert row.band == "High"
        assert on_subject.person_key == f"local:subject:{people.subject}"
        with pytest.raises(svc.OutcomeError, match="no referral 'ncmec:CT-404'"):
            svc.record_action(
                session,
                people.analyst,
                ActionIn("arrest", when, "WMP", "referral", "ncmec:CT-404", person_key="local:p"),
            )
        with pytest.raises(svc.OutcomeError, match="no subject 'SUB-999999'"):
            svc.record_action(
                session, people.analyst, ActionIn("arrest", when, "WMP", "subject", "SUB-999999")
            )
    period = Period(date(2023, 1, 1), date(2023, 12, 31))
    with session_scope(people.url) as session:
        timing = svc.statistics_table(session, people.analyst, period, Scope(), "timing")
    assert timing.rows[0][:3] == ("referral to arrest", 2, 10.0)

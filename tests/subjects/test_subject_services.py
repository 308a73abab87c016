"""Subjects in a store (SQLite and PostgreSQL): linking, decisions surviving re-linking,
in-store conflicts and holds, priority history, KIRAT, packages, roles and audit."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from safeguard.referrals import priority_service, subjects
from safeguard.referrals.linking import LinkRecord, Person, Strong
from safeguard.reports import intel_service
from safeguard.store import audit
from safeguard.store import subjects as repo
from safeguard.store.database import session_scope
from safeguard.store.review_models import AuditEvent
from safeguard.store.subject_models import PriorityAssessment
from tests.subjects.helpers import add_file, add_referral, add_return, user

HOME = {"address": "12 EXAMPLE ROAD", "postcode": "ZZ1 1ZZ"}


def _people() -> list[LinkRecord]:
    return [
        LinkRecord("T-1", (Strong("email", "sam@example.com"),), Person("Sam", "Vale", None)),
        LinkRecord(
            "T-2",
            (Strong("email", "sam@example.com"), Strong("esp_account", "sv99", service="chatapp")),
        ),
        LinkRecord(
            "T-3",
            (Strong("esp_account", "sv99", service="chatapp"),),
            Person("Sam", "Vale", "1979-05-05", **HOME),
        ),
        LinkRecord("T-4", person=Person("Samuel", "Vale", "1979-05-05", **HOME)),
        LinkRecord("T-5", person=Person("Ruth", "Vale", "1981-02-11", **HOME)),  # household
        LinkRecord("T-6", (Strong("phone", "+447700900123"),), Person("Ann", "Other", None)),
    ]


def _subject_sets(session) -> set[frozenset[str]]:  # noqa: ANN001
    out = set()
    for s in repo.subjects(session):
        out.add(frozenset(r.external_id for r in repo.members(session, s.id)))
    return out


def test_linking_decisions_survive_relinking(database_url: str) -> None:
    with session_scope(database_url) as session:
        analyst = user(session, "alice", "analyst")
        for record in _people():
            add_referral(session, record)
        summary = subjects.relink(session, analyst)
        assert summary.referrals == 6
        assert _subject_sets(session) == {
            frozenset({"T-1", "T-2", "T-3", "T-4"}),
            frozenset({"T-5"}),
            frozenset({"T-6"}),
        }
        sub = repo.subject_of(session, repo.find_referral(session, "T-1").id)
        kept = sub.reference
        view = subjects.subject_view(session, sub)
        methods = {link["method"] for link in view["links"]}
        assert methods == {"deterministic", "probabilistic"}
        prob = next(link for link in view["links"] if link["method"] == "probabilistic")
        assert prob["weight"] > 0 and any("last_name: exact" in r for r in prob["reasons"])
        email = next(i for i in view["identifiers"] if i["kind"] == "email")
        assert email["value"] == "sam@example.com"
        assert email["sources"] == [
            "ncmec:T-1 (report: SAM@EXAMPLE.COM)",
            "ncmec:T-2 (report: SAM@EXAMPLE.COM)",
        ]
        assert view["timeline"] == sorted(view["timeline"], key=lambda t: t["at"])

        t3, t4 = repo.find_referral(session, "T-3"), repo.find_referral(session, "T-4")
        t5, t6 = repo.find_referral(session, "T-5"), repo.find_referral(session, "T-6")
        subjects.decide(session, analyst, t3, t4, same=False, reason="different DOB on PNC")
        subjects.decide(session, analyst, t5, t6, same=True, reason="same person, new name")
    with session_scope(database_url) as session:  # a fresh re-run keeps both decisions
        subjects.relink(session, None)
        sets = _subject_sets(session)
        assert frozenset({"T-1", "T-2", "T-3"}) in sets
        assert frozenset({"T-4"}) in sets
        assert frozenset({"T-5", "T-6"}) in sets
        assert repo.subject_of(session, repo.find_referral(session, "T-1").id).reference == kept
        sub = repo.subject_of(session, repo.find_referral(session, "T-1").id)
        decisions = subjects.subject_view(session, sub)["decisions"]
        assert [(d["a"], d["b"], d["decision"], d["by"]) for d in decisions] == [
            ("ncmec:T-3", "ncmec:T-4", "split", "alice")
        ]
        actions = [e.action for e in session.query(AuditEvent).order_by(AuditEvent.seq)]
        assert actions.count("subjects_relinked") == 4
        assert "link_split" in actions and "link_confirmed" in actions
        assert audit.verify(session) is None


def test_merge_subjects_and_role_checks(database_url: str) -> None:
    with session_scope(database_url) as session:
        analyst = user(session, "alice", "analyst")
        reviewer = user(session, "rob", "reviewer")
        for record in _people():
            add_referral(session, record)
        with pytest.raises(subjects.NotAllowed):
            subjects.relink(session, reviewer)
        subjects.relink(session, analyst)
        a = repo.subject_of(session, repo.find_referral(session, "T-6").id)
        b = repo.subject_of(session, repo.find_referral(session, "T-1").id)
        with pytest.raises(subjects.NotAllowed):
            subjects.merge_subjects(session, reviewer, a, b, "same")
        with pytest.raises(subjects.Refused):
            subjects.merge_subjects(session, analyst, a, b, "  ")
        subjects.merge_subjects(session, analyst, a, b, "same phone on PNC")
        assert frozenset({"T-1", "T-2", "T-3", "T-4", "T-6"}) in _subject_sets(session)


def test_a_conflict_holds_the_referral_for_a_supervisor(database_url: str) -> None:
    with session_scope(database_url) as session:
        analyst = user(session, "alice", "analyst")
        supervisor = user(session, "sue", "supervisor")
        old = add_referral(
            session, LinkRecord("OLD", (Strong("email", "z@example.org"),)), assignee="dc.jones"
        )
        new = add_referral(
            session, LinkRecord("NEW", (Strong("email", "z@example.org"),)), assignee="alice"
        )
        assert subjects.relink(session, analyst).new_conflicts == 1
        hits = repo.hits_for(session, new.id)
        assert [h.detail for h in hits] == [
            f"also held by dc.jones, ncmec:OLD (received), since "
            f"{old.received_at.date().isoformat()}"
        ]
        assert repo.open_hold(session, new.id) is not None
        assert repo.open_hold(session, old.id) is None
        with pytest.raises(subjects.Refused, match="held for a supervisor"):
            intel_service.make_package(session, analyst, new, pdf=False)
        with pytest.raises(subjects.NotAllowed):
            subjects.release_hold(session, analyst, new, "agreed with DC Jones")
        subjects.release_hold(session, supervisor, new, "agreed with DC Jones: we lead")
        assert subjects.relink(session, analyst).new_conflicts == 0  # not raised again
        assert repo.open_hold(session, new.id) is None
        intel_service.make_package(session, analyst, new, pdf=False)


def test_priority_history_kirat_and_queue(database_url: str) -> None:
    now = datetime.now(UTC)
    with session_scope(database_url) as session:
        analyst = user(session, "alice", "analyst")
        calm = add_referral(session, LinkRecord("CALM"), received_at=now - timedelta(days=2))
        urgent = add_referral(
            session,
            LinkRecord("URGENT"),
            received_at=now - timedelta(hours=1),
            annotations="sextortion",
        )
        older = add_referral(session, LinkRecord("OLDER"), received_at=now - timedelta(days=9))
        for r in (calm, urgent, older):
            priority_service.score(session, analyst, r)
        _, changed = priority_service.score(session, analyst, calm)
        assert not changed  # nothing changed: no new history row
        order = [row["referral"] for row in priority_service.queue(session)]
        assert order == ["ncmec:URGENT", "ncmec:OLDER", "ncmec:CALM"]

        priority_service.record_kirat(
            session,
            analyst,
            calm,
            band="Very High",
            version="3.1",
            assessor="DS Example",
            assessed_on="2026-11-30",
        )
        subjects.record_fact(session, analyst, calm, "registered_sex_offender", "ViSOR check")
        priority_service.score(session, analyst, calm)
        history = (
            session.query(PriorityAssessment)
            .filter_by(referral_id=calm.id)
            .order_by(PriorityAssessment.id)
            .all()
        )
        assert len(history) == 3
        assert history[0].band == "low" and history[-1].band == "high"
        factors = {f["name"]: f for f in json.loads(history[-1].factors_json)["factors"]}
        assert factors["kirat"]["applied"] and "Very High" in factors["kirat"]["reason"]
        assert factors["registered_sex_offender"]["applied"]
        with pytest.raises(subjects.Refused):
            priority_service.record_kirat(
                session,
                analyst,
                calm,
                band="Extreme",
                version="3",
                assessor="x",
                assessed_on="2026-11-30",
            )
        order = [row["referral"] for row in priority_service.queue(session)]
        assert order == ["ncmec:URGENT", "ncmec:CALM", "ncmec:OLDER"]


def test_package_content_pdf_and_dissemination(database_url: str, tmp_path: Path) -> None:
    with session_scope(database_url) as session:
        analyst = user(session, "alice", "analyst")
        reviewer = user(session, "rob", "reviewer")
        first = add_referral(
            session,
            LinkRecord(
                "P-1", (Strong("email", "p@example.net"),), Person("Pat", "Quill", "1970-01-01")
            ),
            incident_type="online enticement of children for sexual acts",
        )
        add_referral(session, LinkRecord("P-2", (Strong("email", "p@example.net"),)))
        add_file(
            session,
            first,
            file_name="upload1.jpg",
            md5="0" * 32,
            sha1="1" * 40,
            category="A",
            match_status="graded_exact",
        )
        add_file(
            session,
            first,
            file_name="upload2.jpg",
            md5="2" * 32,
            sha1="3" * 40,
            match_status="new",
            file_annotations="generativeAi",
        )
        add_return(session, first, subscriber_name="Pat Quill", address="1 Example Street, ZZ9 9ZZ")
        add_return(session, first, state="sent", deadline=datetime.now(UTC) + timedelta(days=2))
        subjects.relink(session, analyst)
        with pytest.raises(subjects.NotAllowed):
            intel_service.make_package(session, reviewer, first)
        pkg = intel_service.make_package(session, analyst, first)
        content = json.loads(pkg.json_bytes)
        assert content["referral"]["reference"] == "ncmec:P-1"
        assert content["priority"]["band"] == "immediate"
        assert len(content["priority"]["factors"]) == 12
        assert content["subject"]["referrals"] == ["ncmec:P-1", "ncmec:P-2"]
        assert content["files"]["counts"] == {"A": 1, "new": 1}
        assert any(
            "search warrant" in a and "1 Example Street" in a for a in content["proposed_actions"]
        )
        assert any("Not resolved yet" in q for q in content["open_questions"])
        assert "No KIRAT result recorded" in content["open_questions"]
        for blob in (pkg.json_bytes, pkg.html_bytes, pkg.pdf_bytes):
            for magic in (b"\xff\xd8\xff", b"\x89PNG", b"GIF8", b"RIFF", b"data:image"):
                assert magic not in blob
        assert b"<img" not in pkg.html_bytes
        import hashlib

        assert hashlib.sha256(pkg.pdf_bytes).hexdigest() == pkg.pdf_sha256
        assert hashlib.sha256(pkg.json_bytes).hexdigest() == pkg.json_sha256
        pdf = tmp_path / "package.pdf"
        pdf.write_bytes(pkg.pdf_bytes)
        subprocess.run(
            [
                "pdftoppm",
                "-png",
                "-r",
                "50",
                "-f",
                "1",
                "-l",
                "1",
                str(pdf),
                str(tmp_path / "page"),
            ],
            check=True,
            timeout=120,
        )
        png = next(tmp_path.glob("page*.png"))
        from PIL import Image

        with Image.open(png) as page:
            assert page.width > 300 and page.height > 400
            assert page.convert("L").getextrema()[0] < 100  # there is dark text on it
        text = subprocess.run(
            ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True, timeout=60
        ).stdout
        assert "Intelligence package" in text and "IMMEDIATE" in text.upper()

        d = intel_service.disseminate(session, analyst, pkg, "Example Force OCAIT", "by hand")
        assert d.recipient == "Example Force OCAIT"
        events = [json.loads(e.body) for e in session.query(AuditEvent).order_by(AuditEvent.seq)]
        sent = [e for e in events if e["action"] == "package_disseminated"]
        assert sent and sent[0]["detail"]["sha256"]["pdf"] == pkg.pdf_sha256
        assert audit.verify(session) is None

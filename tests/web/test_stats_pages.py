"""Actions, outcomes and statistics through the web: forms, the dashboard with server-side SVG
charts, the JSON API (in the OpenAPI document), role checks and CSRF, audited like the CLI."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from safeguard.review.settings import ReviewSettings
from safeguard.store import audit
from safeguard.store.cases import create_case
from safeguard.store.database import session_scope
from safeguard.store.subjects import new_subject
from safeguard.web.app import create_app
from tests.review.helpers import make_user
from tests.web.conftest import login


@dataclass
class Stats:
    url: str
    app: object

    def client(self, username: str) -> tuple[TestClient, str]:
        client = TestClient(self.app, base_url="http://testserver")
        return client, login(client, username)


@pytest.fixture
def stats_site(database_url: str) -> Iterator[Stats]:
    with session_scope(database_url) as session:
        for name, role in (("ana", "analyst"), ("rev", "reviewer"), ("adm", "admin")):
            make_user(session, name, role)
        assert new_subject(session).reference == SUBJECT
        create_case(session, "OP-W", "stats pages")
    yield Stats(database_url, create_app(ReviewSettings(), database_url))


SUBJECT = "SUB-000001"
ARREST = {
    "kind": "arrest",
    "occurred_at": "2023-05-02T10:00:00+01:00",
    "force": "WMP",
    "target_kind": "subject",
    "target_ref": SUBJECT,
}


def test_the_api_records_corrects_and_counts_with_roles_and_csrf(stats_site: Stats) -> None:
    ana, token = stats_site.client("ana")
    assert ana.post("/api/actions", json=ARREST).status_code == 403  # no CSRF token
    made = ana.post("/api/actions", json=ARREST, headers={"X-CSRF-Token": token})
    assert made.status_code == 201, made.text
    ref = made.json()["ref"]
    assert made.json()["person_key"] == f"local:subject:{SUBJECT}"
    again = ana.post(
        "/api/actions",
        json={**ARREST, "occurred_at": "2023-06-02T10:00:00Z"},
        headers={"X-CSRF-Token": token},
    )
    assert again.status_code == 201
    bad = ana.post(
        "/api/actions",
        json={**ARREST, "kind": "sentence", "fields": {"custodial_months": "ten"}},
        headers={"X-CSRF-Token": token},
    )
    assert bad.status_code == 422
    assert bad.json()["detail"] == ["Sentence: custodial_months must be a whole number, 0 or more"]
    stats = ana.get(
        "/api/statistics", params={"from": "2023-01-01", "to": "2023-12-31", "layout": "full"}
    )
    assert stats.status_code == 200
    rows = {r["statistic"]: r["value"] for r in stats.json()["rows"]}
    assert rows["Arrests"] == 1  # one person, arrested twice
    fixed = ana.post(
        f"/api/actions/{ref}/corrections",
        json={"reason": "wrong year", "occurred_at": "2022-05-02T10:00:00+01:00"},
        headers={"X-CSRF-Token": token},
    )
    assert fixed.status_code == 201 and fixed.json()["version"] == 2
    history = ana.get(f"/api/actions/{ref}/history").json()
    assert [h["version"] for h in history] == [1, 2]
    assert history[0]["occurred_at"].startswith("2023-05-02")

    rev, rev_token = stats_site.client("rev")
    assert (
        rev.post("/api/actions", json=ARREST, headers={"X-CSRF-Token": rev_token}).status_code
        == 403
    )
    assert (
        rev.get("/api/statistics", params={"from": "2023-01-01", "to": "2023-12-31"}).status_code
        == 403
    )
    with session_scope(stats_site.url) as session:
        actions = [e["action"] for e in audit.recent(session, 50)]
    assert actions.count("action_record") == 2 and actions.count("action_correct") == 1

    paths = ana.get("/api/openapi.json").json()["paths"]
    for path in (
        "/api/actions",
        "/api/outcomes",
        "/api/statistics",
        "/api/statistics/national",
    ):
        assert path in paths


def test_outcome_22_without_its_activity_is_refused_in_the_api_and_the_form(
    stats_site: Stats,
) -> None:
    ana, token = stats_site.client("ana")
    body = {"crime_ref": "CR-1", "code": 22, "decided_at": "2023-02-01T12:00:00Z", "force": "WMP"}
    refused = ana.post("/api/outcomes", json=body, headers={"X-CSRF-Token": token})
    assert refused.status_code == 422
    assert "outcome 22: diversion" in refused.json()["detail"][0]
    ok = ana.post(
        "/api/outcomes",
        json={**body, "details": {"diversion": "education course"}},
        headers={"X-CSRF-Token": token},
    )
    assert ok.status_code == 201
    page = ana.post(
        "/outcomes",
        data={
            "csrf_token": token,
            "crime_ref": "CR-2",
            "code": "21",
            "decided_at": "2023-03-01T10:00",
            "force": "WMP",
            "reason_no_exploitation": "none found",
        },
    )
    assert page.status_code == 422
    assert "the reason for no_grooming is missing" in page.text


def test_the_action_form_and_the_dashboard(stats_site: Stats) -> None:
    ana, token = stats_site.client("ana")
    form = {
        "csrf_token": token,
        "kind": "safeguarding",
        "target_kind": "case",
        "target_ref": "OP-W",
        "occurred_at": "2023-04-01T09:30",
        "force": "WMP",
        "fields": 'children=2\nhow=childrens_services\nchild_keys=["local:child:c1"]',
    }
    done = ana.post("/actions", data=form, follow_redirects=False)
    assert done.status_code == 303, done.text
    page = ana.get(done.headers["location"])
    assert "children=2" in page.text
    wrong = ana.post("/actions", data={**form, "fields": "children=2"})
    assert wrong.status_code == 422 and "how is required" in wrong.text
    board = ana.get("/stats", params={"from": "2023-01-01", "to": "2023-12-31"})
    assert board.status_code == 200
    assert re.search(r'data-key="children_safeguarded">\s*<div class="value">2</div>', board.text)
    main = re.split(r"<main[^>]*>", board.text)[1]
    assert board.text.count("<svg") == 3 and "<script" not in main
    csv = ana.get(
        "/stats/download", params={"from": "2023-01-01", "to": "2023-12-31", "format": "csv"}
    )
    assert csv.status_code == 200 and "Children safeguarded,2" in csv.text
    rev, _ = stats_site.client("rev")
    assert rev.get("/stats").status_code == 403


def test_dashboard_text_is_escaped(stats_site: Stats) -> None:
    ana, token = stats_site.client("ana")
    ana.post(
        "/api/actions",
        json={**ARREST, "force": "<b>X</b>", "band": "High"},
        headers={"X-CSRF-Token": token},
    )
    board = ana.get(
        "/stats", params={"from": "2023-01-01", "to": "2023-12-31", "force": "<b>X</b>"}
    )
    assert board.status_code == 200
    assert "<b>X</b>" not in board.text and "&lt;b&gt;X&lt;/b&gt;" in board.text

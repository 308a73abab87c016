"""The referral hub's pages and JSON API: roles, CSRF, the same services as the CLI, audit."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from safeguard.referrals import resolution
from safeguard.referrals.service import Actor, import_referrals
from safeguard.review.settings import ReviewSettings
from safeguard.store.database import session_scope
from safeguard.store.review_models import AuditEvent
from safeguard.web.app import create_app
from tests.referrals.builders import full_report, write_report
from tests.referrals.test_resolution import TABLE
from tests.review.helpers import make_user
from tests.web.conftest import login


@pytest.fixture
def hub(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SAFEGUARD_REFERRAL_UPLOADS", str(tmp_path / "uploads"))
    report = full_report("5500001")
    report["incidentSummary"]["incidentType"] = "<script>alert(1)</script>"
    path = write_report(tmp_path / "in", report)
    done = import_referrals(path, source="ncmec", actor=Actor("cli"), database_url=database_url)
    with session_scope(database_url) as session:
        resolution.import_provider_table(session, TABLE, actor=Actor("cli"))
        for name, role in (("ian", "intelligence"), ("sue", "supervisor"), ("rex", "reviewer")):
            make_user(session, name, role)
    app = create_app(ReviewSettings(), database_url)

    def client(username: str) -> tuple[TestClient, str]:
        c = TestClient(app, base_url="http://testserver")
        return c, login(c, username)

    return done.imported[0][0], client


def test_queue_and_referral_page_for_the_intelligence_role(hub) -> None:
    referral_id, client = hub
    c, _ = client("ian")
    home = c.get("/").text
    assert 'href="/referrals"' in home
    queue = c.get("/referrals")
    assert queue.status_code == 200 and f'data-referral="{referral_id}"' in queue.text
    assert c.get("/referrals?state=closed").text.count("data-referral=") == 0
    assert c.get("/referrals?source=ncmec&sort=-id&min_age_days=0").status_code == 200
    page = c.get(f"/referrals/{referral_id}").text
    assert "Avery.Example@EXAMPLE.com" in page and "avery.example@example.com" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page
    assert "needed before any view" in page
    reviewer, _ = client("rex")
    assert 'href="/referrals"' not in reviewer.get("/").text
    assert reviewer.get("/referrals").status_code == 404
    assert reviewer.get(f"/api/referrals/{referral_id}").status_code == 404


def test_api_drafts_authorises_and_exports_with_csrf_and_audit(hub, database_url: str) -> None:
    referral_id, client = hub
    ian, ian_token = client("ian")
    sue, sue_token = client("sue")
    listed = ian.get("/api/referrals", params={"state": "received"}).json()
    assert [r["id"] for r in listed] == [referral_id]
    assert ian.post(f"/api/referrals/{referral_id}/requests").status_code == 403  # no CSRF
    drafted = ian.post(
        f"/api/referrals/{referral_id}/requests", headers={"X-CSRF-Token": ian_token}
    ).json()
    assert len(drafted["drafted"]) == 5
    ref = drafted["drafted"][0]
    own = ian.post(
        f"/api/requests/{ref}/state",
        json={"state": "authorised"},
        headers={"X-CSRF-Token": ian_token},
    )
    assert own.status_code == 409 and "other than" in own.json()["detail"]
    ok = sue.post(
        f"/api/requests/{ref}/state",
        json={"state": "authorised", "authorisation_reference": "DP-9"},
        headers={"X-CSRF-Token": sue_token},
    )
    assert ok.status_code == 200 and ok.json()["authorised_by"] == "sue"
    grouped = ian.get("/api/requests", params={"state": "authorised"}).json()
    provider = next(iter(grouped))
    exported = ian.get("/api/requests/export", params={"provider": provider, "format": "csv"})
    assert exported.status_code == 200 and ref in exported.text
    detail = ian.get(f"/api/referrals/{referral_id}").json()
    assert detail["state"] == "resolving"
    moved = ian.post(
        f"/api/referrals/{referral_id}/state",
        json={"state": "closed", "reason": "no further action", "assignee": "ian"},
        headers={"X-CSRF-Token": ian_token},
    )
    assert moved.json() == {"id": referral_id, "state": "closed", "assignee": "ian"}
    bad = ian.post(
        f"/api/referrals/{referral_id}/state",
        json={"state": "packaged", "reason": "x"},
        headers={"X-CSRF-Token": ian_token},
    )
    assert bad.status_code == 409
    with session_scope(database_url) as session:
        events = [(e.action, e.user_id is not None) for e in session.scalars(select(AuditEvent))]
    assert ("request_draft", True) in events and ("request_state", True) in events
    assert ("request_export", True) in events and ("referral_state", True) in events
    schema = ian.get("/api/openapi.json").json()
    for path in (
        "/api/referrals",
        "/api/referrals/{referral_id}",
        "/api/requests/export",
        "/api/returns/import",
        "/api/providers/import",
        "/api/referrals/import",
    ):
        assert path in schema["paths"], path


def test_forms_change_state_and_show_refusals(hub) -> None:
    referral_id, client = hub
    c, token = client("ian")
    refused = c.post(
        f"/referrals/{referral_id}/move",
        data={"csrf_token": token, "state": "resolving", "reason": ""},
        follow_redirects=False,
    )
    assert refused.status_code == 303 and "error=" in refused.headers["location"]
    assert "a reason is required" in c.get(refused.headers["location"]).text
    c.post(
        f"/referrals/{referral_id}/authority",
        data={"csrf_token": token, "reference": "AUTH-7"},
        follow_redirects=False,
    )
    page = c.get(f"/referrals/{referral_id}").text
    assert "AUTH-7 by ian" in page


def test_a_document_uploaded_through_the_api_imports_once(hub, tmp_path: Path) -> None:
    _, client = hub
    c, token = client("ian")
    data = write_report(tmp_path / "up", full_report("5500002"), fmt="json").read_bytes()
    files = {"file": ("r.json", data, "application/json")}
    first = c.post(
        "/api/referrals/import",
        files=files,
        data={"source": "nca"},
        headers={"X-CSRF-Token": token},
    ).json()
    again = c.post(
        "/api/referrals/import",
        files=files,
        data={"source": "nca"},
        headers={"X-CSRF-Token": token},
    ).json()
    assert [i["external_id"] for i in first["imported"]] == ["5500002"]
    assert again["imported"] == [] and len(again["already"]) == 1

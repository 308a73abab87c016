"""The pages as each role sees them, admin forms, the audited export and ingest progress."""

from __future__ import annotations

import json

from sqlalchemy import select

from safeguard.store.database import session_scope
from safeguard.store.models import Exhibit
from safeguard.store.review_models import AuditEvent, User
from tests.web.conftest import Site, login


def test_each_role_sees_its_pages(site: Site) -> None:
    x = site.x
    expectations = {
        "rx": {
            f"/cases/{x.case_id}": 200,
            f"/cases/{x.case_id}/queue": 200,
            "/team": 404,
            f"/cases/{x.case_id}/moderation": 404,
            "/admin": 404,
        },
        "sup": {f"/cases/{x.case_id}/moderation": 200, "/team": 200, "/admin": 404},
        "ana": {f"/cases/{x.case_id}": 200, f"/cases/{x.case_id}/queue": 404},
        "adm": {"/admin": 200, f"/cases/{x.case_id}": 404},
    }
    for username, pages in expectations.items():
        client, _ = site.client(username)
        assert client.get("/").status_code == 200
        for url, status in pages.items():
            assert client.get(url).status_code == status, (username, url)
    client, _ = site.client("rx")
    queue = client.get(f"/cases/{x.case_id}/queue").text
    assert queue.count('class="card') == 3  # a group of three, a single, a perceptual match
    assert "Bank match suggests B" in queue and "Seen unblurred today" in queue


def test_admins_add_users_and_assign_cases(site: Site) -> None:
    client, token = site.client("adm")
    response = client.post(
        "/admin/users",
        data={
            "csrf_token": token,
            "username": "newbie",
            "password": "a long passphrase",
            "role": "reviewer",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    response = client.post(
        "/admin/assign",
        data={"csrf_token": token, "username": "newbie", "case": "OP-Y"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert "newbie" in client.get("/admin").text
    newbie, _ = site.client()
    login(newbie, "newbie", "a long passphrase")
    newbie_cases = newbie.get("/api/cases").json()
    assert [c["reference"] for c in newbie_cases] == ["OP-Y"]
    reviewer, token = site.client("rx")
    denied = reviewer.post(
        "/admin/users",
        data={
            "csrf_token": token,
            "username": "x",
            "password": "a long passphrase",
            "role": "admin",
        },
    )
    assert denied.status_code == 404
    with session_scope(site.url) as session:
        assert session.scalar(select(User).where(User.username == "x")) is None


def test_the_report_export_is_audited_and_carries_no_pictures(site: Site) -> None:
    client, token = site.client("ana")
    response = client.post(
        f"/cases/{site.x.case_id}/export", data={"csrf_token": token, "format": "json"}
    )
    assert response.status_code == 200
    assert "attachment" in response.headers["content-disposition"]
    report = json.loads(response.text)
    assert report["case"] == "OP-X" and report["automatic_grades"] == []
    assert b"\xff\xd8" not in response.content
    with session_scope(site.url) as session:
        exports = session.scalars(select(AuditEvent.body).where(AuditEvent.action == "export"))
        assert [json.loads(b)["detail"]["format"] for b in exports] == ["json"]
    summary = client.get(f"/api/cases/{site.x.case_id}/summary").json()
    assert summary["images"] == report["images"] and "automatic_grades" not in summary


def test_an_ingest_in_progress_shows_on_the_summary(site: Site) -> None:
    with session_scope(site.url) as session:
        session.get(Exhibit, site.x.exhibit_id).state = "ingesting"
    client, _ = site.client("rx")
    page = client.get(f"/cases/{site.x.case_id}").text
    assert "Ingest in progress" in page and 'http-equiv="refresh"' in page
    with session_scope(site.url) as session:
        session.get(Exhibit, site.x.exhibit_id).state = "complete"
    assert "Ingest in progress" not in client.get(f"/cases/{site.x.case_id}").text


def test_grading_and_splitting_through_the_api(site: Site) -> None:
    client, token = site.client("rx")
    x, headers = site.x, {"X-CSRF-Token": token}
    key, member = f"{x.exhibit_id}-g{x.group_ids[0]}", x.groups[0][1]
    api = f"/api/cases/{x.case_id}/cards"
    split = client.post(f"{api}/{key}/split", headers=headers, json={"media_id": member})
    assert split.json()["new_key"] == f"{x.exhibit_id}-m{member}"
    again = client.post(
        f"{api}/{x.exhibit_id}-m{member}/split", headers=headers, json={"media_id": member}
    )
    assert again.status_code == 409
    graded = client.post(f"{api}/{key}/grade", headers=headers, json={"category": "C"})
    assert graded.json()["states"] == ["pending", "pending"]
    assert (
        client.post(f"{api}/{key}/grade", headers=headers, json={"category": "C"}).status_code
        == 409
    )
    bad = client.post(
        f"{api}/{x.exhibit_id}-m{member}/grade", headers=headers, json={"category": "U"}
    )
    assert bad.status_code == 409  # "uncategorised" is not a grade
    keys = [c["key"] for c in client.get(f"/api/cases/{x.case_id}/queue").json()["cards"]]
    assert key not in keys and f"{x.exhibit_id}-m{member}" in keys

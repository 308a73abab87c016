"""Subject page, package button and the JSON API: roles, CSRF, audit."""

from __future__ import annotations

from safeguard.referrals.linking import LinkRecord, Person, Strong
from safeguard.store.database import session_scope
from safeguard.store.review_models import AuditEvent
from tests.subjects.helpers import add_referral
from tests.web.conftest import Site


def test_subject_page_package_button_and_api(site: Site) -> None:
    with session_scope(site.url) as session:
        add_referral(
            session,
            LinkRecord(
                "W-1", (Strong("email", "w@example.com"),), Person("Wendy", "<b>Bold</b>", None)
            ),
        )
        add_referral(session, LinkRecord("W-2", (Strong("email", "w@example.com"),)))
    reviewer, rtoken = site.client("rx")
    assert reviewer.post("/api/subjects/link", headers={"X-CSRF-Token": rtoken}).status_code == 404
    client, token = site.client("ana")
    headers = {"X-CSRF-Token": token}
    summary = client.post("/api/subjects/link", headers=headers).json()
    assert summary["linked_subjects"] == 1
    queue = client.get("/api/referral-queue").json()
    assert {q["referral"] for q in queue} == {"ncmec:W-1", "ncmec:W-2"}
    prio = client.post("/api/referrals/ncmec:W-1/priority", headers=headers).json()
    assert prio["band"] == "low" and len(prio["factors"]) == 12
    subject = client.get("/api/subjects/SUB-000001").json()
    assert [r["reference"] for r in subject["referrals"]] == ["ncmec:W-1", "ncmec:W-2"]
    assert subject["links"][0]["reasons"] == ["email w@example.com"]
    assert reviewer.get("/api/subjects/SUB-000001").status_code == 404
    assert reviewer.get("/subjects/SUB-000001").status_code == 404

    page = client.get("/subjects/SUB-000001")
    assert page.status_code == 200
    assert "&lt;b&gt;Bold&lt;/b&gt;" in page.text and "<b>Bold</b>" not in page.text
    assert 'id="timeline"' in page.text and "email w@example.com" in page.text
    made = client.post(
        "/referrals/ncmec:W-1/package",
        data={"csrf_token": token, "back": "/subjects/SUB-000001"},
        follow_redirects=False,
    )
    assert made.status_code == 303 and made.headers["location"].startswith("/subjects/SUB-000001")
    page = client.get(made.headers["location"])
    assert "PKG-" in page.text
    ref = page.text.split("/api/packages/")[1].split(".pdf")[0]
    pdf = client.get(f"/api/packages/{ref}.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    html = client.get(f"/api/packages/{ref}.html")
    assert "default-src 'none'" in html.headers["content-security-policy"]
    sent = client.post(
        f"/api/packages/{ref}/disseminate", headers=headers, json={"recipient": "Example Force"}
    ).json()
    assert sent["recipient"] == "Example Force"
    kirat = client.post(
        "/api/referrals/ncmec:W-1/kirat",
        headers=headers,
        json={"band": "Medium", "version": "3", "assessor": "DS X", "assessed_on": "2026-12-01"},
    )
    assert kirat.status_code == 200
    bad = client.post(
        "/api/referrals/ncmec:W-1/kirat",
        headers=headers,
        json={"band": "Medium", "version": "3", "assessor": "DS X", "assessed_on": "yesterday"},
    )
    assert bad.status_code == 409 and "not a date" in bad.json()["detail"]
    with session_scope(site.url) as session:
        actions = {a for (a,) in session.query(AuditEvent.action)}
    assert {
        "subjects_relinked",
        "package_created",
        "package_disseminated",
        "kirat_recorded",
        "referral_prioritised",
    } <= actions

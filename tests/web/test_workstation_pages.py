"""Issue 16 through HTTP: HTML error pages, the add-user default, disabling and unassigning from
the admin page, the moderation form, the paged queue, changed votes and the PDF export."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from safeguard.store.database import session_scope
from safeguard.store.review_models import AuditEvent
from tests.review.helpers import PASSWORD
from tests.web.conftest import Site, login

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def test_browsers_get_html_error_pages_and_the_api_json(site: Site) -> None:
    client, token = site.client("ry")  # assigned to case Y only
    page = client.get(f"/cases/{site.x.case_id}")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "<h1>Not found</h1>" in page.text and '{"detail"' not in page.text
    missing = client.get("/no/such/page")
    assert missing.status_code == 404 and "<h1>Not found</h1>" in missing.text
    refused = client.post(f"/cases/{site.y.case_id}/export", data={"csrf_token": "wrong"})
    assert refused.status_code == 403 and "<h1>Not allowed</h1>" in refused.text
    api = client.get(f"/api/cases/{site.x.case_id}/queue")
    assert api.status_code == 404 and api.json() == {"detail": "not found"}


def test_admin_page_defaults_to_the_least_privileged_role_and_manages_people(site: Site) -> None:
    admin, token = site.client("adm")
    page = admin.get("/admin").text
    assert re.search(r"<option selected>analyst</option>", page)
    reviewer, _ = site.client("rx")
    assert reviewer.get("/").status_code == 200
    done = admin.post(
        "/admin/unassign", data={"csrf_token": token, "username": "rx", "case": "OP-X"}
    )
    assert done.status_code == 200 and "no longer assigned to OP-X" in done.text
    assert reviewer.get(f"/cases/{site.x.case_id}").status_code == 404
    done = admin.post("/admin/active", data={"csrf_token": token, "username": "rx"})
    assert "rx is disabled" in done.text
    assert reviewer.get("/", follow_redirects=False).status_code == 303  # signed out at once
    with pytest.raises(AssertionError):
        login(reviewer, "rx", PASSWORD)
    again = admin.post(
        "/admin/active", data={"csrf_token": token, "username": "rx", "active": "true"}
    )
    assert "rx is enabled" in again.text
    login(reviewer, "rx", PASSWORD)
    assert (
        admin.post("/admin/active", data={"csrf_token": token, "username": "adm"}).status_code
        == 422
    )
    with session_scope(site.url) as session:
        actions = session.scalars(select(AuditEvent.action)).all()
    assert {"unassign", "user_disable", "user_enable"} <= set(actions)


def _dispute(site: Site) -> str:
    """rx and a second reviewer disagree on the first group of case X; returns its key."""
    key = f"{site.x.exhibit_id}-g{site.x.group_ids[0]}"
    for name, category in (("rx", "A"), ("sup", "B")):
        client, token = site.client(name)
        response = client.post(
            f"/api/cases/{site.x.case_id}/cards/{key}/grade",
            json={"category": category, "series": name == "rx"},
            headers={"X-CSRF-Token": token},
        )
        assert response.status_code == 200, response.text
    client, token = site.client("rx")
    client.post(
        f"/api/cases/{site.x.case_id}/items/{site.x.exhibit_id}/{site.x.groups[0][0]}/notes",
        json={"text": "background matches another series"},
        headers={"X-CSRF-Token": token},
    )
    return key


def test_the_moderation_page_has_no_default_grade_and_shows_flags_notes_and_a_confirmation(
    site: Site,
) -> None:
    key = _dispute(site)
    sup, token = site.client("sup")
    page = sup.get(f"/cases/{site.x.case_id}/moderation").text
    assert '<option value="" selected disabled>' in page
    assert not re.search(r'<option value="[A-Z]+"[^>]* selected', page)
    assert 'data-key-char="a"' in page and "<kbd>A</kbd>" in page
    assert 'data-reviewer="rx"' in page and "Series" in page
    assert "background matches another series" in page
    assert '<span id="disputed-count">1</span>' in page
    summary = sup.get(f"/cases/{site.x.case_id}").text
    assert "Moderation (1 disputed card(s))" in summary
    done = sup.post(
        f"/cases/{site.x.case_id}/moderation/{key}", data={"csrf_token": token, "category": "B"}
    )
    assert done.status_code == 200
    assert "Decided B for 3 item(s) of card" in done.text
    assert sup.post(
        f"/cases/{site.x.case_id}/moderation/{key}", data={"csrf_token": token, "category": ""}
    ).status_code in (409, 422)


def test_the_queue_pages_and_never_says_empty_while_cards_wait(site: Site) -> None:
    client, _ = site.client("rx")
    first = client.get(f"/cases/{site.x.case_id}/queue/cards?offset=0&limit=1")
    assert first.status_code == 200 and first.headers["X-Queue-Total"] == "3"
    assert first.text.count("<article") == 1
    rest = client.get(f"/cases/{site.x.case_id}/queue/cards?offset=1&limit=10")
    assert rest.text.count("<article") == 2
    page = client.get(f"/cases/{site.x.case_id}/queue").text
    assert re.search(r'<p class="empty" id="queue-empty" hidden>', page)
    filtered = client.get(f"/cases/{site.x.case_id}/queue?status=graded_perceptual").text
    assert filtered.count("<article") == 1 and "with these filters" in filtered


def test_my_votes_can_change_until_final(site: Site) -> None:
    client, token = site.client("rx")
    key = f"{site.x.exhibit_id}-g{site.x.group_ids[0]}"
    client.post(
        f"/api/cases/{site.x.case_id}/cards/{key}/grade",
        json={"category": "A"},
        headers={"X-CSRF-Token": token},
    )
    page = client.get(f"/cases/{site.x.case_id}/my-votes").text
    assert f'data-key="{key}"' in page and ">A</td>" in page
    changed = client.post(
        f"/cases/{site.x.case_id}/my-votes/{key}", data={"csrf_token": token, "category": "C"}
    )
    assert "Your vote is now C." in changed.text and ">C</td>" in changed.text
    undone = client.post(
        f"/api/cases/{site.x.case_id}/cards/{key}/undo", headers={"X-CSRF-Token": token}
    )
    assert undone.status_code == 200 and undone.json()["states"] == ["pending"] * 3
    assert (
        client.post(
            f"/api/cases/{site.x.case_id}/cards/{key}/undo", headers={"X-CSRF-Token": token}
        ).status_code
        == 409
    )


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils is not installed")
def test_the_case_report_as_pdf_renders_to_pages(site: Site, tmp_path: Path) -> None:
    pytest.importorskip("weasyprint")
    client, token = site.client("rx")
    response = client.post(
        f"/cases/{site.x.case_id}/export", data={"csrf_token": token, "format": "pdf"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(response.content)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", str(pdf), str(tmp_path / "page")], check=True, timeout=120
    )
    pages = sorted(tmp_path.glob("page*.png"))
    assert pages
    from PIL import Image

    image = Image.open(pages[0]).convert("L")
    assert image.width > image.height  # A4 landscape
    dark = sum(1 for v in image.getdata() if v < 128)
    assert dark > 0.002 * image.width * image.height  # text was drawn
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copyfile(pages[0], ARTIFACTS / "case-report-pdf-page-1.png")


def test_an_enforced_break_stops_reveals_until_it_is_taken(site: Site) -> None:
    from fastapi.testclient import TestClient

    from safeguard.review.settings import ReviewSettings
    from safeguard.web.app import create_app

    app = create_app(
        ReviewSettings(enforce_breaks=True, break_after_reveals=1, break_after_minutes=600),
        site.url,
    )
    client = TestClient(app, base_url="http://testserver")
    token = login(client, "rx")
    headers = {"X-CSRF-Token": token}
    x = site.x
    first, second = x.groups[0][0], x.groups[0][1]
    url = f"/api/cases/{x.case_id}/items/{x.exhibit_id}"
    assert client.post(f"{url}/{first}/reveal", headers=headers).status_code == 200
    refused = client.post(f"{url}/{second}/reveal", headers=headers)
    assert refused.status_code == 423 and "break" in refused.json()["detail"]
    page = client.get(f"/cases/{x.case_id}/queue").text
    assert "Your unit requires this break" in page
    assert "1 image unblurred since your last break" in page
    assert client.post("/api/break", headers=headers).status_code == 200
    assert client.post(f"{url}/{second}/reveal", headers=headers).status_code == 200

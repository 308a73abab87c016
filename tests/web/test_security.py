"""The workstation's doors: sign-in on every route, cases only through assignments, CSRF on
every state-changing route, no path traversal, safe cookies. On SQLite and PostgreSQL."""

from __future__ import annotations

import io
import re
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import select

from safeguard.store import audit
from safeguard.store.database import session_scope
from safeguard.store.previews import get_preview
from safeguard.store.review_models import THUMB, AuditEvent
from safeguard.web.app import route_table
from tests.review.helpers import PASSWORD
from tests.web.conftest import Site

#: Routes anyone may call: the sign-in page and form, and the fixed static assets.
PUBLIC = {("/login", "GET"), ("/login", "POST"), ("/static/{name}", "GET")}
STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
#: The lookup API for other tools takes API tokens (Authorization: Bearer), never the session.
BEARER_ONLY = "/api/v1/"


def fill(path: str, site: Site, case=None) -> str:
    """A concrete URL for a route pattern, with real ids of case X (or ``case``)."""
    case = case or site.x
    values = {
        "case_id": case.case_id,
        "exhibit_id": case.exhibit_id,
        "media_id": case.groups[0][0],
        "key": f"{case.exhibit_id}-g{case.group_ids[0]}",
        "name": "style.css",
        "referral_id": 1,
        "ref": "ncmec:NO-SUCH",  # subjects, referrals and packages
        "reference": "PKG-NONE",
        "fmt": "json",
    }
    return re.sub(r"{(\w+)}", lambda m: str(values[m.group(1)]), path)


def routes(site: Site) -> list[tuple[str, str]]:
    found = [(path, method) for path, methods in route_table(site.app) for method in methods]
    assert len(found) > 20, "route enumeration found too little"
    return sorted(set(found) - {(p, "HEAD") for p, _ in found})


def test_every_route_denies_the_unauthenticated(site: Site) -> None:
    client, _ = site.client()
    checked = 0
    for path, method in routes(site):
        if (path, method) in PUBLIC:
            continue
        response = client.request(method, fill(path, site), follow_redirects=False, json={})
        if path.startswith("/api/"):
            assert response.status_code == 401, (method, path, response.status_code)
        else:
            assert response.status_code == 303, (method, path, response.status_code)
            assert response.headers["location"] == "/login"
        assert not response.content.startswith(b"\xff\xd8"), "no picture without a session"
        checked += 1
    assert checked >= 20


def test_a_user_of_one_case_cannot_reach_another_by_guessing_ids(site: Site) -> None:
    client, token = site.client("ry")  # assigned to case Y only
    headers = {"X-CSRF-Token": token}
    x = site.x
    for path, method in routes(site):
        if "{case_id}" not in path:
            continue
        if path.startswith("/api/"):
            body = {"headers": headers, "json": {"category": "A", "media_id": 1}}
        else:
            body = {"data": {"csrf_token": token, "category": "A", "format": "json"}}
        response = client.request(method, fill(path, site), follow_redirects=False, **body)
        assert response.status_code == 404, (method, path, response.status_code)
    # Case Y's own id with case X's items, and every small id: nothing of X comes back.
    y = site.y
    for media_id in x.reviewable + x.exact:
        for case_id in (x.case_id, y.case_id):
            url = f"/api/cases/{case_id}/items/{x.exhibit_id}/{media_id}"
            assert client.get(url + "/blurred").status_code == 404
            assert client.post(url + "/reveal", headers=headers).status_code == 404
            url = f"/api/cases/{case_id}/items/{y.exhibit_id}/{media_id}"
            assert client.post(url + "/reveal", headers=headers).status_code == 404
    own = client.get(f"/api/cases/{y.case_id}/items/{y.exhibit_id}/{y.groups[0][0]}/blurred")
    assert own.status_code == 200 and own.headers["content-type"] == "image/jpeg"
    queue = client.get(f"/api/cases/{y.case_id}/queue").json()
    assert {m["media_id"] for c in queue["cards"] for m in c["members"]} == set(y.reviewable)
    assert [c["reference"] for c in client.get("/api/cases").json()] == ["OP-Y"]


def test_csrf_is_enforced_on_every_state_changing_route(site: Site) -> None:
    for username in ("sup", "adm"):
        client, token = site.client(username)
        for path, method in routes(site):
            if method not in STATE_CHANGING or (path, method) == ("/login", "POST"):
                continue
            if path.startswith(BEARER_ONLY):  # no cookies accepted: CSRF cannot apply (401)
                assert client.request(method, fill(path, site), json={}).status_code == 401
                continue
            url = fill(path, site)
            for headers in ({}, {"X-CSRF-Token": "wrong"}, {"X-CSRF-Token": token[:-1]}):
                response = client.request(
                    method, url, headers=headers, json={"category": "A", "media_id": 1}
                )
                assert response.status_code == 403, (username, path, headers, response.text)
            form = client.request(method, url, data={"csrf_token": "wrong", "category": "A"})
            assert form.status_code == 403, (path, form.status_code)
    # The sign-in form has its own double-submit token.
    client, _ = site.client()
    response = client.post("/login", data={"username": "rx", "password": "x", "csrf_token": "x"})
    assert response.status_code == 403
    with session_scope(site.url) as session:
        assert session.scalars(select(AuditEvent.action)).all() == ["login", "login"]


def test_no_path_traversal_through_static_or_media_routes(site: Site) -> None:
    client, token = site.client("rx")
    x = site.x
    attempts = [
        "/static/../app.py",
        "/static/..%2fapp.py",
        "/static/%2e%2e%2fapp.py",
        "/static/..%2F..%2Fstore%2Fdatabase.py",
        "/static/templates%2Fbase.html",
        "/static/%2Fetc%2Fpasswd",
        f"/api/cases/{x.case_id}/items/{x.exhibit_id}/..%2F..%2Fetc%2Fpasswd/blurred",
        f"/api/cases/{x.case_id}/items/{x.exhibit_id}/../../../etc/passwd",
        f"/api/cases/{x.case_id}/items/{x.exhibit_id}/-1/blurred",
        f"/api/cases/{x.case_id}/items/{x.exhibit_id}/1e3/blurred",
        f"/api/cases/{x.case_id}/items/{x.exhibit_id}/{x.groups[0][0]}/blurred?idx=-1",
        f"/api/cases/{x.case_id}/items/{x.exhibit_id}/{x.groups[0][0]}/blurred?idx=..%2F",
        "/cases/..%2F..%2Fetc%2Fpasswd",
    ]
    for url in attempts:
        response = client.get(url, follow_redirects=False)
        assert response.status_code in (404, 405, 422), (url, response.status_code)
        assert b"root:" not in response.content and b"def " not in response.content
    for key in ("1-g1/../..", "..%2F1-g1", "1-x1", "1-g1;drop"):
        url = f"/api/cases/{x.case_id}/cards/{key}/grade"
        response = client.post(url, headers={"X-CSRF-Token": token}, json={"category": "A"})
        assert response.status_code in (404, 405, 422), (key, response.status_code)
    assert client.get("/static/style.css").status_code == 200


def test_session_cookies_are_http_only_and_strict(site: Site) -> None:
    client, _ = site.client()
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]*)"', page.text).group(1)
    response = client.post(
        "/login",
        data={"username": "rx", "password": "correct horse battery", "csrf_token": token},
        follow_redirects=False,
    )
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "secure" not in cookie
    assert response.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    site.app.state.settings = replace(site.app.state.settings, secure_cookies=True)
    page = client.get("/login")
    assert "secure" in page.headers["set-cookie"].lower()


def test_sign_in_out_and_a_wrong_password(site: Site) -> None:
    client, _ = site.client()
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]*)"', page.text).group(1)
    wrong = client.post(
        "/login", data={"username": "rx", "password": "not it at all", "csrf_token": token}
    )
    assert "Wrong username or password" in wrong.text
    assert client.get("/api/me").status_code == 401
    client, token = site.client("rx")
    assert client.get("/api/me").json()["username"] == "rx"
    client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert client.get("/api/me").status_code == 401
    with session_scope(site.url) as session:
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)).all()
    assert actions == ["login_failed", "login", "logout"]


def _try_password(client, username: str, password: str):  # noqa: ANN001, ANN202
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]*)"', page.text).group(1)
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token},
        follow_redirects=False,
    )


def test_repeated_wrong_passwords_lock_the_account_for_a_while(site: Site) -> None:
    site.app.state.settings = replace(
        site.app.state.settings, login_max_failures=3, login_lockout_minutes=15
    )
    client, _ = site.client()
    assert _try_password(client, "rx", "wrong once").status_code == 200
    assert _try_password(client, "rx", PASSWORD).status_code == 303  # a success resets the run
    for attempt in range(3):
        assert _try_password(client, "rx", f"wrong {attempt}").status_code == 200
    locked = _try_password(client, "rx", PASSWORD)  # even the right password, while locked
    assert locked.status_code == 429 and "locked until" in locked.text
    assert _try_password(client, "ry", PASSWORD).status_code == 303  # others are unaffected
    with session_scope(site.url) as session:
        rows = session.execute(
            select(AuditEvent.action, AuditEvent.user_id).order_by(AuditEvent.seq)
        ).all()
        assert audit.verify(session) is None
    rx, ry = site.users["rx"], site.users["ry"]
    assert rows == [
        ("login_failed", rx), ("login", rx),
        ("login_failed", rx), ("login_failed", rx), ("login_failed", rx),
        ("login_locked", rx), ("login", ry),
    ]  # fmt: skip
    # The lock lifts once the last failure is older than the lockout.
    site.app.state.settings = replace(site.app.state.settings, login_lockout_minutes=0)
    assert _try_password(client, "rx", PASSWORD).status_code == 303


def test_cards_are_blurred_until_revealed_and_reveals_are_audited(site: Site) -> None:
    client, token = site.client("rx")
    x = site.x
    cards = client.get(f"/api/cases/{x.case_id}/queue").json()["cards"]
    first = cards[0]
    served = client.get(first["representative"]["blurred"])
    assert served.headers["content-type"] == "image/jpeg"
    picture = np.asarray(Image.open(io.BytesIO(served.content)).convert("RGB"), dtype=np.int16)
    assert (picture[..., 0] == picture[..., 1]).all() and (picture[..., 1] == picture[..., 2]).all()
    media_id = first["representative"]["media_id"]
    with session_scope(site.url) as session:
        thumb = get_preview(session, media_id, THUMB)
    assert served.content != thumb
    page = client.get(f"/cases/{x.case_id}/queue")
    assert page.status_code == 200 and "data:image" not in page.text
    url = f"/api/cases/{x.case_id}/items/{x.exhibit_id}/{media_id}/reveal"
    revealed = client.post(url, headers={"X-CSRF-Token": token}).json()
    assert revealed["images"][0].startswith("data:image/jpeg;base64,")
    assert revealed["wellbeing"]["today"] == 1
    assert client.get("/api/me").json()["wellbeing"]["week"] == 1
    with session_scope(site.url) as session:
        events = session.scalars(select(AuditEvent.body).where(AuditEvent.action == "reveal"))
        assert any(f'"media_id":{media_id}' in body for body in events)


def test_the_openapi_document_needs_a_session(site: Site) -> None:
    anonymous, _ = site.client()
    assert anonymous.get("/api/openapi.json").status_code == 401
    client, _ = site.client("rx")
    paths = client.get("/api/openapi.json").json()["paths"]
    assert "/api/cases/{case_id}/cards/{key}/grade" in paths


@pytest.mark.parametrize("role", ["analyst", "admin"])
def test_roles_without_review_rights_get_no_pictures(site: Site, role: str) -> None:
    client, token = site.client({"analyst": "ana", "admin": "adm"}[role])
    x = site.x
    item = f"/api/cases/{x.case_id}/items/{x.exhibit_id}/{x.groups[0][0]}"
    assert client.get(item + "/blurred").status_code == 404
    assert client.post(item + "/reveal", headers={"X-CSRF-Token": token}).status_code == 404

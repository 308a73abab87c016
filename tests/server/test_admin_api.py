"""Bank and token administration over the web API: admins only, CSRF-checked, audited."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from safeguard.banks.bank_files import import_bank_file
from safeguard.demo.corpus import DemoCorpus
from safeguard.review.settings import ReviewSettings
from safeguard.store.database import session_scope
from safeguard.store.review_models import AuditEvent
from safeguard.web.app import create_app
from safeguard.web.deps import CSRF_HEADER
from tests.review.helpers import make_user
from tests.web.conftest import login


def test_admins_list_and_toggle_banks_and_manage_tokens(
    database_url: str, demo_corpus: DemoCorpus
) -> None:
    summary = import_bank_file(demo_corpus.bank_csv, "demo", database_url=database_url)
    with session_scope(database_url) as session:
        make_user(session, "adm", "admin")
        make_user(session, "rev", "reviewer")
    app = create_app(ReviewSettings(), database_url)
    assert TestClient(app).get("/api/admin/banks").status_code == 401
    reviewer = TestClient(app)
    login(reviewer, "rev")
    assert reviewer.get("/api/admin/banks").status_code == 404
    admin = TestClient(app)
    csrf = {CSRF_HEADER: login(admin, "adm")}
    banks = admin.get("/api/admin/banks").json()
    assert [(b["name"], b["entries"], b["enabled"]) for b in banks] == [
        ("demo", summary.imported, True)
    ]
    assert banks[0]["source"].endswith("demo-bank.csv") and banks[0]["format"] == "csv"
    assert admin.post("/api/admin/banks/demo/disable").status_code == 403  # no CSRF
    off = admin.post("/api/admin/banks/demo/disable", headers=csrf)
    assert off.status_code == 200 and off.json()["enabled"] is False
    assert admin.post("/api/admin/banks/demo/enable", headers=csrf).json()["enabled"]

    issued = admin.post("/api/admin/tokens", json={"name": "hma"}, headers=csrf)
    assert issued.status_code == 201
    token = issued.json()["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    tool = TestClient(app)
    assert tool.get("/api/v1/banks", headers=bearer).json()[0]["name"] == "demo"
    listed = admin.get("/api/admin/tokens").json()
    assert [t["name"] for t in listed] == ["hma"] and token not in str(listed)
    assert admin.post("/api/admin/tokens/hma/revoke", headers=csrf).status_code == 204
    assert tool.get("/api/v1/banks", headers=bearer).status_code == 401
    assert admin.post("/api/admin/tokens/hma/revoke", headers=csrf).status_code == 404
    with session_scope(database_url) as session:
        actions = list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))
    assert [a for a in actions if a.startswith(("bank_", "token_"))] == [
        "bank_disable",
        "bank_enable",
        "token_issue",
        "token_revoke",
    ]


def test_the_lookup_api_is_in_the_openapi_document(database_url: str) -> None:
    with session_scope(database_url) as session:
        make_user(session, "adm", "admin")
    client = TestClient(create_app(ReviewSettings(), database_url))
    login(client, "adm")
    paths = client.get("/api/openapi.json").json()["paths"]
    assert {"/api/v1/lookup", "/api/v1/lookup/file", "/api/v1/banks"} <= set(paths)
    assert "/api/admin/tokens" in paths

"""The same change made from the CLI and from the web leaves the same audit record: one
service function per change (review/accounts.py, banks/admin.py) behind both doors."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner

from safeguard.cli.main import app as cli
from safeguard.store.database import session_scope
from safeguard.store.review_models import AuditEvent
from tests.web.conftest import Site

runner = CliRunner()
PASSPHRASE = "a long passphrase"


def _events(url: str, after: int) -> list[tuple[str, dict, str | None]]:
    with session_scope(url) as session:
        rows = session.scalars(select(AuditEvent).where(AuditEvent.id > after))
        bodies = [json.loads(row.body) for row in rows]
        return [(b["action"], b.get("detail") or {}, b.get("username")) for b in bodies]


def _last_id(url: str) -> int:
    with session_scope(url) as session:
        return session.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1)) or 0


def _cli(*args: str, input: str | None = None) -> None:
    result = runner.invoke(cli, list(args), input=input)
    assert result.exit_code == 0, result.output


def test_cli_and_web_write_the_same_audit_records(site: Site, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SAFEGUARD_DATABASE_URL", site.url)
    bank = tmp_path / "bank.txt"
    bank.write_text("md5 " + "0" * 32 + "\n", encoding="utf-8")
    _cli("bank", "import", str(bank), "--name", "b1")

    start = _last_id(site.url)
    _cli("user", "add", "cu", "--role", "reviewer", input=f"{PASSPHRASE}\n{PASSPHRASE}\n")
    _cli("user", "assign", "cu", "OP-X")
    _cli("bank", "disable", "b1")
    _cli("bank", "enable", "b1")
    _cli("token", "issue", "t1")
    _cli("token", "revoke", "t1")
    from_cli = _events(site.url, start)

    client, csrf = site.client("adm")
    start = _last_id(site.url)
    form = {"csrf_token": csrf, "username": "wu", "password": PASSPHRASE, "role": "reviewer"}
    assert client.post("/admin/users", data=form, follow_redirects=False).status_code == 303
    form = {"csrf_token": csrf, "username": "wu", "case": "OP-X"}
    assert client.post("/admin/assign", data=form, follow_redirects=False).status_code == 303
    headers = {"X-CSRF-Token": csrf}
    assert client.post("/api/admin/banks/b1/disable", headers=headers).status_code == 200
    assert client.post("/api/admin/banks/b1/enable", headers=headers).status_code == 200
    issued = client.post("/api/admin/tokens", json={"name": "t1"}, headers=headers)
    assert issued.status_code == 201
    assert client.post("/api/admin/tokens/t1/revoke", headers=headers).status_code == 204
    from_web = _events(site.url, start)

    def shape(events: list[tuple[str, dict, str | None]], user: str) -> list[tuple[str, dict]]:
        return [
            (action, {k: ("USER" if v == user else v) for k, v in (detail or {}).items()})
            for action, detail, _ in events
        ]

    assert [a for a, _, _ in from_cli] == [
        "user_add",
        "assign",
        "bank_disable",
        "bank_enable",
        "token_issue",
        "token_revoke",
    ]
    assert shape(from_cli, "cu") == shape(from_web, "wu")
    assert {who for _, _, who in from_web} == {"adm"}
    assert all(who.startswith("cli") for _, _, who in from_cli)

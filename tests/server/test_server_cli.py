"""The server's CLI commands: case export, API tokens; and migration 0004 matches its model."""

from __future__ import annotations

import json
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select
from typer.testing import CliRunner

from safeguard.cli.main import app
from safeguard.demo.corpus import DemoCorpus
from safeguard.store.api_tokens import resolve_token, token_hash
from safeguard.store.database import session_scope, upgrade
from safeguard.store.models import Base
from safeguard.store.review_models import AuditEvent
from safeguard.store.server_models import ApiToken
from tests.server.flow import ingest_demo

runner = CliRunner()


def test_the_migration_creates_exactly_the_token_model(database_url: str) -> None:
    engine = upgrade(database_url)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert [c for c in diff if "api_tokens" in repr(c)] == []


def test_case_export_writes_each_format_and_is_audited(
    database_url: str, demo_corpus: DemoCorpus, tmp_path: Path
) -> None:
    ingest_demo(database_url, demo_corpus, "OP-CLI", demo_corpus.bank_csv)
    for fmt in ("vics", "csv", "hma"):
        out = tmp_path / f"out.{fmt}"
        result = runner.invoke(app, ["case", "export", "OP-CLI", "--format", fmt, "-o", str(out)])
        assert result.exit_code == 0, result.output
        assert out.stat().st_size > 0
    lines = (tmp_path / "out.hma").read_text().splitlines()
    assert {line.split()[0] for line in lines} == {"md5", "sha1", "sha256", "pdq"}
    bad = runner.invoke(app, ["case", "export", "OP-CLI", "--profile", "us"])
    assert bad.exit_code == 1 and "scheme" in bad.stderr
    with session_scope(database_url) as session:
        bodies = session.scalars(select(AuditEvent.body).where(AuditEvent.action == "export"))
        formats = [json.loads(b)["detail"]["format"] for b in bodies]
    assert formats == ["vics", "csv", "hma"]


def test_tokens_are_issued_once_stored_hashed_and_revoked(database_url: str) -> None:
    issued = runner.invoke(app, ["token", "issue", "hma-bridge"])
    assert issued.exit_code == 0, issued.output
    token = issued.stdout.strip()
    assert token.startswith("sgt_") and len(token) > 40
    again = runner.invoke(app, ["token", "issue", "hma-bridge"])
    assert again.exit_code == 1 and "active" in again.stderr
    with session_scope(database_url) as session:
        row = session.scalar(select(ApiToken))
        assert row.token_hash == token_hash(token) and token not in row.token_hash
        assert resolve_token(session, token) is not None
    listed = runner.invoke(app, ["token", "list"])
    assert "hma-bridge" in listed.stdout and token not in listed.stdout
    assert runner.invoke(app, ["token", "revoke", "hma-bridge"]).exit_code == 0
    assert runner.invoke(app, ["token", "revoke", "hma-bridge"]).exit_code == 1
    with session_scope(database_url) as session:
        assert resolve_token(session, token) is None
    assert runner.invoke(app, ["token", "issue", "hma-bridge"]).exit_code == 0

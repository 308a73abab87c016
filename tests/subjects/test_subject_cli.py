"""The command line: subject link/show/split, referral priority/package, deconflict."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from typer.testing import CliRunner

from safeguard.cli.main import app
from safeguard.referrals.linking import LinkRecord, Person, Strong
from safeguard.store.database import session_scope
from tests.subjects.helpers import add_referral, user

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_cli_link_priority_package_and_deconflict(sqlite_url: str, tmp_path: Path) -> None:
    with session_scope(sqlite_url) as session:
        user(session, "alice", "analyst")
        user(session, "rob", "reviewer")
        add_referral(
            session,
            LinkRecord(
                "C-1", (Strong("email", "c@example.org"),), Person("Cal", "[red]Tag[/red]", None)
            ),
            annotations="sextortion",
        )
        add_referral(session, LinkRecord("C-2", (Strong("email", "c@example.org"),)))
    code, out = invoke("subject", "link", "--user", "rob")
    assert code == 1 and "reviewer may not do this" in out
    code, out = invoke("subject", "link", "--user", "alice")
    assert code == 0 and "2 referrals -> 1 subjects" in out
    code, out = invoke("subject", "show", "SUB-000001")
    assert code == 0 and "email c@example.org" in out and "[red]Tag[/red]" in out
    code, out = invoke("referral", "priority", "C-1", "--user", "alice")
    assert code == 0 and "band IMMEDIATE" in out and "child_at_immediate_risk" in out

    bad = tmp_path / "rules.toml"
    bad.write_text("version = 1\n[bands]\nlow = 3\n")
    code, out = invoke("referral", "priority", "C-1", "--user", "alice", "--rules", str(bad))
    assert code == 1 and "bad rule file" in out and "rules.toml" in out

    code, out = invoke("referral", "package", "C-1", "--user", "alice", "-o", str(tmp_path))
    assert code == 0
    js = next(tmp_path.glob("PKG-*.json"))
    assert json.loads(js.read_text())["priority"]["band"] == "immediate"
    assert next(tmp_path.glob("PKG-*.pdf")).read_bytes().startswith(b"%PDF")
    code, out = invoke(
        "referral", "disseminate", js.stem, "--to", "Example Force", "--user", "alice"
    )
    assert code == 0 and "disseminated to Example Force" in out

    keyring = tmp_path / "ring.json"
    keyring.write_text(
        json.dumps({"keys": [{"id": "q4", "secret": secrets.token_hex(32), "current": True}]})
    )
    export = tmp_path / "ours.json"
    code, out = invoke(
        "deconflict",
        "export",
        "--keyring",
        str(keyring),
        "--force",
        "Force A",
        "--user",
        "alice",
        "-o",
        str(export),
    )
    assert code == 0 and "c@example.org" not in export.read_text()
    other = tmp_path / "other.json"
    other.write_text(
        json.dumps({"keys": [{"id": "q4", "secret": secrets.token_hex(32), "current": True}]})
    )
    code, out = invoke(
        "deconflict", "import", str(export), "--keyring", str(other), "--user", "alice"
    )
    assert code == 1 and "wrong key" in out
    code, out = invoke(
        "subject", "split", "C-1", "C-2", "--reason", "different people", "--user", "alice"
    )
    assert code == 0
    code, out = invoke("subject", "list", "--no-linked-only")
    assert code == 0 and out.count("SUB-") == 2
    code, out = invoke("audit", "verify")
    assert code == 0

"""The audit log is anchored outside the store: a rewrite with a consistent head still fails."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from sqlalchemy import delete, select
from typer.testing import CliRunner

from safeguard.cli.main import app
from safeguard.store import audit
from safeguard.store.database import session_scope
from safeguard.store.hardening_models import AuditMac
from safeguard.store.keys import key_dir
from safeguard.store.review_models import AuditEvent, AuditHead


def _log(url: str, n: int) -> None:
    for i in range(n):
        with session_scope(url) as session:
            audit.append(session, "reveal", user_id=1, case_id=1, detail={"media_id": i})


def _verify(url: str) -> audit.Problem | None:
    with session_scope(url) as session:
        return audit.verify(session)


def _recompute(session, entries: list[audit.Entry]) -> None:
    """What an attacker with write access can do: rebuild a consistent chain and head."""
    session.execute(delete(AuditEvent))
    prev = None
    for entry in entries:
        prev = audit.make_entry(
            prev, entry.action, user_id=entry.user_id, case_id=entry.case_id, at=entry.at
        )
        session.add(
            AuditEvent(
                seq=prev.seq,
                at=prev.at,
                user_id=prev.user_id,
                action=prev.action,
                case_id=prev.case_id,
                body=prev.body,
                prev_hash=prev.prev_hash,
                hash=prev.hash,
            )
        )
    head = session.get(AuditHead, 1)
    if prev is None:
        session.delete(head)
    else:
        head.seq, head.hash = prev.seq, prev.hash


def test_the_key_is_created_outside_the_database_with_mode_0600(database_url: str) -> None:
    _log(database_url, 1)
    key = key_dir(database_url) / "audit.key"
    assert key.exists() and stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert _verify(database_url) is None


def test_a_deleted_tail_with_the_head_moved_back_is_detected(database_url: str) -> None:
    _log(database_url, 5)
    with session_scope(database_url) as session:
        entries = list(audit.iter_entries(session))
        session.execute(delete(AuditEvent).where(AuditEvent.seq > 3))
        session.execute(delete(AuditMac).where(AuditMac.seq > 3))
        head = session.get(AuditHead, 1)
        head.seq, head.hash = 3, entries[2].hash
    problem = _verify(database_url)
    assert problem is not None and "tail deleted" in problem.reason


def test_an_emptied_log_after_activity_is_detected(database_url: str) -> None:
    _log(database_url, 3)
    with session_scope(database_url) as session:
        _recompute(session, [])
        session.execute(delete(AuditMac))
    problem = _verify(database_url)
    assert problem is not None and "emptied" in problem.reason


def test_a_recomputed_chain_without_an_entry_is_detected(database_url: str) -> None:
    _log(database_url, 4)
    with session_scope(database_url) as session:
        entries = list(audit.iter_entries(session))
        assert audit.verify_entries(entries, (entries[-1].seq, entries[-1].hash)) is None
        _recompute(session, entries[:1] + entries[2:])  # entry 2 gone, the rest renumbered
    with session_scope(database_url) as session:
        rebuilt = list(audit.iter_entries(session))
        head = session.get(AuditHead, 1)
        assert audit.verify_entries(rebuilt, (head.seq, head.hash)) is None  # the chain alone
    assert _verify(database_url) is not None


def test_recomputed_entries_after_the_checkpoint_fail_their_macs(database_url: str) -> None:
    _log(database_url, 3)
    with session_scope(database_url) as session:
        entries = list(audit.iter_entries(session))
        # keep the checkpoint's entries, forge a fourth (no key: no valid MAC)
        forged = audit.make_entry(entries[-1], "grade", user_id=9, case_id=1)
        session.add(
            AuditEvent(
                seq=forged.seq,
                at=forged.at,
                user_id=9,
                action="grade",
                case_id=1,
                body=forged.body,
                prev_hash=forged.prev_hash,
                hash=forged.hash,
            )
        )
        session.get(AuditHead, 1).seq = forged.seq
        session.get(AuditHead, 1).hash = forged.hash
    problem = _verify(database_url)
    assert problem is not None and problem.seq == 4 and "no MAC" in problem.reason


def test_audit_verify_command_fails_on_a_deleted_tail(sqlite_url: str, tmp_path: Path) -> None:
    _log(sqlite_url, 3)
    runner = CliRunner()
    assert runner.invoke(app, ["audit", "verify"]).exit_code == 0
    with session_scope(sqlite_url) as session:
        last = session.scalar(select(AuditEvent).where(AuditEvent.seq == 2))
        session.execute(delete(AuditEvent).where(AuditEvent.seq == 3))
        session.get(AuditHead, 1).seq, session.get(AuditHead, 1).hash = 2, last.hash
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 1 and "tail deleted" in result.stderr

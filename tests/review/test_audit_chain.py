"""The audit log is a hash chain: any single edit, deletion or reordering is found."""

from __future__ import annotations

import dataclasses
import json

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select, update
from typer.testing import CliRunner

from safeguard.cli.main import app
from safeguard.store import audit
from safeguard.store.database import session_scope
from safeguard.store.review_models import AuditEvent


def chain(n: int) -> list[audit.Entry]:
    entries: list[audit.Entry] = []
    for i in range(n):
        entries.append(
            audit.make_entry(
                entries[-1] if entries else None,
                ["reveal", "grade", "full_view", "export"][i % 4],
                user_id=i % 3 + 1,
                username=f"user{i % 3 + 1}",
                case_id=1,
                detail={"media_id": i, "sha256": f"{i:064x}"},
                at=audit.timestamp(),
            )
        )
    return entries


def head(entries: list[audit.Entry]) -> tuple[int, str] | None:
    return (entries[-1].seq, entries[-1].hash) if entries else None


def test_an_intact_chain_verifies() -> None:
    entries = chain(5)
    assert audit.verify_entries(entries, head(entries)) is None
    assert audit.verify_entries([], None) is None


FIELDS = ("seq", "at", "user_id", "action", "case_id", "body", "prev_hash", "hash")


def _edit(entry: audit.Entry, name: str) -> audit.Entry:
    value = getattr(entry, name)
    if name == "body":
        body = json.loads(value)
        body["detail"]["media_id"] = -1
        new = audit.canonical_json(body)
    elif isinstance(value, int):
        new = value + 1
    elif value is None:
        new = 99
    else:
        new = value[:-1] + ("0" if value[-1] != "0" else "1")
    return dataclasses.replace(entry, **{name: new})


@settings(max_examples=150, deadline=None)
@given(n=st.integers(1, 12), data=st.data())
def test_any_single_edit_deletion_or_reorder_is_detected(n: int, data) -> None:
    entries = chain(n)
    stored_head = head(entries)
    kind = data.draw(
        st.sampled_from(["edit", "delete", "reorder"] if n > 1 else ["edit", "delete"])
    )
    i = data.draw(st.integers(0, n - 1))
    tampered = list(entries)
    if kind == "edit":
        tampered[i] = _edit(entries[i], data.draw(st.sampled_from(FIELDS)))
    elif kind == "delete":
        del tampered[i]
    else:
        j = data.draw(st.integers(0, n - 1).filter(lambda j: j != i))
        # Swap the contents of two rows, each keeping the other's position (seq order).
        a, b = tampered[i], tampered[j]
        tampered[i], tampered[j] = b, a
    problem = audit.verify_entries(tampered, stored_head)
    assert problem is not None, (kind, i)


def test_the_problem_names_the_entry() -> None:
    entries = chain(6)
    edited = list(entries)
    edited[3] = _edit(entries[3], "body")
    problem = audit.verify_entries(edited, head(entries))
    assert problem.seq == 4 and "edited" in problem.reason
    missing = entries[:2] + entries[3:]
    assert audit.verify_entries(missing, head(entries)).seq == 3
    assert audit.verify_entries(entries[:-1], head(entries)) is not None


runner = CliRunner()


def test_audit_verify_finds_edits_and_deletions_in_the_store(database_url: str) -> None:
    with session_scope(database_url) as session:
        for i in range(5):
            audit.append(session, "reveal", user_id=1, username="ann", detail={"media_id": i})
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "intact: 5 entries" in result.stdout

    with session_scope(database_url) as session:
        body = session.scalar(select(AuditEvent.body).where(AuditEvent.seq == 3))
        session.execute(
            update(AuditEvent)
            .where(AuditEvent.seq == 3)
            .values(body=body.replace('"media_id":2', '"media_id":7'))
        )
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 1
    assert "entry 3" in result.stderr

    with session_scope(database_url) as session:
        session.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(body=body))
        session.execute(delete(AuditEvent).where(AuditEvent.seq == 5))
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 1 and "5" in result.stderr


def test_appends_chain_from_the_previous_entry(database_url: str) -> None:
    with session_scope(database_url) as session:
        first = audit.append(session, "login", user_id=1, username="ann")
    with session_scope(database_url) as session:
        second = audit.append(session, "reveal", user_id=1, username="ann", case_id=2)
        assert second.prev_hash == first.hash and second.seq == 2
        assert audit.verify(session) is None

"""The append-only, hash-chained audit log: append, read, verify.

Each event's ``body`` is its canonical JSON (sorted keys, no spaces) and its ``hash`` is
SHA-256(previous hash + body), the first event chaining from 64 zeros. ``audit_head`` keeps the
newest sequence number and hash, so that deleting the last entry is detected as well as editing,
deleting or reordering any other. Appends are serialised (an advisory lock on PostgreSQL, the
single writer on SQLite, and a unique sequence number everywhere).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from safeguard.store.review_models import AuditEvent, AuditHead

GENESIS = "0" * 64
_LOCK_KEY = 0x5AFE_A0D1


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def chain_hash(prev_hash: str, body: str) -> str:
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


def timestamp(when: datetime | None = None) -> str:
    """UTC, microseconds, 'Z': fixed width, so text order is time order."""
    when = (when or datetime.now(UTC)).astimezone(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Entry:
    """What verification looks at: the stored columns of one event."""

    seq: int
    at: str
    user_id: int | None
    action: str
    case_id: int | None
    body: str
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class Problem:
    seq: int
    reason: str

    def __str__(self) -> str:
        return f"entry {self.seq}: {self.reason}"


def make_entry(
    prev: Entry | None,
    action: str,
    *,
    user_id: int | None = None,
    username: str | None = None,
    case_id: int | None = None,
    detail: dict[str, Any] | None = None,
    at: str | None = None,
) -> Entry:
    """The next entry after ``prev`` (None for the first)."""
    seq = prev.seq + 1 if prev else 1
    at = at or timestamp()
    body = canonical_json(
        {
            "seq": seq,
            "at": at,
            "user_id": user_id,
            "username": username,
            "action": action,
            "case_id": case_id,
            "detail": detail or {},
        }
    )
    prev_hash = prev.hash if prev else GENESIS
    return Entry(seq, at, user_id, action, case_id, body, prev_hash, chain_hash(prev_hash, body))


def verify_entries(entries: Iterable[Entry], head: tuple[int, str] | None) -> Problem | None:
    """The first problem in a chain read in ``seq`` order, or None if it is intact.

    ``head`` is the stored (seq, hash) of the newest entry (None when nothing was ever logged).
    """
    prev_hash, expected_seq = GENESIS, 1
    for entry in entries:
        if entry.seq != expected_seq:
            return Problem(expected_seq, f"missing (found entry {entry.seq} next)")
        try:
            body = json.loads(entry.body)
        except ValueError:
            return Problem(entry.seq, "body is not JSON")
        stored = (entry.seq, entry.at, entry.user_id, entry.action, entry.case_id)
        claimed = tuple(body.get(k) for k in ("seq", "at", "user_id", "action", "case_id"))
        if stored != claimed:
            return Problem(entry.seq, "columns disagree with the hashed body")
        if entry.prev_hash != prev_hash:
            return Problem(entry.seq, "does not chain from the entry before it")
        if chain_hash(prev_hash, entry.body) != entry.hash:
            return Problem(entry.seq, "hash does not match its content (edited)")
        prev_hash, expected_seq = entry.hash, expected_seq + 1
    last = expected_seq - 1
    if head is None:
        return Problem(1, "log has entries but no head") if last else None
    if head[0] != last:
        return Problem(
            head[0], f"missing: the log ends at entry {last} but the head says {head[0]}"
        )
    if head[1] != prev_hash:
        return Problem(last, "the head's hash does not match the last entry")
    return None


def _last(session: Session) -> Entry | None:
    row = session.scalar(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1))
    return _entry(row) if row else None


def _entry(row: AuditEvent) -> Entry:
    return Entry(
        row.seq, row.at, row.user_id, row.action, row.case_id, row.body, row.prev_hash, row.hash
    )


def append(
    session: Session,
    action: str,
    *,
    user_id: int | None = None,
    username: str | None = None,
    case_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> Entry:
    """Append one event in the caller's transaction: it commits or rolls back with the action."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(_LOCK_KEY)))
    entry = make_entry(
        _last(session),
        action,
        user_id=user_id,
        username=username,
        case_id=case_id,
        detail=detail,
    )
    session.add(
        AuditEvent(
            seq=entry.seq,
            at=entry.at,
            user_id=entry.user_id,
            action=entry.action,
            case_id=entry.case_id,
            body=entry.body,
            prev_hash=entry.prev_hash,
            hash=entry.hash,
        )
    )
    head = session.get(AuditHead, 1)
    if head is None:
        session.add(AuditHead(id=1, seq=entry.seq, hash=entry.hash))
    else:
        head.seq, head.hash = entry.seq, entry.hash
    session.flush()
    return entry


def iter_entries(session: Session, chunk: int = 5000) -> Iterator[Entry]:
    last = 0
    while True:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.seq > last).order_by(AuditEvent.seq).limit(chunk)
        ).all()
        if not rows:
            return
        for row in rows:
            yield _entry(row)
        last = rows[-1].seq


def verify(session: Session) -> Problem | None:
    head = session.get(AuditHead, 1)
    return verify_entries(iter_entries(session), (head.seq, head.hash) if head else None)


def count_since(session: Session, user_id: int, actions: Sequence[str], since: datetime) -> int:
    return session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(
            AuditEvent.user_id == user_id,
            AuditEvent.action.in_(actions),
            AuditEvent.at >= timestamp(since),
        )
    )


def recent(session: Session, limit: int = 50, case_id: int | None = None) -> list[dict[str, Any]]:
    """Newest events first, as their hashed bodies."""
    query = select(AuditEvent.body).order_by(AuditEvent.seq.desc()).limit(limit)
    if case_id is not None:
        query = query.where(AuditEvent.case_id == case_id)
    return [json.loads(body) for body in session.scalars(query)]


def recent_actions(
    session: Session, user_id: int, actions: tuple[str, ...], since: datetime
) -> list[tuple[str, str]]:
    """(at, action) of the user's events of these kinds since ``since``, newest first."""
    rows = session.execute(
        select(AuditEvent.at, AuditEvent.action)
        .where(
            AuditEvent.user_id == user_id,
            AuditEvent.action.in_(actions),
            AuditEvent.at >= timestamp(since),
        )
        .order_by(AuditEvent.seq.desc())
    ).all()
    return [(at, action) for at, action in rows]


def items_seen_since(
    session: Session, user_id: int, actions: Sequence[str], since: datetime
) -> int:
    """Distinct items (exhibit, media) in the user's events of these kinds since ``since``: a
    reveal and then a full view of the same item count once."""
    seen = set()
    for body in session.scalars(
        select(AuditEvent.body).where(
            AuditEvent.user_id == user_id,
            AuditEvent.action.in_(actions),
            AuditEvent.at >= timestamp(since),
        )
    ):
        detail = json.loads(body).get("detail") or {}
        seen.add((detail.get("exhibit_id"), detail.get("media_id"), detail.get("sha256")))
    return len(seen)

"""The append-only, hash-chained audit log: append, read, verify.

Each event's ``body`` is its canonical JSON (sorted keys, no spaces) and its ``hash`` is
SHA-256(previous hash + body), the first event chaining from 64 zeros. ``audit_head`` keeps the
newest sequence number and hash, so that deleting the last entry is detected as well as editing,
deleting or reordering any other. Appends are serialised (an advisory lock on PostgreSQL, the
single writer on SQLite, and a unique sequence number everywhere).

Anchors outside the database (anyone who can write to the store could otherwise delete the
tail and move the head back, empty the log, or recompute the whole chain): every entry gets an
HMAC-SHA256 of its hash under the ``audit`` key of the key folder (``store/keys.py``), kept in
``audit_macs``; and after each commit the newest (seq, hash, MAC) is written to a checkpoint
file in the key folder. ``verify`` then also requires a valid MAC on every entry since MACs
began, and that the log still holds the checkpoint's entry, unchanged: a shortened, emptied or
recomputed log fails even with a consistent head.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from safeguard.store.hardening_models import AuditMac
from safeguard.store.keys import key_dir, load_key, store_id
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
    url = session.get_bind().url
    mac = entry_mac(load_key(url, AUDIT_KEY), entry.seq, entry.hash)
    session.add(AuditMac(seq=entry.seq, mac=mac))
    session.flush()
    session.info[_PENDING] = (url, Checkpoint(entry.seq, entry.hash, mac))
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
    """The first problem of the chain, its MACs or its checkpoint; None when all hold."""
    head = session.get(AuditHead, 1)
    problem = verify_entries(iter_entries(session), (head.seq, head.hash) if head else None)
    if problem is not None:
        return problem
    url = session.get_bind().url
    macs = {row.seq: row.mac for row in session.scalars(select(AuditMac))}
    hashes = {seq: h for seq, h in session.execute(select(AuditEvent.seq, AuditEvent.hash))}
    return verify_anchors(hashes, macs, read_checkpoint(url), load_key(url, AUDIT_KEY))


# --- anchors outside the database ----------------------------------------------------------

AUDIT_KEY = "audit"
_PENDING = "safeguard_audit_checkpoint"


@dataclass(frozen=True)
class Checkpoint:
    """The newest committed entry as last seen, kept outside the database."""

    seq: int
    hash: str
    mac: str
    #: The first entry that had a MAC (older ones predate the anchors).
    since: int = 1


def entry_mac(key: bytes, seq: int, entry_hash: str) -> str:
    return hmac.new(key, f"{seq}:{entry_hash}".encode(), hashlib.sha256).hexdigest()


def verify_anchors(
    hashes: Mapping[int, str],
    macs: Mapping[int, str],
    checkpoint: Checkpoint | None,
    key: bytes,
) -> Problem | None:
    """Problems a chain-consistent log can still have: missing or wrong MACs, or a log that no
    longer holds its checkpoint's entry (tail deleted, emptied, recomputed).

    Entries before the first MAC are legacy; from the checkpoint's ``since`` (or the first MAC)
    on, every entry needs its MAC.
    """
    if checkpoint is not None:
        if not hmac.compare_digest(checkpoint.mac, entry_mac(key, checkpoint.seq, checkpoint.hash)):
            return Problem(checkpoint.seq, "the checkpoint outside the store is not genuine")
        if not hashes:
            return Problem(
                checkpoint.seq,
                f"the log is empty but entry {checkpoint.seq} had been written (emptied)",
            )
        last = max(hashes)
        if last < checkpoint.seq:
            return Problem(
                last + 1,
                f"missing: the log ends at entry {last} but entry {checkpoint.seq} had been "
                "written (tail deleted)",
            )
        if hashes.get(checkpoint.seq) != checkpoint.hash:
            return Problem(checkpoint.seq, "differs from the checkpoint (log rewritten)")
    since = checkpoint.since if checkpoint is not None else min(macs, default=None)
    if since is None:
        return None
    for seq in sorted(s for s in hashes if s >= since):
        mac = macs.get(seq)
        if mac is None:
            return Problem(seq, "has no MAC (added or rewritten outside Safeguard)")
        if not hmac.compare_digest(mac, entry_mac(key, seq, hashes[seq])):
            return Problem(seq, "MAC does not match (rewritten, or the audit key changed)")
    return None


def checkpoint_path(url: str | URL) -> Path:
    return key_dir(url) / f"audit-{store_id(url)}.checkpoint"


def read_checkpoint(url: str | URL) -> Checkpoint | None:
    try:
        data = json.loads(checkpoint_path(url).read_text(encoding="utf-8"))
        return Checkpoint(int(data["seq"]), str(data["hash"]), str(data["mac"]), int(data["since"]))
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError):
        return Checkpoint(0, "", "", 1)  # unreadable: fails as not genuine


def write_checkpoint(url: str | URL, checkpoint: Checkpoint) -> None:
    """Move the checkpoint forward (never back), atomically, one writer at a time."""
    path = checkpoint_path(url)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        current = read_checkpoint(url)
        if current is not None and current.seq >= checkpoint.seq:
            return
        # Anchors begin with the first checkpoint; entries before it are legacy (no MAC).
        since = current.since if current is not None else checkpoint.seq
        body = {"seq": checkpoint.seq, "hash": checkpoint.hash, "mac": checkpoint.mac}
        body["since"] = since
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(body, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)


@event.listens_for(Session, "after_commit")
def _checkpoint_after_commit(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if pending is not None:
        write_checkpoint(*pending)


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)


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

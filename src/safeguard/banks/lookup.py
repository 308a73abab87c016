"""Lookups for other tools: which enabled bank entries match given hashes (digests or PDQ).

Digests match exactly through the store's indexes; PDQ hashes match within a Hamming radius
through each enabled bank's PDQ index (built once, persisted by ``banks.indexes`` and kept
in memory here: a bank's entries never change after import, so the cache is keyed by the
database, the bank's id and its creation time).

Many server processes: each keeps a *bank snapshot* per database (the bank version, the enabled
banks, their PDQ indexes built) and answers every lookup from one snapshot. Every change to the
set of enabled banks moves ``bank_versions`` on in its own transaction (``store.shared_state``);
each lookup reads that one row (``SAFEGUARD_BANK_REFRESH_SECONDS``, default 0: every lookup) and,
when it moved, builds the new snapshot (indexes included) before using it, while lookups running
alongside in the same process go on answering from the old one. A bank replaced on any process
is therefore used by every process from its next lookup on (at most the refresh interval later),
and since ``import_bank_file(replace=True)`` retires the old version (kept, disabled) and adds
the new one in one transaction, a lookup answers from the old version or the new one, never a
mixture or neither.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from safeguard.banks.indexes import bank_index
from safeguard.domain.signals import PDQ_MIN_QUALITY, PDQ_RADIUS
from safeguard.hashing import DEFAULT_MAX_PIXELS, analyse_file
from safeguard.matching.pdq_index import PdqIndex
from safeguard.store.models import Bank, BankEntry
from safeguard.store.shared_state import bank_version

DIGESTS = ("md5", "sha1", "sha256")
KINDS = (*DIGESTS, "pdq")
HEX_LENGTH = {"md5": 32, "sha1": 40, "sha256": 64, "pdq": 64}
#: PDQ hashes of lower quality in a bank are not matched on (as in triage).
MIN_QUALITY = PDQ_MIN_QUALITY
_CACHE_SIZE = 32


@dataclass(frozen=True)
class HashQuery:
    kind: str
    value: str


@dataclass(frozen=True)
class Found:
    """One bank entry that matches one queried hash."""

    query: int
    bank: str
    entry_id: int
    category: str
    distance: int
    victim_identified: bool
    series: str | None
    self_generated: bool
    external_id: str | None


def normalise(query: HashQuery) -> HashQuery:
    """Lower-case hex of the right length for its kind, else ValueError."""
    kind = query.kind.lower()
    if kind not in KINDS:
        raise ValueError(f"unknown hash kind {query.kind!r}; one of {', '.join(KINDS)}")
    value = query.value.strip().lower()
    if len(value) != HEX_LENGTH[kind] or any(c not in "0123456789abcdef" for c in value):
        raise ValueError(f"a {kind} hash is {HEX_LENGTH[kind]} hex characters")
    return HashQuery(kind, value)


class _IndexCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: OrderedDict[tuple, PdqIndex | None] = OrderedDict()
        self._building: dict[tuple, threading.Lock] = {}

    def get(self, session: Session, bank: Bank | BankRef) -> PdqIndex | None:
        key = (str(session.get_bind().url), bank.id, bank.created_at.isoformat(), MIN_QUALITY)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            building = self._building.setdefault(key, threading.Lock())
        with building:  # one thread builds a bank's index; the others wait for it
            with self._lock:
                if key in self._items:
                    return self._items[key]
            index = bank_index(session, bank, MIN_QUALITY)
            with self._lock:
                self._items[key] = index
                self._building.pop(key, None)
                while len(self._items) > _CACHE_SIZE:
                    self._items.popitem(last=False)
        return index


INDEXES = _IndexCache()


@dataclass(frozen=True)
class BankRef:
    """An enabled bank as a snapshot holds it (what the PDQ index cache needs, and the name)."""

    id: int
    name: str
    created_at: datetime


@dataclass(frozen=True)
class BankSnapshot:
    version: int
    banks: tuple[BankRef, ...]
    indexes: tuple[PdqIndex | None, ...]


def refresh_seconds() -> float:
    try:
        return max(0.0, float(os.environ.get("SAFEGUARD_BANK_REFRESH_SECONDS", "0")))
    except ValueError:
        return 0.0


class _Snapshots:
    """The current bank snapshot of each database this process serves."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._current: dict[str, tuple[BankSnapshot, float]] = {}
        self._building: dict[str, threading.Lock] = {}

    def get(self, session: Session) -> BankSnapshot:
        url = str(session.get_bind().url)
        now = time.monotonic()
        with self._lock:
            held = self._current.get(url)
            building = self._building.setdefault(url, threading.Lock())
        if held is not None and now - held[1] < refresh_seconds():
            return held[0]
        version = bank_version(session)  # read before the banks: never label old banks as new
        if held is not None and held[0].version == version:
            with self._lock:
                self._current[url] = (held[0], now)
            return held[0]
        # One request builds the new snapshot; others answer from the old one meanwhile (or,
        # with none yet, wait for it).
        if not building.acquire(blocking=held is None):
            return held[0]  # type: ignore[index]
        try:
            with self._lock:
                current = self._current.get(url)
            if current is not None and current[0].version == version:
                return current[0]
            snapshot = _build_snapshot(session, version)
            with self._lock:
                self._current[url] = (snapshot, time.monotonic())
            return snapshot
        finally:
            building.release()


def _build_snapshot(session: Session, version: int) -> BankSnapshot:
    rows = session.execute(
        select(Bank.id, Bank.name, Bank.created_at).where(Bank.enabled.is_(True)).order_by(Bank.id)
    ).all()
    banks = tuple(BankRef(*row) for row in rows)
    return BankSnapshot(version, banks, tuple(INDEXES.get(session, b) for b in banks))


SNAPSHOTS = _Snapshots()


def bank_snapshot(session: Session) -> BankSnapshot:
    """The enabled banks (with their PDQ indexes) that this process's lookups answer from."""
    return SNAPSHOTS.get(session)


def warm(session: Session) -> None:
    """Build or load the PDQ index of every enabled bank (e.g. right after an import)."""
    for bank in session.scalars(select(Bank).where(Bank.enabled.is_(True))):
        INDEXES.get(session, bank)


def lookup(session: Session, queries: list[HashQuery], radius: int = PDQ_RADIUS) -> list[Found]:
    """Every match of each query (by position) among enabled banks, nearest first."""
    queries = [normalise(q) for q in queries]
    snapshot = bank_snapshot(session)
    banks = snapshot.banks
    names = {b.id: b.name for b in banks}
    found: list[Found] = []
    hits: list[tuple[int, int, int]] = []  # (query, entry id, distance)
    for kind in DIGESTS:
        wanted: dict[str, list[int]] = {}
        for position, q in enumerate(queries):
            if q.kind == kind:
                wanted.setdefault(q.value, []).append(position)
        if not wanted or not names:
            continue
        column = getattr(BankEntry, kind)
        rows = session.execute(
            select(BankEntry.id, column).where(
                column.in_(list(wanted)), BankEntry.bank_id.in_(list(names))
            )
        )
        hits.extend((p, entry_id, 0) for entry_id, value in rows for p in wanted[value])
    pdq = [(p, q.value) for p, q in enumerate(queries) if q.kind == "pdq"]
    if pdq and banks:
        array = np.frombuffer(b"".join(bytes.fromhex(v) for _, v in pdq), np.uint8).reshape(-1, 32)
        for index in snapshot.indexes:
            if index is None:
                continue
            result = index.search(array, radius, workers=1)
            hits.extend(
                (pdq[q][0], entry_id, distance)
                for q, entry_id, distance in zip(
                    result.query_index.tolist(),
                    result.ids.tolist(),
                    result.distances.tolist(),
                    strict=True,
                )
            )
    if not hits:
        return found
    entries: dict[int, BankEntry] = {}
    ids = sorted({entry_id for _, entry_id, _ in hits})
    for start in range(0, len(ids), 5000):
        part = ids[start : start + 5000]
        entries.update(
            (e.id, e) for e in session.scalars(select(BankEntry).where(BankEntry.id.in_(part)))
        )
    for position, entry_id, distance in sorted(hits, key=lambda h: (h[0], h[2], h[1])):
        e = entries[entry_id]
        found.append(
            Found(
                position,
                names[e.bank_id],
                e.id,
                e.category,
                distance,
                e.victim_identified,
                e.series,
                e.self_generated,
                e.external_id,
            )
        )
    return found


@dataclass(frozen=True)
class FileHashes:
    md5: str
    sha1: str
    sha256: str
    size: int
    mime: str
    pdq: str | None
    pdq_quality: int | None
    #: Why the picture was not decoded, when it was refused for its declared size.
    rejected: str | None = None

    def queries(self) -> list[HashQuery]:
        digests = [HashQuery(k, getattr(self, k)) for k in DIGESTS]
        return digests + ([HashQuery("pdq", self.pdq)] if self.pdq else [])


def hash_bytes(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> FileHashes:
    """Digests and (for a picture) PDQ of a file's bytes, in memory (nothing is written).

    A picture declaring more than ``max_pixels`` pixels is not decoded (``rejected`` says so).
    """
    facts = analyse_file(data, max_pixels=max_pixels)
    d, image = facts.digests, facts.image
    error = facts.error or ""
    rejected = error if image is None and "over the limit" in error else None
    return FileHashes(
        d.md5,
        d.sha1,
        d.sha256,
        d.size,
        facts.mime,
        image.pdq if image else None,
        image.pdq_quality if image else None,
        rejected,
    )

"""Banks of known hashes: creating, filling in batches, listing and reading back."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from safeguard.domain.known import BankRecord, ExtraHash
from safeguard.store.cases import AlreadyExists, NotFound
from safeguard.store.models import Bank, BankEntry
from safeguard.store.shared_state import bump_bank_version
from safeguard.store.video import has_video_parts, insert_bank_entries, with_video_parts

_RECORD_FIELDS = (
    "category",
    "md5",
    "sha1",
    "sha256",
    "pdq",
    "pdq_quality",
    "victim_identified",
    "series",
    "self_generated",
    "source",
    "external_id",
)


def _extras_json(record: BankRecord) -> str | None:
    if not record.extra_hashes:
        return None
    return json.dumps([[e.name, e.value, e.placement] for e in record.extra_hashes])


def _extras(text: str | None) -> tuple[ExtraHash, ...]:
    if not text:
        return ()
    return tuple(ExtraHash(name, value, placement) for name, value, placement in json.loads(text))


def _row(bank_id: int, line: int, record: BankRecord) -> dict:
    row = {"bank_id": bank_id, "line": line, **{f: getattr(record, f) for f in _RECORD_FIELDS}}
    row["extra_hashes"] = _extras_json(record)
    return row


def _record(entry: BankEntry) -> BankRecord:
    fields = {f: getattr(entry, f) for f in _RECORD_FIELDS}
    return BankRecord(**fields, extra_hashes=_extras(entry.extra_hashes))


@dataclass(frozen=True)
class BankSummary:
    id: int
    name: str
    scheme: str
    format: str | None
    source: str | None
    enabled: bool
    entries: int


def create_bank(
    session: Session, name: str, *, scheme: str, source: str | None, format: str | None
) -> Bank:
    if session.scalar(select(Bank).where(Bank.name == name)) is not None:
        raise AlreadyExists(f"bank {name!r} already exists")
    bank = Bank(name=name, scheme=scheme, source=source, format=format)
    session.add(bank)
    session.flush()
    bump_bank_version(session)
    return bank


def get_bank(session: Session, name: str) -> Bank:
    bank = session.scalar(select(Bank).where(Bank.name == name))
    if bank is None:
        raise NotFound(f"no bank {name!r}")
    return bank


def set_enabled(session: Session, name: str, enabled: bool) -> Bank:
    bank = get_bank(session, name)
    if bank.enabled != enabled:
        bank.enabled = enabled
        bump_bank_version(session)
    return bank


def retire_bank(session: Session, name: str, stamp: str) -> Bank:
    """Rename and disable a bank that a newer version replaces.

    Its entries stay: earlier matches and charging reports cite them.
    """
    bank = get_bank(session, name)
    bank.name = f"{name} (replaced {stamp})"
    bank.enabled = False
    session.flush()
    bump_bank_version(session)
    return bank


def add_entries(session: Session, bank_id: int, batch: Sequence[tuple[int, BankRecord]]) -> None:
    """Insert (line number, record) pairs as entries of a bank."""
    if not batch:
        return
    rows = [_row(bank_id, line, record) for line, record in batch]
    if any(has_video_parts(record) for _, record in batch):
        insert_bank_entries(session, rows, [record for _, record in batch])  # vPDQ, segments
        return
    session.execute(insert(BankEntry), rows)


def list_banks(session: Session) -> list[BankSummary]:
    counts = (
        select(BankEntry.bank_id, func.count().label("n")).group_by(BankEntry.bank_id).subquery()
    )
    rows = session.execute(
        select(Bank, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.bank_id == Bank.id)
        .order_by(Bank.name)
    )
    return [BankSummary(b.id, b.name, b.scheme, b.format, b.source, b.enabled, n) for b, n in rows]


def iter_records(session: Session, bank_id: int) -> Iterator[BankRecord]:
    """Every entry of a bank as a BankRecord, streamed in insertion order."""
    query = select(BankEntry).where(BankEntry.bank_id == bank_id).order_by(BankEntry.id)
    entries = session.scalars(query.execution_options(yield_per=5000))
    records = ((e.id, _record(e)) for e in entries)
    yield from with_video_parts(session, bank_id, records)

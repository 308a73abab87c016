"""Persisted PDQ indexes of banks, so a 10M-hash bank is not re-read from the database per ingest.

A bank's entries never change after import (a newer version is a new bank), so an index file is
keyed by the database, the bank's id, creation time and entry count, and the quality floor.
Index files are memory-mapped on load; a missing or unreadable file is rebuilt.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from safeguard.matching.pdq_index import PdqIndex
from safeguard.store.database import database_url
from safeguard.store.keys import state_dir
from safeguard.store.models import Bank, BankEntry


def index_dir(url: str | URL | None = None) -> Path:
    """``SAFEGUARD_INDEX_DIR``, else ``indexes/`` beside the store (store/keys.py's state dir),
    never the current directory of whoever runs the command."""
    configured = os.environ.get("SAFEGUARD_INDEX_DIR")
    if configured:
        return Path(configured)
    return state_dir(url if url is not None else database_url()) / "indexes"


def _entries(session: Session, bank_id: int, min_quality: int):  # noqa: ANN202
    return (
        select(BankEntry.id, BankEntry.pdq)
        .where(
            BankEntry.bank_id == bank_id,
            BankEntry.pdq.is_not(None),
            (BankEntry.pdq_quality.is_(None)) | (BankEntry.pdq_quality >= min_quality),
        )
        .order_by(BankEntry.id)
    )


def bank_index(session: Session, bank: Bank, min_quality: int) -> PdqIndex | None:
    """The PDQ index of one bank (None when it holds no usable PDQ hash)."""
    count = session.scalar(
        select(func.count()).select_from(_entries(session, bank.id, min_quality).subquery())
    )
    if not count:
        return None
    identity = "|".join(
        (
            str(session.get_bind().url),
            str(bank.id),
            bank.created_at.isoformat(),
            str(count),
            str(min_quality),
        )
    )
    digest = hashlib.sha256(identity.encode()).hexdigest()[:20]
    path = index_dir(session.get_bind().url) / f"bank-{bank.id}-{digest}.pdq"
    if path.exists():
        try:
            return PdqIndex.load(path)
        except (OSError, ValueError):
            path.unlink(missing_ok=True)
    rows = session.execute(
        _entries(session, bank.id, min_quality).execution_options(yield_per=50_000)
    )
    index = PdqIndex.from_hex((entry_id, pdq) for entry_id, pdq in rows)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        index.save(path)
    except OSError:
        pass  # a read-only cache location only costs speed
    return index

"""One ingest per exhibit at a time, across processes and machines.

Two ingests of one exhibit at once would race on the same rows (on PostgreSQL one ended in a
raw IntegrityError traceback); the second now stops at once with a clear message. PostgreSQL:
a session-level advisory lock on a connection held for the whole ingest. SQLite: an exclusive
``flock`` on a file beside the database.
"""

from __future__ import annotations

import fcntl
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import select, text

from safeguard.store.database import database_url as default_url
from safeguard.store.database import engine_for
from safeguard.store.keys import state_dir, store_id

_NAMESPACE = 0x5AFE_0E01


class ExhibitBusy(RuntimeError):
    """Another process is ingesting this exhibit."""


def _key(case: str, exhibit: str) -> int:
    digest = hashlib.sha256(f"{case}\x00{exhibit}".encode()).digest()
    return int.from_bytes(digest[:4], "big", signed=True)


@contextmanager
def exhibit_lock(url: str | None, case: str, exhibit: str) -> Iterator[None]:
    """Hold the exhibit's ingest lock, or raise ExhibitBusy if another process holds it."""
    url = url or default_url()
    busy = ExhibitBusy(
        f"exhibit {exhibit} of case {case} is being ingested by another process; run the "
        "command again when that one has finished (it resumes where it stops)"
    )
    engine = engine_for(url)
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            got = connection.scalar(
                select(text(f"pg_try_advisory_lock({_NAMESPACE}, {_key(case, exhibit)})"))
            )
            connection.commit()
            if not got:
                raise busy
            try:
                yield
            finally:
                connection.execute(
                    text(f"SELECT pg_advisory_unlock({_NAMESPACE}, {_key(case, exhibit)})")
                )
                connection.commit()
        return
    folder = state_dir(url) / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    name = hashlib.sha256(f"{case}\x00{exhibit}".encode()).hexdigest()[:24]
    with open(folder / f"ingest-{store_id(url)}-{name}.lock", "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise busy from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)

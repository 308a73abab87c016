"""Batched inserts (ignoring rows already present, or returning new ids), on SQLite and
PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import islice

from sqlalchemy import insert as sql_insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from safeguard.store.models import Base


def insert_ignoring_duplicates(
    session: Session, model: type[Base], rows: Sequence[dict], conflict: Sequence[str]
) -> None:
    """INSERT ... ON CONFLICT (conflict) DO NOTHING for a batch of rows."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(model).on_conflict_do_nothing(index_elements=list(conflict))
    session.execute(statement, list(rows))


def insert_returning_ids(session: Session, model: type[Base], rows: Iterable[dict]) -> list[int]:
    """Insert rows in bulk (INSERT ... RETURNING, in steps) and return their ids in row order."""
    ids: list[int] = []
    statement = sql_insert(model).returning(
        model.id,  # type: ignore[attr-defined]
        sort_by_parameter_order=True,
    )
    for part in in_steps(rows, 10_000):
        ids.extend(session.scalars(statement, part).all())
    return ids


def in_steps(items: Iterable[dict], size: int) -> Iterator[list[dict]]:
    """Lists of up to ``size`` items (``itertools.batched`` arrived only in Python 3.12)."""
    iterator = iter(items)
    while part := list(islice(iterator, size)):
        yield part

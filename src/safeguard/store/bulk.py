"""Batched inserts that ignore rows already present, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Sequence

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

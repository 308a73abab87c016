"""Skips and notes of the review workstation (tables of migration 0016)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from safeguard.store.models import utcnow
from safeguard.store.review_models import User
from safeguard.store.workstation_models import ReviewNote, ReviewSkip


def skipped(session: Session, user_id: int) -> dict[str, datetime]:
    """Card key -> when this user last skipped it."""
    rows = session.execute(
        select(ReviewSkip.card_key, ReviewSkip.skipped_at).where(ReviewSkip.user_id == user_id)
    )
    return dict(rows.all())


def add_skip(session: Session, user_id: int, card_key: str) -> None:
    row = session.scalar(
        select(ReviewSkip).where(ReviewSkip.user_id == user_id, ReviewSkip.card_key == card_key)
    )
    if row is None:
        session.add(ReviewSkip(user_id=user_id, card_key=card_key))
    else:
        row.skipped_at = utcnow()
    session.flush()


def clear_skip(session: Session, user_id: int, card_key: str) -> None:
    session.execute(
        delete(ReviewSkip).where(ReviewSkip.user_id == user_id, ReviewSkip.card_key == card_key)
    )


@dataclass(frozen=True)
class Note:
    media_id: int
    username: str
    text: str
    at: str


def add_note(session: Session, exhibit_id: int, media_id: int, user_id: int, text: str) -> None:
    session.add(ReviewNote(exhibit_id=exhibit_id, media_id=media_id, user_id=user_id, text=text))
    session.flush()


def notes(session: Session, items: Iterable[tuple[int, int]]) -> dict[tuple[int, int], list[Note]]:
    """(exhibit, media) -> its notes, oldest first."""
    wanted = set(items)
    found: dict[tuple[int, int], list[Note]] = defaultdict(list)
    exhibits = sorted({e for e, _ in wanted})
    if not exhibits:
        return found
    rows = session.execute(
        select(ReviewNote, User.username)
        .join(User, User.id == ReviewNote.user_id)
        .where(ReviewNote.exhibit_id.in_(exhibits))
        .order_by(ReviewNote.id)
    )
    for note, username in rows.all():
        key = (note.exhibit_id, note.media_id)
        if key in wanted:
            stamp = note.created_at.strftime("%Y-%m-%d %H:%M") if note.created_at else ""
            found[key].append(Note(note.media_id, username, note.text, stamp))
    return found

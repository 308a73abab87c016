"""Votes, supervisor decisions, review outcomes and group splits, keyed by (exhibit, media)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from safeguard.store.models import utcnow
from safeguard.store.review_models import ModerationDecision, ReviewOutcome, ReviewSplit, Vote

Item = tuple[int, int]  # (exhibit_id, media_id)


class DuplicateVote(ValueError):
    pass


def lock_item(session: Session, exhibit_id: int, media_id: int) -> None:
    """Serialise votes and decisions on one item until the transaction ends.

    On PostgreSQL a transaction-scoped advisory lock on (exhibit, media), so that recomputing
    the outcome sees every committed vote and two first votes never both insert the outcome row
    (the two-key advisory lock space is separate from the audit log's one-key lock). SQLite has
    one writer: the vote's INSERT already waits for it.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(exhibit_id, media_id)))


def add_vote(
    session: Session, exhibit_id: int, media_id: int, user_id: int, category: str, **flags: bool
) -> Vote:
    """Record a vote; the database's unique constraint is the final word on one vote each."""
    lock_item(session, exhibit_id, media_id)
    if session.scalar(
        select(Vote.id).where(
            Vote.exhibit_id == exhibit_id, Vote.media_id == media_id, Vote.user_id == user_id
        )
    ):
        raise DuplicateVote("this reviewer has already voted on this item")
    vote = Vote(
        exhibit_id=exhibit_id, media_id=media_id, user_id=user_id, category=category, **flags
    )
    session.add(vote)
    session.flush()
    return vote


def votes_for(session: Session, exhibit_id: int, media_id: int) -> list[Vote]:
    return list(
        session.scalars(
            select(Vote)
            .where(Vote.exhibit_id == exhibit_id, Vote.media_id == media_id)
            .order_by(Vote.id)
        )
    )


def voted_items(session: Session, user_id: int, exhibit_ids: Iterable[int]) -> set[Item]:
    ids = list(exhibit_ids)
    if not ids:
        return set()
    rows = session.execute(
        select(Vote.exhibit_id, Vote.media_id).where(
            Vote.user_id == user_id, Vote.exhibit_id.in_(ids)
        )
    )
    return {(e, m) for e, m in rows}


def decision_for(session: Session, exhibit_id: int, media_id: int) -> ModerationDecision | None:
    return session.scalar(
        select(ModerationDecision).where(
            ModerationDecision.exhibit_id == exhibit_id, ModerationDecision.media_id == media_id
        )
    )


def add_decision(
    session: Session,
    exhibit_id: int,
    media_id: int,
    user_id: int,
    category: str,
    note: str | None = None,
    **flags: bool,
) -> ModerationDecision:
    lock_item(session, exhibit_id, media_id)
    if decision_for(session, exhibit_id, media_id) is not None:
        raise DuplicateVote("this item has already been decided by a supervisor")
    row = ModerationDecision(
        exhibit_id=exhibit_id,
        media_id=media_id,
        user_id=user_id,
        category=category,
        note=note,
        **flags,
    )
    session.add(row)
    session.flush()
    return row


def outcomes(session: Session, exhibit_ids: Iterable[int]) -> dict[Item, ReviewOutcome]:
    ids = list(exhibit_ids)
    if not ids:
        return {}
    rows = session.scalars(select(ReviewOutcome).where(ReviewOutcome.exhibit_id.in_(ids)))
    return {(r.exhibit_id, r.media_id): r for r in rows}


def set_outcome(
    session: Session,
    exhibit_id: int,
    media_id: int,
    *,
    state: str,
    votes: int,
    category: str | None,
    method: str | None,
    flags: dict[str, Any],
) -> ReviewOutcome:
    row = session.scalar(
        select(ReviewOutcome).where(
            ReviewOutcome.exhibit_id == exhibit_id, ReviewOutcome.media_id == media_id
        )
    )
    if row is None:
        row = ReviewOutcome(exhibit_id=exhibit_id, media_id=media_id)
        session.add(row)
    row.state, row.votes, row.category, row.method = state, votes, category, method
    for name, value in flags.items():
        setattr(row, name, bool(value))
    row.updated_at = utcnow()
    session.flush()
    return row


def splits(session: Session, exhibit_ids: Iterable[int]) -> set[Item]:
    ids = list(exhibit_ids)
    if not ids:
        return set()
    rows = session.execute(
        select(ReviewSplit.exhibit_id, ReviewSplit.media_id).where(ReviewSplit.exhibit_id.in_(ids))
    )
    return {(e, m) for e, m in rows}


def add_split(session: Session, exhibit_id: int, media_id: int, user_id: int) -> bool:
    if (exhibit_id, media_id) in splits(session, [exhibit_id]):
        return False
    session.add(ReviewSplit(exhibit_id=exhibit_id, media_id=media_id, user_id=user_id))
    session.flush()
    return True


def my_votes(session: Session, user_id: int, exhibit_ids: Iterable[int]) -> list[Vote]:
    ids = list(exhibit_ids)
    if not ids:
        return []
    return list(
        session.scalars(
            select(Vote).where(Vote.user_id == user_id, Vote.exhibit_id.in_(ids)).order_by(Vote.id)
        )
    )


def remove_vote(session: Session, exhibit_id: int, media_id: int, user_id: int) -> Vote | None:
    """Delete one reviewer's vote on an item (under the item's lock); returns what was removed."""
    lock_item(session, exhibit_id, media_id)
    vote = session.scalar(
        select(Vote).where(
            Vote.exhibit_id == exhibit_id, Vote.media_id == media_id, Vote.user_id == user_id
        )
    )
    if vote is not None:
        session.delete(vote)
        session.flush()
    return vote

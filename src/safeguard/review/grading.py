"""Grading: votes on a card, consensus, group splits and supervisor moderation, all audited.

A vote on a card is a vote on each of its members still waiting for this reviewer; each item's
outcome is recomputed from all its votes (see :mod:`safeguard.review.consensus`) and stored in
``review_outcomes``, which the case report reads. Callers commit (the session scope).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from safeguard.config import scheme as load_scheme
from safeguard.review.access import CAN_MODERATE, CAN_REVIEW, NotAllowed, require_role
from safeguard.review.consensus import Ballot, Grade, Outcome, decide
from safeguard.review.queue import Card, find_card
from safeguard.store import audit
from safeguard.store import votes as vote_store
from safeguard.store.models import Case
from safeguard.store.review_items import REVIEW_STATUSES, item_in_case
from safeguard.store.review_models import User


class ReviewError(ValueError):
    """The request makes sense but cannot be done now (already voted, nothing disputed...)."""


def _grade_of(row: object) -> Grade:
    return Grade(
        row.category,  # type: ignore[attr-defined]
        **{
            name: bool(getattr(row, name))
            for name in Grade.__dataclass_fields__
            if name != "category"
        },
    )


def check_category(case: Case, category: str) -> None:
    scheme = load_scheme(case.scheme)
    if category not in scheme or category == scheme.uncategorised:
        raise ReviewError(f"{category!r} is not a grade of the {scheme.name} scheme")


def recompute(session: Session, exhibit_id: int, media_id: int, required: int) -> Outcome:
    """Recompute and store one item's outcome from all its votes and any decision."""
    ballots = [
        Ballot(v.user_id, _grade_of(v)) for v in vote_store.votes_for(session, exhibit_id, media_id)
    ]
    row = vote_store.decision_for(session, exhibit_id, media_id)
    outcome = decide(ballots, required, _grade_of(row) if row else None)
    grade = outcome.grade
    vote_store.set_outcome(
        session,
        exhibit_id,
        media_id,
        state=outcome.state,
        votes=outcome.votes,
        category=grade.category if grade else None,
        method=outcome.method,
        flags=grade.flags() if grade else Grade("").flags(),
    )
    return outcome


def vote_item(
    session: Session,
    user: User,
    case: Case,
    exhibit_id: int,
    media_id: int,
    grade: Grade,
    required: int,
) -> Outcome:
    """One reviewer's vote on one item of the case (no audit: callers log the action)."""
    require_role(user, CAN_REVIEW)
    check_category(case, grade.category)
    if item_in_case(session, case.id, exhibit_id, media_id) not in REVIEW_STATUSES:
        raise NotAllowed("no such item to review")
    try:
        vote_store.add_vote(session, exhibit_id, media_id, user.id, grade.category, **grade.flags())
    except vote_store.DuplicateVote as error:
        raise ReviewError(str(error)) from None
    return recompute(session, exhibit_id, media_id, required)


def _card(session: Session, case: Case, key: str, user: User | None = None) -> Card:
    card = find_card(session, case.id, key, user.id if user else None)
    if card is None:
        raise NotAllowed("no such card")
    return card


def vote_card(
    session: Session, user: User, case: Case, key: str, grade: Grade, required: int
) -> list[Outcome]:
    """Grade every member of a card still waiting for this reviewer; one audit event."""
    require_role(user, CAN_REVIEW)
    check_category(case, grade.category)
    card = _card(session, case, key, user)
    members = card.open_for()
    if not members:
        raise ReviewError("you have already graded everything on this card")
    outcomes = [
        vote_item(session, user, case, m.item.exhibit_id, m.item.media_id, grade, required)
        for m in members
    ]
    audit.append(
        session,
        "grade",
        user_id=user.id,
        username=user.username,
        case_id=case.id,
        detail={
            "card": key,
            "exhibit": card.exhibit,
            "grade": grade.category,
            "flags": [k for k, v in grade.flags().items() if v],
            "items": [m.item.sha256 for m in members],
            "states": [o.state for o in outcomes],
        },
    )
    return outcomes


def split_off(session: Session, user: User, case: Case, key: str, media_id: int) -> str:
    """Take one member out of its near-duplicate group; returns the key of its own card."""
    require_role(user, CAN_REVIEW)
    card = _card(session, case, key)
    member = next((m for m in card.members if m.item.media_id == media_id), None)
    if member is None:
        raise NotAllowed("no such item on this card")
    if card.size < 2:
        raise ReviewError("a single item cannot be split")
    vote_store.add_split(session, card.exhibit_id, media_id, user.id)
    audit.append(
        session,
        "split",
        user_id=user.id,
        username=user.username,
        case_id=case.id,
        detail={"card": key, "exhibit": card.exhibit, "item": member.item.sha256},
    )
    return f"{card.exhibit_id}-m{media_id}"


def moderate(
    session: Session,
    user: User,
    case: Case,
    key: str,
    grade: Grade,
    required: int,
    note: str | None = None,
) -> list[Outcome]:
    """A supervisor's final grade for every disputed member of a card."""
    require_role(user, CAN_MODERATE)
    check_category(case, grade.category)
    card = _card(session, case, key)
    disputed = card.disputed()
    if not disputed:
        raise ReviewError("nothing on this card is disputed")
    outcomes = []
    for m in disputed:
        vote_store.add_decision(
            session,
            m.item.exhibit_id,
            m.item.media_id,
            user.id,
            grade.category,
            note,
            **grade.flags(),
        )
        outcomes.append(recompute(session, m.item.exhibit_id, m.item.media_id, required))
    audit.append(
        session,
        "moderate",
        user_id=user.id,
        username=user.username,
        case_id=case.id,
        detail={
            "card": key,
            "exhibit": card.exhibit,
            "grade": grade.category,
            "flags": [k for k, v in grade.flags().items() if v],
            "items": [m.item.sha256 for m in disputed],
            "note": note or "",
        },
    )
    return outcomes

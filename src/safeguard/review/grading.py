"""Grading: votes on a card, consensus, group splits and supervisor moderation, all audited.

A vote on a card is a vote on each of its members still waiting for this reviewer; each item's
outcome is recomputed from all its votes (see :mod:`safeguard.review.consensus`) and stored in
``review_outcomes``, which the case report reads. Callers commit (the session scope).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from safeguard.config import scheme as load_scheme
from safeguard.domain.review_policy import ReviewPolicy
from safeguard.review.access import CAN_MODERATE, CAN_REVIEW, NotAllowed, require_role
from safeguard.review.consensus import FINAL, Ballot, Grade, Outcome, decide
from safeguard.review.queue import Card, find_card
from safeguard.store import audit, workstation
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


Policy = ReviewPolicy | int


def as_policy(policy: Policy) -> ReviewPolicy:
    """A policy; a bare number means that many agreeing votes for every kind of item."""
    if isinstance(policy, ReviewPolicy):
        return policy
    return ReviewPolicy(policy, policy, 0)


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
    required: Policy,
) -> Outcome:
    """One reviewer's vote on one item of the case (no audit: callers log the action)."""
    require_role(user, CAN_REVIEW)
    check_category(case, grade.category)
    status = item_in_case(session, case.id, exhibit_id, media_id)
    if status not in REVIEW_STATUSES:
        raise NotAllowed("no such item to review")
    try:
        vote_store.add_vote(session, exhibit_id, media_id, user.id, grade.category, **grade.flags())
    except vote_store.DuplicateVote as error:
        raise ReviewError(str(error)) from None
    return recompute(session, exhibit_id, media_id, as_policy(required).required(status))


def _card(
    session: Session,
    case: Case,
    key: str,
    user: User | None = None,
    policy: ReviewPolicy | None = None,
) -> Card:
    card = find_card(session, case.id, key, user.id if user else None, policy)
    if card is None:
        raise NotAllowed("no such card")
    return card


def vote_card(
    session: Session, user: User, case: Case, key: str, grade: Grade, required: Policy
) -> list[Outcome]:
    """Grade every member of a card still waiting for this reviewer; one audit event."""
    require_role(user, CAN_REVIEW)
    check_category(case, grade.category)
    card = _card(session, case, key, user, as_policy(required))
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
    workstation.clear_skip(session, user.id, key)
    return outcomes


def withdraw_votes(
    session: Session, user: User, case: Case, key: str, required: Policy
) -> list[Outcome]:
    """Take back this reviewer's votes on the members of a card that are not final yet (undo,
    or the first half of changing a vote); one audit event with the grades withdrawn."""
    require_role(user, CAN_REVIEW)
    policy = as_policy(required)
    card = _card(session, case, key, user, policy)
    members = [m for m in card.members if m.voted_by_me and m.state != FINAL]
    if not members:
        raise ReviewError("none of your votes on this card can be changed (none, or final)")
    withdrawn, outcomes = [], []
    for m in members:
        vote = vote_store.remove_vote(session, m.item.exhibit_id, m.item.media_id, user.id)
        if vote is not None:
            withdrawn.append({"item": m.item.sha256, "grade": vote.category})
        outcomes.append(
            recompute(session, m.item.exhibit_id, m.item.media_id, policy.required(m.item.status))
        )
    audit.append(
        session,
        "vote_withdrawn",
        user_id=user.id,
        username=user.username,
        case_id=case.id,
        detail={"card": key, "exhibit": card.exhibit, "withdrawn": withdrawn},
    )
    return outcomes


def change_votes(
    session: Session, user: User, case: Case, key: str, grade: Grade, required: Policy
) -> list[Outcome]:
    """Replace this reviewer's votes on a card's members that are not final by ``grade``."""
    check_category(case, grade.category)
    withdraw_votes(session, user, case, key, required)
    return vote_card(session, user, case, key, grade, required)


def skip_card(
    session: Session, user: User, case: Case, key: str, policy: ReviewPolicy | None = None
) -> None:
    """Remember that this reviewer skipped a card: it stays at the end of their queue."""
    require_role(user, CAN_REVIEW)
    _card(session, case, key, user, policy)
    workstation.add_skip(session, user.id, key)
    audit.append(
        session,
        "skip",
        user_id=user.id,
        username=user.username,
        case_id=case.id,
        detail={"card": key},
    )


def add_note(
    session: Session, user: User, case: Case, exhibit_id: int, media_id: int, text: str
) -> None:
    """A reviewer's note on one item (shown to reviewers and the supervisor). Audited."""
    require_role(user, CAN_REVIEW)
    if item_in_case(session, case.id, exhibit_id, media_id) not in REVIEW_STATUSES:
        raise NotAllowed("no such item to review")
    text = text.strip()
    if not text:
        raise ReviewError("a note cannot be empty")
    if len(text) > 2000:
        raise ReviewError("a note is at most 2000 characters")
    workstation.add_note(session, exhibit_id, media_id, user.id, text)
    audit.append(
        session,
        "note",
        user_id=user.id,
        username=user.username,
        case_id=case.id,
        detail={"exhibit_id": exhibit_id, "media_id": media_id, "text": text},
    )


def split_off(
    session: Session,
    user: User,
    case: Case,
    key: str,
    media_id: int,
    policy: ReviewPolicy | None = None,
) -> str:
    """Take one member out of its card; returns the key of its own card."""
    require_role(user, CAN_REVIEW)
    card = _card(session, case, key, policy=policy)
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
    required: Policy,
    note: str | None = None,
) -> list[Outcome]:
    """A supervisor's final grade for every disputed member of a card."""
    require_role(user, CAN_MODERATE)
    check_category(case, grade.category)
    policy = as_policy(required)
    card = _card(session, case, key, policy=policy)
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
        outcomes.append(
            recompute(session, m.item.exhibit_id, m.item.media_id, policy.required(m.item.status))
        )
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


def my_grades(session: Session, user: User, cards: list[Card]) -> dict[str, dict]:
    """Per card: the grades this reviewer gave its members and whether they can still change
    them (a vote can change until the item's grade is final)."""
    exhibit_ids = sorted({c.exhibit_id for c in cards})
    votes = {
        (v.exhibit_id, v.media_id): v for v in vote_store.my_votes(session, user.id, exhibit_ids)
    }
    found = {}
    for card in cards:
        mine = [
            (m, votes[(m.item.exhibit_id, m.item.media_id)])
            for m in card.members
            if (m.item.exhibit_id, m.item.media_id) in votes
        ]
        found[card.key] = {
            "grades": sorted({v.category for _, v in mine}),
            "states": sorted({m.state for m, _ in mine}),
            "changeable": any(m.state != FINAL for m, _ in mine),
        }
    return found

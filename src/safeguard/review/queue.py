"""Review cards: one per near-duplicate group (or single item), in the order a reviewer needs them.

A card's key is "<exhibit id>-g<group id>" for a near-duplicate group, or "<exhibit id>-m<media
id>" for an item on its own (perceptual matches, conflicts, ungrouped items and items a reviewer
split off their group). Order: possibly self-produced first (the camera is on other media of the
same exhibit), then first-generation before conflicts before confirmations, larger groups first.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from safeguard.review.consensus import DISPUTED, PENDING
from safeguard.store import votes as vote_store
from safeguard.store.review_items import ReviewItem, group_representatives, review_items
from safeguard.store.review_models import ReviewOutcome

STATUS_ORDER = {"new": 0, "conflicting": 1, "graded_perceptual": 2}
STATUS_LABELS = {
    "new": "First generation",
    "conflicting": "Banks disagree",
    "graded_perceptual": "Confirm perceptual match",
}


@dataclass
class Member:
    item: ReviewItem
    state: str = PENDING
    category: str | None = None
    votes: int = 0
    voted_by_me: bool = False


@dataclass
class Card:
    key: str
    exhibit_id: int
    exhibit: str
    status: str
    representative: ReviewItem
    members: list[Member] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.members)

    @property
    def possibly_self_produced(self) -> bool:
        return any(m.item.shared_device for m in self.members)

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    def open_for(self) -> list[Member]:
        """Members still waiting for this user's vote."""
        return [m for m in self.members if m.state == PENDING and not m.voted_by_me]

    def disputed(self) -> list[Member]:
        return [m for m in self.members if m.state == DISPUTED]

    def sort_key(self) -> tuple:
        return (
            not self.possibly_self_produced,
            STATUS_ORDER.get(self.status, 9),
            -self.size,
            self.exhibit,
            self.representative.media_id,
        )


def card_key(item: ReviewItem, split: bool) -> str:
    if item.group_id is None or split:
        return f"{item.exhibit_id}-m{item.media_id}"
    return f"{item.exhibit_id}-g{item.group_id}"


def case_cards(session: Session, case_id: int, user_id: int | None = None) -> list[Card]:
    """Every card of a case with its members' review state, in queue order."""
    items = review_items(session, case_id)
    exhibit_ids = sorted({i.exhibit_id for i in items})
    splits = vote_store.splits(session, exhibit_ids)
    outcomes: dict[tuple[int, int], ReviewOutcome] = vote_store.outcomes(session, exhibit_ids)
    mine = vote_store.voted_items(session, user_id, exhibit_ids) if user_id else set()
    representatives = group_representatives(session, exhibit_ids)
    grouped: dict[str, list[ReviewItem]] = defaultdict(list)
    for item in items:
        grouped[card_key(item, (item.exhibit_id, item.media_id) in splits)].append(item)
    cards = []
    for key, members in grouped.items():
        first = members[0]
        wanted = representatives.get(first.group_id) if "-g" in key else first.media_id
        representative = next((m for m in members if m.media_id == wanted), first)
        card = Card(key, first.exhibit_id, first.exhibit, first.status, representative)
        for item in members:
            outcome = outcomes.get((item.exhibit_id, item.media_id))
            card.members.append(
                Member(
                    item,
                    state=outcome.state if outcome else PENDING,
                    category=outcome.category if outcome else None,
                    votes=outcome.votes if outcome else 0,
                    voted_by_me=(item.exhibit_id, item.media_id) in mine,
                )
            )
        cards.append(card)
    return sorted(cards, key=Card.sort_key)


def review_queue(session: Session, case_id: int, user_id: int) -> list[Card]:
    """Cards with at least one member waiting for this reviewer's vote."""
    return [c for c in case_cards(session, case_id, user_id) if c.open_for()]


def moderation_queue(session: Session, case_id: int) -> list[Card]:
    """Cards with at least one disputed member."""
    return [c for c in case_cards(session, case_id) if c.disputed()]


def find_card(session: Session, case_id: int, key: str, user_id: int | None = None) -> Card | None:
    return next((c for c in case_cards(session, case_id, user_id) if c.key == key), None)

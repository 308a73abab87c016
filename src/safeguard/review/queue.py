"""Review cards: one per near-duplicate group (or single item), in the order a reviewer needs them.

A card's key is "<exhibit id>-g<group id>" for a near-duplicate group, "<exhibit id>-p<bank entry
id>" for the perceptual matches of one bank entry awaiting confirmation (one decision confirms
them all), or "<exhibit id>-m<media id>" for an item on its own (conflicts, ungrouped items and
items a reviewer split off their card). Order: possibly self-produced first (the camera is on
other media of the same exhibit), then first-generation before conflicts before confirmations,
larger groups first; cards the reviewer skipped go last, oldest skip first.

Never cards: items that could not be decoded (nothing to look at: the case report lists them as
"could not be viewed" for the examiner) and perceptual matches the review policy accepts without
a person (see :class:`safeguard.domain.review_policy.ReviewPolicy`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from safeguard.domain.review_policy import ReviewPolicy
from safeguard.review.consensus import DISPUTED, PENDING
from safeguard.store import votes as vote_store
from safeguard.store import workstation
from safeguard.store.review_items import (
    BankSuggestion,
    ReviewItem,
    group_representatives,
    occurrences,
    review_items,
)
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

    @property
    def suggestion(self) -> BankSuggestion | None:
        return self.representative.suggestion

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
    if split:
        return f"{item.exhibit_id}-m{item.media_id}"
    if item.status == "graded_perceptual" and item.suggestion is not None:
        return f"{item.exhibit_id}-p{item.suggestion.entry_id}"
    if item.group_id is None:
        return f"{item.exhibit_id}-m{item.media_id}"
    return f"{item.exhibit_id}-g{item.group_id}"


def needs_a_person(item: ReviewItem, policy: ReviewPolicy) -> bool:
    """Whether an item becomes (part of) a card: viewable, and not accepted by the policy."""
    if item.undecodable:
        return False
    found = item.suggestion
    if found is None:
        return True
    return not policy.auto_accepted(item.status, found.distance, found.hash_kind)


def case_cards(
    session: Session,
    case_id: int,
    user_id: int | None = None,
    policy: ReviewPolicy | None = None,
) -> list[Card]:
    """Every card of a case with its members' review state, in queue order."""
    policy = policy or ReviewPolicy()
    items = [i for i in review_items(session, case_id) if needs_a_person(i, policy)]
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


@dataclass(frozen=True)
class QueueView:
    """What a reviewer asked to see: filters (None: any) and a sort order."""

    status: str | None = None
    #: "yes": cards with a bank's suggested grade; "no": cards without one.
    bank: str | None = None
    self_produced: bool | None = None
    exhibit: str | None = None
    #: A folder prefix that one of the card's files must lie under.
    folder: str | None = None
    #: "queue" (default order), "size" (largest first), "size-asc", "exhibit".
    sort: str = "queue"


SORTS = ("queue", "size", "size-asc", "exhibit")


def arrange(
    cards: list[Card],
    view: QueueView,
    skips: dict[str, datetime] | None = None,
    folders: dict[str, list[str]] | None = None,
) -> list[Card]:
    """Filter and sort cards; skipped cards go last, oldest skip first. Pure.

    ``folders`` maps a card key to the paths of its files (only needed for a folder filter).
    """
    skips = skips or {}

    def keep(card: Card) -> bool:
        if view.status and card.status != view.status:
            return False
        if view.bank == "yes" and card.suggestion is None:
            return False
        if view.bank == "no" and card.suggestion is not None:
            return False
        if view.self_produced is not None and card.possibly_self_produced != view.self_produced:
            return False
        if view.exhibit and card.exhibit != view.exhibit:
            return False
        if view.folder:
            prefix = view.folder.strip("/") + "/"
            if not any(p.startswith(prefix) for p in (folders or {}).get(card.key, [])):
                return False
        return True

    kept = [c for c in cards if keep(c)]
    order = {c.key: i for i, c in enumerate(cards)}
    secondary = {
        "queue": lambda c: order[c.key],
        "size": lambda c: (-c.size, order[c.key]),
        "size-asc": lambda c: (c.size, order[c.key]),
        "exhibit": lambda c: (c.exhibit, order[c.key]),
    }.get(view.sort, lambda c: order[c.key])
    never = datetime.max
    return sorted(
        kept,
        key=lambda c: (c.key in skips, skips.get(c.key, never).replace(tzinfo=None), secondary(c)),
    )


def review_queue(
    session: Session,
    case_id: int,
    user_id: int,
    policy: ReviewPolicy | None = None,
    view: QueueView | None = None,
) -> list[Card]:
    """Cards with at least one member waiting for this reviewer's vote, as they asked to see
    them (skipped cards last)."""
    cards = [c for c in case_cards(session, case_id, user_id, policy) if c.open_for()]
    view = view or QueueView()
    folders = None
    if view.folder:
        folders = {}
        for card in cards:
            found = occurrences(session, card.exhibit_id, [m.item.media_id for m in card.members])
            folders[card.key] = [o.path for paths in found.values() for o in paths]
    return arrange(cards, view, workstation.skipped(session, user_id), folders)


def moderation_queue(
    session: Session, case_id: int, policy: ReviewPolicy | None = None
) -> list[Card]:
    """Cards with at least one disputed member."""
    return [c for c in case_cards(session, case_id, policy=policy) if c.disputed()]


def find_card(
    session: Session,
    case_id: int,
    key: str,
    user_id: int | None = None,
    policy: ReviewPolicy | None = None,
) -> Card | None:
    return next((c for c in case_cards(session, case_id, user_id, policy) if c.key == key), None)


def card_details(
    session: Session, cards: list[Card]
) -> tuple[dict[int, list], dict[tuple[int, int], list]]:
    """The files (path, date, size) of every member of the cards, and reviewers' notes per item."""
    files: dict[int, list] = {}
    by_exhibit: dict[int, list[int]] = defaultdict(list)
    for card in cards:
        by_exhibit[card.exhibit_id].extend(m.item.media_id for m in card.members)
    for exhibit_id, media_ids in by_exhibit.items():
        files.update(occurrences(session, exhibit_id, media_ids))
    items = [(m.item.exhibit_id, m.item.media_id) for c in cards for m in c.members]
    return files, workstation.notes(session, items)

"""Turn the matches found for one media item into its status and grade.

Exact matches are authoritative: when any exist, perceptual matches do not change the outcome.
Agreement means every match of the deciding kind gives the same category; otherwise the item is
``conflicting`` and goes to a person.
"""

from __future__ import annotations

from dataclasses import dataclass

from safeguard.domain.kinds import MatchKind, MediaKind, MediaStatus


@dataclass(frozen=True)
class FoundMatch:
    """A candidate match before it is stored: which entry, how, and how close."""

    bank_entry_id: int
    category: str
    kind: MatchKind
    hash_kind: str
    distance: int
    variant: int | None = None


@dataclass(frozen=True)
class Decision:
    status: MediaStatus
    category: str | None
    #: The match cited as the reason for an automatic grade (None when not graded).
    deciding: FoundMatch | None


#: When several digests of one entry match, cite the strongest.
_DIGEST_STRENGTH = {"sha256": 0, "sha1": 1, "md5": 2}


def _best(matches: list[FoundMatch]) -> FoundMatch:
    return min(
        matches,
        key=lambda m: (m.distance, _DIGEST_STRENGTH.get(m.hash_kind, 3), m.bank_entry_id),
    )


def decide(kind: MediaKind, matches: list[FoundMatch]) -> Decision:
    exact = [m for m in matches if m.kind is MatchKind.EXACT]
    perceptual = [m for m in matches if m.kind is MatchKind.PERCEPTUAL]
    for deciding_kind, found in (
        (MediaStatus.GRADED_EXACT, exact),
        (MediaStatus.GRADED_PERCEPTUAL, perceptual),
    ):
        if not found:
            continue
        categories = {m.category for m in found}
        if len(categories) > 1:
            return Decision(MediaStatus.CONFLICTING, None, None)
        return Decision(deciding_kind, categories.pop(), _best(found))
    if kind is MediaKind.OTHER:
        return Decision(MediaStatus.NOT_MEDIA, None, None)
    return Decision(MediaStatus.NEW, None, None)

"""vPDQ matching of an exhibit's videos against the known videos of every enabled bank.

Part of the matching phase (``triage.exhibit_matching``): videos with vPDQ frames and no exact
match are searched with the vPDQ defaults (frame distance <= 31, quality >= 50). Two outcomes
grade a video perceptually (hash kind ``vpdq``, distance = median frame distance, rounded):

* a **full match**: at least 80 % of its frames are in the known video and the reverse; it takes
  the bank entry's category;
* a **clip**: at least 80 % of its frames are in the known video, but not the reverse (a part
  cut out, perhaps re-encoded); where it falls in the known video is kept. When the bank entry
  has segments, the clip takes the most severe category of the segments it overlaps; a clip that
  overlaps none is not graded from that entry (a person decides).

A video that merely *contains* a known video (a compilation) is not graded: the rest of it may
be first-generation material, which must reach a reviewer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from safeguard.config import scheme as load_scheme
from safeguard.domain.kinds import MatchKind, MediaKind
from safeguard.domain.known import Segment
from safeguard.matching.decide import FoundMatch
from safeguard.matching.video_match import (
    DEFAULT_DISTANCE,
    DEFAULT_QUALITY,
    VideoBankIndex,
    VideoMatch,
)
from safeguard.store.models import ExhibitMedia, Match, Media
from safeguard.store.video import (
    KnownVideo,
    enabled_bank_videos,
    media_frames,
    store_match_details,
)

#: A clip must overlap a segment by more than this (s) to take its category: sampling at one
#: frame a second puts a clip's edges up to about a second out.
SEGMENT_TOLERANCE_S = 0.5


@dataclass(frozen=True)
class VideoFound:
    """One vPDQ match of a media item: the candidate for ``decide`` and how it lines up."""

    found: FoundMatch
    match: VideoMatch


def segment_category(
    segments: Iterable[Segment], span: tuple[float, float], scheme_name: str
) -> str | None:
    """The most severe category of the segments that ``span`` (s) overlaps, or None."""
    start, end = span
    tolerance = min(SEGMENT_TOLERANCE_S, max(end - start, 0.0) / 4)
    hits = [s.category for s in segments if s.overlap_s(start, end) > tolerance]
    if not hits:
        return None
    categories = load_scheme(scheme_name)
    return max(hits, key=lambda code: categories.get(code).severity if code in categories else -100)


def _category(known: KnownVideo, match: VideoMatch) -> str | None:
    if match.is_match or not known.segments:
        return known.category
    if match.span_s is None:
        return None
    return segment_category(known.segments, match.span_s, known.scheme)


def find_video_matches(
    session: Session,
    exhibit_id: int,
    skip: Iterable[int] = (),
    *,
    distance: int = DEFAULT_DISTANCE,
    quality: int = DEFAULT_QUALITY,
) -> dict[int, list[VideoFound]]:
    """Full and clip matches of the exhibit's videos (less ``skip``), by media id."""
    known = {k.entry_id: k for k in enabled_bank_videos(session)}
    if not known:
        return {}
    skipped = set(skip)
    video_ids = [
        media_id
        for media_id in session.scalars(
            select(Media.id)
            .join(ExhibitMedia, ExhibitMedia.media_id == Media.id)
            .where(ExhibitMedia.exhibit_id == exhibit_id, Media.kind == str(MediaKind.VIDEO))
            .order_by(Media.id)
        )
        if media_id not in skipped
    ]
    frames = media_frames(session, video_ids)
    if not frames:
        return {}
    index = VideoBankIndex(
        [(entry_id, k.frames) for entry_id, k in known.items()],
        distance=distance,
        quality=quality,
    )
    found: dict[int, list[VideoFound]] = {}
    for media_id in sorted(frames):
        for entry_id, match in index.search(frames[media_id]):
            if not (match.is_match or match.is_clip):
                continue
            category = _category(known[entry_id], match)
            if category is None:
                continue
            candidate = FoundMatch(
                entry_id,
                category,
                MatchKind.PERCEPTUAL,
                "vpdq",
                int(round(match.distance_median)),
            )
            found.setdefault(media_id, []).append(VideoFound(candidate, match))
    return found


class VideoMatching:
    """The vPDQ step of matching an exhibit: candidates before the Match rows exist, and the
    clip details stored once they do."""

    def __init__(
        self,
        session: Session,
        exhibit_id: int,
        exact: Iterable[int],
        *,
        distance: int = DEFAULT_DISTANCE,
        quality: int = DEFAULT_QUALITY,
    ) -> None:
        self._found = find_video_matches(
            session, exhibit_id, exact, distance=distance, quality=quality
        )
        self._stored: list[tuple[Match, VideoMatch]] = []

    def media_ids(self) -> list[int]:
        """The media items with candidate matches."""
        return sorted(self._found)

    def found(self, media_id: int) -> list[FoundMatch]:
        """The candidate matches of one media item, for ``decide``."""
        return [v.found for v in self._found.get(media_id, [])]

    def remember(self, media_id: int, stored: Mapping[FoundMatch, Match]) -> None:
        """Note the Match rows made for this media item's vPDQ candidates."""
        for v in self._found.get(media_id, []):
            if v.found in stored:
                self._stored.append((stored[v.found], v.match))

    def store_details(self, session: Session) -> None:
        """Write the details of the remembered matches (their rows must be flushed)."""
        session.flush()
        store_match_details(
            session,
            [
                {
                    "match_id": row.id,
                    "query_percent": round(m.query_percent, 2),
                    "target_percent": round(m.target_percent, 2),
                    "is_clip": m.is_clip,
                    "offset_s": m.offset_s,
                    "start_s": m.span_s[0] if m.span_s else None,
                    "end_s": m.span_s[1] if m.span_s else None,
                }
                for row, m in self._stored
            ],
        )

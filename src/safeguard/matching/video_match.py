"""vPDQ video matching: full matches, clips of known videos, and whole-bank search.

Follows Meta's reference brute-force matcher (ThreatExchange ``vpdq`` ``matchTwoHash`` and
python-threatexchange ``match_VPDQ_hash_brute``): frames with quality below ``quality`` are
dropped from both sides; ``query_percent`` is the share of query frames that have some target
frame within ``distance`` bits, ``target_percent`` the share of target frames that have some query
frame within ``distance``; both at least 80 is a full match. "Within" is inclusive (``<=``), as in
python-threatexchange and Safeguard's PDQ radius; the C++ ``matchTwoHash`` uses a strict ``<``.
Frames are not de-duplicated (the C++ reference does not; python-threatexchange does).

Beyond the reference, one sided matches are located in time:

* a **clip** (``is_clip``): most of the query is in the known video but not the reverse, e.g. a
  few seconds cut out of it and re-encoded;
* a **containing** video (``contains``): most of the known video is in the query but not the
  reverse, e.g. a compilation that includes it.

``offset_s`` is the median, over matched query frames, of (time of the nearest target frame -
query time): add it to a query time to get the known video's time. ``span_s`` is the part of the
known video that the matched query frames cover under that alignment, its end extended by one
sampling interval.

Hamming distances are computed vectorised: hashes as ``uint64[n, 4]``, XOR, ``np.bitwise_count``
(numpy 2) or a byte lookup table, in blocks that keep memory bounded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from safeguard.domain.signals import VPDQ_DISTANCE, VPDQ_MIN_QUALITY
from safeguard.hashing.video import FrameHash

#: Percent of frames that must match on a side for that side to count as matched.
MATCH_PERCENT = 80.0
#: Reference defaults: PDQ Hamming distance and minimum frame quality.
DEFAULT_DISTANCE = VPDQ_DISTANCE
DEFAULT_QUALITY = VPDQ_MIN_QUALITY
#: Distance matrix cells computed per block (bounds memory to a few tens of MB).
_BLOCK_CELLS = 1 << 21

_POPCOUNT8 = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


@dataclass(frozen=True, slots=True)
class VideoMatch:
    """How a query video's vPDQ frames match one known (target) video's."""

    query_percent: float
    target_percent: float
    #: Both sides at least 80 %: the same video (the reference's "match").
    is_match: bool
    #: The query is (mostly) a part of the target: a clip of a known video.
    is_clip: bool
    #: Add to a query time to get the target time; None without matched frames.
    offset_s: float | None
    #: [start, end] of the target covered by the matched query frames; None without matches.
    span_s: tuple[float, float] | None
    #: Median over query frames of the distance to their nearest target frame (256 if none).
    distance_median: float
    #: The target is (mostly) a part of the query: the query contains a known video.
    contains: bool = False

    @property
    def matched(self) -> bool:
        """Any of full match, clip or containing."""
        return self.is_match or self.is_clip or self.contains


@dataclass(frozen=True)
class PackedFrames:
    """Frames that pass the quality filter, as arrays: ``hashes`` uint64[n, 4], ``times`` s."""

    hashes: np.ndarray
    times: np.ndarray

    def __len__(self) -> int:
        return int(self.hashes.shape[0])


def pack_frames(frames: Sequence[FrameHash], *, quality: int = DEFAULT_QUALITY) -> PackedFrames:
    """The frames of quality >= ``quality`` as packed arrays (hex bit order kept)."""
    kept = [f for f in frames if f.quality >= quality]
    if not kept:
        return PackedFrames(np.zeros((0, 4), np.uint64), np.zeros(0, np.float64))
    raw = bytes.fromhex("".join(f.pdq for f in kept))
    if len(raw) != 32 * len(kept):
        raise ValueError("every PDQ hash must be 64 hexadecimal characters")
    hashes = np.frombuffer(raw, dtype=np.uint64).reshape(-1, 4)
    times = np.fromiter((f.timestamp_s for f in kept), dtype=np.float64, count=len(kept))
    return PackedFrames(hashes, times)


def _popcount(x: np.ndarray) -> np.ndarray:
    """Bits set per element of a uint64 array, as uint8."""
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(x)
    as_bytes = x.view(np.uint8).reshape(*x.shape, 8)
    return _POPCOUNT8[as_bytes].sum(axis=-1, dtype=np.uint8)


def distances(query: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Hamming distances, uint16[len(query), len(target)], of two uint64[n, 4] hash arrays."""
    out = np.empty((query.shape[0], target.shape[0]), np.uint16)
    rows = max(1, _BLOCK_CELLS // max(1, 4 * target.shape[0]))
    for start in range(0, query.shape[0], rows):
        block = query[start : start + rows, None, :] ^ target[None, :, :]
        out[start : start + rows] = _popcount(block).sum(axis=2, dtype=np.uint16)
    return out


def _step(times: np.ndarray) -> float:
    """The sampling interval: the median gap between consecutive sampled frames."""
    if times.size < 2:
        return 0.0
    gaps = np.diff(np.sort(times))
    gaps = gaps[gaps > 0]
    return float(np.median(gaps)) if gaps.size else 0.0


def _result(
    query: PackedFrames, target: PackedFrames, dist: np.ndarray, distance: int
) -> VideoMatch:
    if len(query) == 0 or len(target) == 0:
        return VideoMatch(0.0, 0.0, False, False, None, None, 256.0)
    hits = dist <= distance
    query_hit = hits.any(axis=1)
    target_hit = hits.any(axis=0)
    query_percent = 100.0 * float(query_hit.mean())
    target_percent = 100.0 * float(target_hit.mean())
    nearest = dist.min(axis=1)
    full = query_percent >= MATCH_PERCENT and target_percent >= MATCH_PERCENT
    is_clip = not full and query_percent >= MATCH_PERCENT
    contains = not full and target_percent >= MATCH_PERCENT
    offset = span = None
    if query_hit.any():
        best = dist.argmin(axis=1)
        rows = np.flatnonzero(query_hit)
        offset = float(np.median(target.times[best[rows]] - query.times[rows]))
        aligned = query.times[rows] + offset
        end_of_target = float(target.times.max()) + _step(target.times)
        start = max(0.0, float(aligned.min()))
        end = min(end_of_target, float(aligned.max()) + _step(query.times))
        span = (round(start, 3), round(max(start, end), 3))
        offset = round(offset, 3)
    return VideoMatch(
        query_percent=query_percent,
        target_percent=target_percent,
        is_match=full,
        is_clip=is_clip,
        offset_s=offset,
        span_s=span,
        distance_median=float(np.median(nearest)),
        contains=contains,
    )


def match_video(
    query: Sequence[FrameHash] | PackedFrames,
    target: Sequence[FrameHash] | PackedFrames,
    *,
    distance: int = DEFAULT_DISTANCE,
    quality: int = DEFAULT_QUALITY,
) -> VideoMatch:
    """Compare a query video's vPDQ frames with a target's (see the module docstring).

    Already packed frames (:func:`pack_frames`) were filtered when packed; ``quality`` then
    applies only to the unpacked side.
    """
    q = query if isinstance(query, PackedFrames) else pack_frames(query, quality=quality)
    t = target if isinstance(target, PackedFrames) else pack_frames(target, quality=quality)
    if len(q) == 0 or len(t) == 0:
        return _result(q, t, np.zeros((len(q), len(t)), np.uint16), distance)
    return _result(q, t, distances(q.hashes, t.hashes), distance)


def _rank(item: tuple[int, VideoMatch]) -> tuple:
    entry_id, m = item
    kind = 0 if m.is_match else 1 if m.is_clip else 2
    return (kind, -(m.query_percent + m.target_percent), m.distance_median, entry_id)


class VideoBankIndex:
    """A bank of known videos' vPDQ frames, packed once, searched against query videos.

    A search first counts, for every bank video at once, how many of its frames and of the
    query's lie within ``distance`` (blocks of whole videos, vectorised), then computes the full
    :class:`VideoMatch` (alignment included) only for the videos that match.
    """

    def __init__(
        self,
        bank: Sequence[tuple[int, Sequence[FrameHash]]],
        *,
        distance: int = DEFAULT_DISTANCE,
        quality: int = DEFAULT_QUALITY,
    ) -> None:
        self.distance = distance
        self.quality = quality
        self._entries: list[tuple[int, PackedFrames]] = []
        for entry_id, frames in bank:
            packed = pack_frames(frames, quality=quality)
            if len(packed):
                self._entries.append((entry_id, packed))
        sizes = [len(p) for _, p in self._entries]
        self._starts = np.cumsum([0, *sizes])
        self._hashes = (
            np.concatenate([p.hashes for _, p in self._entries])
            if self._entries
            else np.zeros((0, 4), np.uint64)
        )

    def __len__(self) -> int:
        return len(self._entries)

    def search(self, query: Sequence[FrameHash] | PackedFrames) -> list[tuple[int, VideoMatch]]:
        """Bank videos that match the query (full, clip or containing), best first."""
        q = query if isinstance(query, PackedFrames) else pack_frames(query, quality=self.quality)
        if len(q) == 0 or not self._entries:
            return []
        per_block = max(1, _BLOCK_CELLS // max(1, 4 * len(q)))
        found: list[tuple[int, VideoMatch]] = []
        first = 0
        while first < len(self._entries):
            last = int(np.searchsorted(self._starts, self._starts[first] + per_block, "right")) - 1
            last = max(last, first + 1)
            lo, hi = int(self._starts[first]), int(self._starts[last])
            hits = distances(q.hashes, self._hashes[lo:hi]) <= self.distance
            offsets = self._starts[first:last] - lo
            target_hits = np.add.reduceat(hits.any(axis=0).astype(np.int64), offsets)
            query_hits = np.logical_or.reduceat(hits, offsets, axis=1).sum(axis=0)
            sizes = np.diff(self._starts[first : last + 1])
            wanted = (100.0 * query_hits / len(q) >= MATCH_PERCENT) | (
                100.0 * target_hits / sizes >= MATCH_PERCENT
            )
            for k in np.flatnonzero(wanted):
                entry_id, packed = self._entries[first + int(k)]
                found.append((entry_id, match_video(q, packed, distance=self.distance)))
            first = last
        return sorted(found, key=_rank)


def match_against_bank(
    query: Sequence[FrameHash],
    bank: Sequence[tuple[int, Sequence[FrameHash]]],
    *,
    distance: int = DEFAULT_DISTANCE,
    quality: int = DEFAULT_QUALITY,
) -> list[tuple[int, VideoMatch]]:
    """The bank videos the query matches (full, clip or containing), best first.

    For repeated searches build a :class:`VideoBankIndex` once instead.
    """
    return VideoBankIndex(bank, distance=distance, quality=quality).search(query)

"""vPDQ video matching: full matches, clips of known videos, and whole-bank search.

Follows Meta's reference brute-force matcher (ThreatExchange ``vpdq`` ``matchTwoHash`` and
python-threatexchange ``match_VPDQ_hash_brute``) in what a frame match is: frames with quality
below ``quality`` are dropped from both sides, and a frame matches when some frame of the other
side lies within ``distance`` bits ("within" is inclusive, ``<=``, as in python-threatexchange and
Safeguard's PDQ radius; the C++ ``matchTwoHash`` uses a strict ``<``).

Coverage is measured in **time**, not in frame counts, so that the result does not depend on the
sampling rate or phase of either side (a 1 fps query against Meta's every-frame reference output
counted 1 frame in 30 as matched). Each kept frame stands for the time from it to the next sample
(sample-and-hold, as vPDQ samples the first frame of each interval): a side's *duration* is the
union of ``[t, t + step)`` over its kept frames (``step`` the side's median sampling interval), and
a matched frame *covers* ``[t, t + max(step, other side's step))``: one 1 fps frame that matches
stands for the whole second of the denser side. ``query_percent`` / ``target_percent`` are the
covered share of each side's duration; both at least 80 is a full match.

Beyond the reference, one sided matches are located in time:

* a **clip** (``is_clip``): most of the query is in the known video but not the reverse, e.g. a
  few seconds cut out of it and re-encoded;
* a **containing** video (``contains``): most of the known video is in the query but not the
  reverse, e.g. a compilation that includes it.

``offset_s`` is the median, over matched query frames, of (time of the nearest target frame -
query time): add it to a query time to get the known video's time. ``span_s`` is the part of the
known video that the matched query frames cover under that alignment, extended to the query's
first and last frames where they lie within one sampling interval of the coarser side; it never
runs past the known video's own end (its last kept frame + its step).

Phase: a query trimmed by a fraction of a second only finds the right frames when one side is
dense (every frame); Safeguard therefore hashes ingested videos at every frame (up to 30 a second,
``hashing.video.DENSE_SECONDS_PER_HASH``), keeps imported frame sets as given and exports what it
hashed, so its own exports match sub-second trims.

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
    #: Median over the matched query frames of the distance to their nearest target frame (over
    #: all query frames when none matched; 256 without frames). Only matched frames count, so a
    #: dense query against a 1 fps bank is not judged by the frames between the bank's samples.
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


def _union_length(starts: np.ndarray, ends: np.ndarray) -> float:
    """Total length of the union of the intervals ``[starts[i], ends[i])``."""
    if starts.size == 0:
        return 0.0
    order = np.argsort(starts, kind="stable")
    s, e = starts[order], ends[order]
    reach = np.maximum.accumulate(e)
    new = np.empty(s.size, bool)
    new[0] = True
    new[1:] = s[1:] > reach[:-1]
    first = np.flatnonzero(new)
    last = np.append(first[1:] - 1, s.size - 1)
    return float(np.sum(reach[last] - s[first]))


def coverage_percent(
    times: np.ndarray, hit: np.ndarray, own_step: float, other_step: float
) -> float:
    """Percent of a side's duration covered by its matched frames (see the module docstring).

    A side of one frame (no interval) counts by frames: 100 when it matched, else 0.
    """
    if times.size == 0 or not hit.any():
        return 0.0
    if own_step <= 0:
        return 100.0 * float(hit.mean())
    own = (times, times + own_step)
    reach = max(own_step, other_step)
    cover = (times[hit], times[hit] + reach)
    duration = _union_length(*own)
    covered = _union_length(*cover)
    either = _union_length(np.concatenate([own[0], cover[0]]), np.concatenate([own[1], cover[1]]))
    inside = duration + covered - either  # |own ∩ cover|
    return min(100.0, 100.0 * inside / duration) if duration > 0 else 0.0


def _nearest(query: np.ndarray, target: np.ndarray, distance: int) -> tuple[np.ndarray, ...]:
    """Per query frame the nearest target distance and index; per target frame whether some
    query frame is within ``distance``. Computed in blocks: memory stays bounded however long
    both videos are."""
    best = np.empty(query.shape[0], np.uint16)
    arg = np.empty(query.shape[0], np.int64)
    target_hit = np.zeros(target.shape[0], bool)
    cols = max(1, min(target.shape[0], _BLOCK_CELLS // 4))
    rows = max(1, _BLOCK_CELLS // max(1, 4 * cols))
    for r0 in range(0, query.shape[0], rows):
        q = query[r0 : r0 + rows]
        row_best = np.full(q.shape[0], 65535, np.uint16)
        row_arg = np.zeros(q.shape[0], np.int64)
        for c0 in range(0, target.shape[0], cols):
            block = _popcount(q[:, None, :] ^ target[None, c0 : c0 + cols, :]).sum(
                axis=2, dtype=np.uint16
            )
            here = block.argmin(axis=1)
            value = block[np.arange(block.shape[0]), here]
            better = value < row_best
            row_best[better] = value[better]
            row_arg[better] = here[better] + c0
            target_hit[c0 : c0 + cols] |= (block <= distance).any(axis=0)
        best[r0 : r0 + rows] = row_best
        arg[r0 : r0 + rows] = row_arg
    return best, arg, target_hit


def _result(query: PackedFrames, target: PackedFrames, distance: int) -> VideoMatch:
    if len(query) == 0 or len(target) == 0:
        return VideoMatch(0.0, 0.0, False, False, None, None, 256.0)
    nearest, best, target_hit = _nearest(query.hashes, target.hashes, distance)
    query_hit = nearest <= distance
    step_q, step_t = _step(query.times), _step(target.times)
    query_percent = coverage_percent(query.times, query_hit, step_q, step_t)
    target_percent = coverage_percent(target.times, target_hit, step_t, step_q)
    full = query_percent >= MATCH_PERCENT and target_percent >= MATCH_PERCENT
    is_clip = not full and query_percent >= MATCH_PERCENT
    contains = not full and target_percent >= MATCH_PERCENT
    offset = span = None
    if query_hit.any():
        rows = np.flatnonzero(query_hit)
        offset = float(np.median(target.times[best[rows]] - query.times[rows]))
        aligned = query.times[rows] + offset
        # The matched frames, extended as far as the coarser side's sampling allows towards the
        # query's own first and last frames (a dense clip matched against a 1 fps bank matches
        # only every tenth or thirtieth frame), never outside the known video.
        reach = max(step_q, step_t)
        q_first, q_last = float(query.times.min()) + offset, float(query.times.max()) + offset
        first, last = float(aligned.min()), float(aligned.max())
        start = q_first if first - q_first < reach else first
        end = (q_last if q_last - last < reach else last) + (step_q or step_t)
        end_of_target = float(target.times.max()) + step_t
        start = min(max(0.0, float(target.times.min()), start), end_of_target)
        end = min(end_of_target, end)
        span = (round(start, 3), round(max(start, end), 3))
        offset = round(offset, 3)
    return VideoMatch(
        query_percent=query_percent,
        target_percent=target_percent,
        is_match=full,
        is_clip=is_clip,
        offset_s=offset,
        span_s=span,
        distance_median=float(np.median(nearest[query_hit] if query_hit.any() else nearest)),
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
    return _result(q, t, distance)


def _rank(item: tuple[int, VideoMatch]) -> tuple:
    entry_id, m = item
    kind = 0 if m.is_match else 1 if m.is_clip else 2
    return (kind, -(m.query_percent + m.target_percent), m.distance_median, entry_id)


class VideoBankIndex:
    """A bank of known videos' vPDQ frames, packed once, searched against query videos.

    A search first finds, for every bank video at once, whether any of its frames lies within
    ``distance`` of a query frame (vectorised, in bounded blocks), then computes the full
    :class:`VideoMatch` (time coverage and alignment) only for those videos.
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
        # Which bank videos have any frame within ``distance`` of a query frame (blocks bound
        # the memory); only those get the full, time-based comparison.
        _, _, frame_hit = _nearest(q.hashes, self._hashes, self.distance)
        touched = np.add.reduceat(frame_hit.astype(np.int64), self._starts[:-1]) > 0
        found: list[tuple[int, VideoMatch]] = []
        for k in np.flatnonzero(touched):
            entry_id, packed = self._entries[int(k)]
            result = match_video(q, packed, distance=self.distance)
            if result.matched:
                found.append((entry_id, result))
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

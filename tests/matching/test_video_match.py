"""vPDQ video matching: full matches, clips, containing videos and bank search.

The videos are benign synthetic moving shapes generated at test time; the unit tests use
made-up frame hashes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from safeguard.hashing.video import FrameHash, synthetic_video, transcode, vpdq_hash
from safeguard.matching import video_match
from safeguard.matching.video_match import (
    VideoBankIndex,
    VideoMatch,
    distances,
    match_against_bank,
    match_video,
    pack_frames,
)

# ------------------------------------------------------------------------------------------------
# Made-up frame hashes


def _random_hashes(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, 32, dtype=np.uint8).tobytes().hex() for _ in range(n)]


def _flip(pdq: str, bits: int, seed: int = 0) -> str:
    """The hash with ``bits`` distinct bits flipped."""
    rng = np.random.default_rng(seed)
    value = int(pdq, 16)
    for bit in rng.choice(256, size=bits, replace=False):
        value ^= 1 << int(bit)
    return f"{value:064x}"


def _frames(hashes: list[str], start: float = 0.0, quality: int = 100) -> list[FrameHash]:
    return [FrameHash(i * 15, quality, h, start + i) for i, h in enumerate(hashes)]


def test_distances_are_hamming_distances() -> None:
    a, b = _random_hashes(7, 1), _random_hashes(5, 2)
    got = distances(pack_frames(_frames(a)).hashes, pack_frames(_frames(b)).hashes)
    expected = [[(int(x, 16) ^ int(y, 16)).bit_count() for y in b] for x in a]
    assert got.tolist() == expected


def test_popcount_fallback_matches(monkeypatch: pytest.MonkeyPatch) -> None:
    packed = pack_frames(_frames(_random_hashes(9, 3))).hashes
    fast = distances(packed, packed[::-1])
    monkeypatch.delattr(np, "bitwise_count", raising=False)
    assert (distances(packed, packed[::-1]) == fast).all()


def test_distance_limit_is_inclusive_as_in_the_reference() -> None:
    base = _random_hashes(10, 4)
    at_limit = [_flip(h, 31, i) for i, h in enumerate(base)]
    beyond = [_flip(h, 32, i) for i, h in enumerate(base)]
    assert match_video(_frames(base), _frames(at_limit)).is_match
    assert match_video(_frames(base), _frames(at_limit), distance=30).query_percent == 0
    assert not match_video(_frames(base), _frames(beyond)).query_percent


def test_low_quality_frames_are_dropped_from_both_sides() -> None:
    base = _random_hashes(10, 5)
    query = _frames(base[:8]) + _frames(_random_hashes(2, 6), start=8, quality=40)
    result = match_video(query, _frames(base))
    assert result.query_percent == 100.0  # the two unrelated frames had quality 40
    assert result.target_percent == 80.0
    assert result.is_match
    assert match_video(query, _frames(base), quality=30).query_percent == 80.0


def test_no_frames_left_is_no_match() -> None:
    low = _frames(_random_hashes(3, 7), quality=10)
    result = match_video(low, low)
    assert result == VideoMatch(0.0, 0.0, False, False, None, None, 256.0)
    assert not result.matched
    assert match_video([], _frames(_random_hashes(3, 7))).query_percent == 0.0


def test_clip_and_containing_are_located() -> None:
    known = _random_hashes(20, 8)
    clip = _frames([_flip(h, 8, i) for i, h in enumerate(known[6:11])])  # seconds 6-10
    result = match_video(clip, _frames(known))
    assert (result.is_match, result.is_clip, result.contains) == (False, True, False)
    assert result.query_percent == 100.0 and result.target_percent == 25.0
    assert result.offset_s == 6.0
    assert result.span_s == (6.0, 11.0)
    assert result.distance_median == 8.0

    compilation = _frames(_random_hashes(10, 9) + known[:5] + _random_hashes(10, 10))
    inside = match_video(compilation, _frames(known[:5]))
    assert (inside.is_match, inside.is_clip, inside.contains) == (False, False, True)
    assert inside.offset_s == -10.0  # the known video starts 10 s into the query
    assert inside.span_s == (0.0, 5.0)


def test_bank_search_ranks_full_matches_before_clips() -> None:
    known = [_random_hashes(20, 100 + k) for k in range(30)]
    query = _frames([_flip(h, 5, i) for i, h in enumerate(known[3])])
    clip_of_query = _frames(known[3][:15])  # bank entry 7: three quarters of video 3
    bank = [(k, _frames(h)) for k, h in enumerate(known)] + [(77, clip_of_query)]
    found = match_against_bank(query, bank)
    assert [entry for entry, _ in found] == [3, 77]
    assert found[0][1].is_match
    assert found[1][1].contains and found[1][1].offset_s == 0.0
    assert match_against_bank(_frames(_random_hashes(20, 999)), bank) == []


def test_bank_search_in_small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks of whole videos give the same answers however small the blocks are."""
    known = [_random_hashes(3 + k % 5, 200 + k) for k in range(40)]
    bank = [(k, _frames(h)) for k, h in enumerate(known)]
    index = VideoBankIndex(bank)
    queries = [_frames(known[k]) for k in (0, 17, 39)]
    expected = [index.search(q) for q in queries]
    monkeypatch.setattr(video_match, "_BLOCK_CELLS", 16)
    assert [VideoBankIndex(bank).search(q) for q in queries] == expected
    assert [[e for e, _ in found] for found in expected] == [[0], [17], [39]]
    assert len(index) == 40


# ------------------------------------------------------------------------------------------------
# Real (synthetic, benign) videos: re-encodes, clips and unrelated videos


@pytest.fixture(scope="module")
def hashed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[FrameHash]]:
    folder: Path = tmp_path_factory.mktemp("video_match")
    original = synthetic_video(
        folder / "original.mp4", seconds=20, width=320, height=240, fps=15, seed=11
    )
    other = synthetic_video(
        folder / "other.mp4", seconds=20, width=320, height=240, fps=15, seed=12
    )
    reencoded = transcode(original, folder / "copy.mkv", width=640, height=480, bit_rate=250_000)
    clip = transcode(
        original, folder / "clip.avi", start_s=5, end_s=10, width=480, height=360, bit_rate=300_000
    )
    return {
        "original": vpdq_hash(original),
        "other": vpdq_hash(other),
        "copy": vpdq_hash(reencoded),
        "clip": vpdq_hash(clip),
    }


def test_a_reencoded_copy_matches_its_original(hashed: dict[str, list[FrameHash]]) -> None:
    result = match_video(hashed["copy"], hashed["original"])
    assert result.is_match and not result.is_clip
    assert result.query_percent >= 95 and result.target_percent >= 95
    assert result.offset_s == pytest.approx(0.0, abs=0.5)
    assert result.distance_median <= 16


def test_a_clip_is_found_with_its_place_in_the_original(hashed: dict[str, list[FrameHash]]) -> None:
    assert len(hashed["clip"]) == 5
    result = match_video(hashed["clip"], hashed["original"])
    assert result.is_clip and not result.is_match
    assert result.query_percent >= 80 and result.target_percent < 80
    assert result.offset_s == pytest.approx(5.0, abs=1.0)
    assert result.span_s is not None
    assert result.span_s[0] == pytest.approx(5.0, abs=1.0)
    assert result.span_s[1] == pytest.approx(10.0, abs=1.0)
    reverse = match_video(hashed["original"], hashed["clip"])
    assert reverse.contains and reverse.offset_s == pytest.approx(-5.0, abs=1.0)


def test_an_unrelated_video_does_not_match(hashed: dict[str, list[FrameHash]]) -> None:
    result = match_video(hashed["other"], hashed["original"])
    assert not result.matched
    assert result.query_percent == 0.0 and result.target_percent == 0.0
    assert result.offset_s is None and result.span_s is None
    assert result.distance_median > 64


def test_bank_of_videos(hashed: dict[str, list[FrameHash]]) -> None:
    bank = [(1, hashed["other"]), (2, hashed["original"])]
    found = match_against_bank(hashed["clip"], bank)
    assert [entry for entry, _ in found] == [2]
    assert found[0][1].is_clip
    found = match_against_bank(hashed["copy"], bank)
    assert [entry for entry, _ in found] == [2] and found[0][1].is_match

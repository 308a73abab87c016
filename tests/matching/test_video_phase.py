"""vPDQ matching that does not depend on the sampling rate or phase of either side.

Regression tests for issue 11 item 1: a copy trimmed by a fraction of a second, a 1 fps query
against an every-frame bank (Meta's reference output) and spans past the known video's end.
The videos are benign synthetic moving shapes generated at test time.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safeguard.hashing.video import (
    FrameHash,
    analyse_video,
    synthetic_video,
    transcode,
    vpdq_hash,
)
from safeguard.matching.video_match import coverage_percent, match_video

FPS = 30
SECONDS = 8.0


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    folder: Path = tmp_path_factory.mktemp("video_phase")
    original = synthetic_video(
        folder / "known.mp4", seconds=SECONDS, width=192, height=144, fps=FPS, seed=21
    )
    trims = {}
    for tenths in range(1, 10):
        trimmed = transcode(
            original, folder / f"trim{tenths}.mkv", start_s=tenths / 10, bit_rate=400_000
        )
        trims[tenths] = analyse_video(trimmed, strip_count=0).frames
    return {
        "every_frame": vpdq_hash(original, seconds_per_hash=0),
        "one_fps": vpdq_hash(original, seconds_per_hash=1),
        "ingested": analyse_video(original, strip_count=0).frames,
        "trims": trims,
    }


def test_the_ingest_keeps_videos_densely(videos: dict) -> None:
    """What Safeguard stores (and so exports) is every frame, not one a second."""
    assert len(videos["ingested"]) == round(SECONDS * FPS)
    assert len(videos["one_fps"]) == round(SECONDS)


@pytest.mark.parametrize("bank", ["every_frame", "one_fps", "ingested"])
@pytest.mark.parametrize("tenths", range(1, 10))
def test_a_sub_second_trim_matches_with_its_offset(videos: dict, bank: str, tenths: int) -> None:
    query = videos["trims"][tenths]
    result = match_video(query, videos[bank])
    assert result.is_match, (result.query_percent, result.target_percent)
    assert result.query_percent >= 95
    assert result.offset_s == pytest.approx(tenths / 10, abs=1.5 / FPS)
    # The span starts at the first frame of usable quality (>= 50), placed in the known video.
    first_kept = min(f.timestamp_s for f in query if f.quality >= 50)
    assert result.span_s is not None
    assert result.span_s[0] == pytest.approx(first_kept + tenths / 10, abs=1.0)
    assert 0.0 <= result.span_s[0] < result.span_s[1] <= SECONDS + 1e-6


def test_an_identical_video_is_a_full_match_whatever_the_rates(videos: dict) -> None:
    for query, target in [
        ("one_fps", "every_frame"),  # a reference 1 fps hash against Meta's every-frame output
        ("every_frame", "one_fps"),
        ("ingested", "one_fps"),
        ("one_fps", "ingested"),
    ]:
        result = match_video(videos[query], videos[target])
        assert result.is_match and not result.is_clip, (query, target, result)
        assert result.query_percent >= 95 and result.target_percent >= 95
        assert result.offset_s == 0.0


def test_a_span_ends_within_the_known_video() -> None:
    """A 22.46 s video hashed at 1 fps: a dense copy's span ends at 22.46 s, not 23.0 s."""
    rng = np.random.default_rng(5)
    frames_per_s = 30
    n = int(22.46 * frames_per_s)
    dense = [
        FrameHash(i, 100, rng.integers(0, 256, 32, dtype=np.uint8).tobytes().hex(), i / 30)
        for i in range(n)
    ]
    one_fps = [f for f in dense if f.frame_number % frames_per_s == 0]
    result = match_video(dense, one_fps)
    assert result.is_match
    assert result.span_s is not None and result.span_s[1] <= n / frames_per_s + 1e-6
    clip = match_video(dense[150:400], one_fps)
    assert clip.is_clip and clip.span_s is not None
    assert clip.span_s[0] == pytest.approx(5.0) and clip.span_s[1] <= 400 / 30 + 1e-6


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 60),
    st.integers(1, 30),
    st.floats(0, 0.99),
    st.lists(st.booleans(), min_size=1, max_size=80),
)
def test_coverage_is_a_percentage(n: int, rate: int, phase: float, hits: list[bool]) -> None:
    times = phase + np.arange(n) / rate
    hit = np.resize(np.array(hits), n)
    for other in (0.0, 1.0 / 30, 1.0):
        got = coverage_percent(times, hit, 1.0 / rate, other)
        assert 0.0 <= got <= 100.0
        if hit.all():
            assert got == pytest.approx(100.0)
        if not hit.any():
            assert got == 0.0
        if other <= 1.0 / rate:  # no wider reach: coverage is the share of frames
            assert got == pytest.approx(100.0 * hit.mean())

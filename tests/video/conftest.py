"""A benign video exhibit and the known videos it derives from, generated once per session.

Every video is synthetic (moving shapes over colour waves, ``synthetic_video``); "known" and the
categories are only labels. Two known videos:

* K1 (12 s): in a VICS bank with its digests, vPDQ frames and two segments, C for [0, 6) and A
  for [6, 12); the entry's category is A;
* K2 (10 s): in a vPDQ text bank (frame lines only), category B given on import.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from safeguard.hashing.video import synthetic_video, transcode

SIZE = {"width": 160, "height": 120, "fps": 10.0}


@dataclass(frozen=True)
class Planned:
    """One file of the exhibit and what ingest must make of it."""

    path: str
    status: str | None = None
    category: str | None = None
    #: "exact", "vpdq" (full vPDQ match) or "clip".
    how: str | None = None
    #: For clips: (start, end) in the known video, seconds.
    span: tuple[float, float] | None = None
    error: bool = False


@dataclass
class VideoExhibit:
    root: Path
    k1: Path
    k2: Path
    planned: list[Planned] = field(default_factory=list)

    def get(self, path: str) -> Planned:
        return next(p for p in self.planned if p.path == path)


def _bad_files(root: Path, sample_mp4: Path, sample_mkv: Path) -> list[Planned]:
    bad = root / "bad"
    bad.mkdir()
    data = sample_mp4.read_bytes()
    # A real MP4 head (ftyp) followed by noise: sniffed as video, not decodable.
    noise = bytes((i * 7919 + 13) % 251 for i in range(20_000))
    (bad / "corrupt.mp4").write_bytes(data[:64] + noise)
    # Cut in half: the index (moov, written last) is lost, so the file cannot be opened.
    (bad / "truncated.mp4").write_bytes(data[: len(data) // 2])
    # A Matroska file cut short: it opens, part of it decodes.
    mkv = sample_mkv.read_bytes()
    (bad / "truncated.mkv").write_bytes(mkv[: len(mkv) * 6 // 10])
    (bad / "empty.mp4").write_bytes(b"")
    return [
        Planned("bad/corrupt.mp4", "new", error=True),
        Planned("bad/truncated.mp4", "new", error=True),
        Planned("bad/truncated.mkv", "new", error=True),
        Planned("bad/empty.mp4", "not_media", error=True),
    ]


@pytest.fixture(scope="session")
def video_exhibit(tmp_path_factory: pytest.TempPathFactory) -> VideoExhibit:
    base = tmp_path_factory.mktemp("video")
    known = base / "known"
    known.mkdir()
    k1 = synthetic_video(known / "k1.mp4", seconds=12, seed=11, **SIZE)
    k2 = synthetic_video(known / "k2.mp4", seconds=10, seed=22, **SIZE)
    root = base / "exhibit"
    for folder in ("seized", "copies", "reencoded", "clips", "new"):
        (root / folder).mkdir(parents=True)
    shutil.copyfile(k1, root / "seized" / "k1.mp4")
    shutil.copyfile(k1, root / "copies" / "holiday.mp4")
    transcode(k1, root / "reencoded" / "k1-small.mkv", width=128, height=96, bit_rate=120_000)
    transcode(k2, root / "reencoded" / "k2.avi", width=128, height=96, bit_rate=400_000)
    transcode(k1, root / "clips" / "k1-early.webm", start_s=1, end_s=5, width=128, height=96)
    transcode(k1, root / "clips" / "k1-middle.mov", start_s=4, end_s=9)
    transcode(k2, root / "clips" / "k2-part.3gp", start_s=3, end_s=8, width=144, height=108)
    synthetic_video(root / "new" / "garden.mov", seconds=6, seed=33, **SIZE)
    synthetic_video(
        root / "new" / "park.wmv", seconds=5, seed=44, codec="wmv2", container_format="asf", **SIZE
    )
    synthetic_video(
        root / "new" / "beach.flv", seconds=4, seed=55, codec="flv", container_format="flv", **SIZE
    )
    sample_mkv = synthetic_video(base / "sample.mkv", seconds=6, seed=66, **SIZE)
    planned = [
        Planned("seized/k1.mp4", "graded_exact", "A", "exact"),
        Planned("copies/holiday.mp4", "graded_exact", "A", "exact"),
        Planned("reencoded/k1-small.mkv", "graded_perceptual", "A", "vpdq"),
        Planned("reencoded/k2.avi", "graded_perceptual", "B", "vpdq"),
        # Inside K1's C segment: the clip is C although the whole video is A.
        Planned("clips/k1-early.webm", "graded_perceptual", "C", "clip", (1.0, 5.0)),
        # Across both segments: the more severe, A.
        Planned("clips/k1-middle.mov", "graded_perceptual", "A", "clip", (4.0, 9.0)),
        # K2 has no segments: the entry's category.
        Planned("clips/k2-part.3gp", "graded_perceptual", "B", "clip", (3.0, 8.0)),
        Planned("new/garden.mov", "new"),
        Planned("new/park.wmv", "new"),
        Planned("new/beach.flv", "new"),
        *_bad_files(root, k2, sample_mkv),
    ]
    return VideoExhibit(root=root, k1=k1, k2=k2, planned=planned)

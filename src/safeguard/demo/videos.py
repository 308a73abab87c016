"""Benign generated videos for the demo: known, re-encoded, clipped and new.

Every video is synthetic (moving shapes over drifting colour waves,
:func:`safeguard.hashing.video.synthetic_video`); "known" and the categories are only labels.
``generate_demo_videos`` writes, under ``exhibit/videos/``:

* ``known/`` - byte copies of the two known videos (graded by their SHA-256);
* ``reencoded/`` - the known videos re-encoded smaller (graded by vPDQ);
* ``clips/`` - parts of the known videos (graded as clips, with where they fall);
* ``new/`` - videos no bank knows (first generation: cards with keyframe strips);

and the bank that knows them, ``demo-video-bank.json`` (VICS 2.0 with digests and vPDQ frames).
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path

from safeguard.domain.known import BankRecord, VideoFrameHash
from safeguard.hashing.video import synthetic_video, transcode, vpdq_hash
from safeguard.interchange.vics import write_vics

SIZE = {"width": 160, "height": 120, "fps": 10.0}
VIDEO_BANK = "demo-video-bank.json"


@dataclass(frozen=True)
class DemoVideo:
    """One video of the demo exhibit and what triage must make of it (the ground truth)."""

    path: str
    #: "known", "reencoded", "clip" or "new".
    role: str
    category: str | None
    seconds: float


def generate_demo_videos(out_dir: Path, *, seed: int = 1) -> tuple[Path, list[DemoVideo]]:
    """Write the videos into ``out_dir/exhibit/videos`` and their bank to
    ``out_dir/demo-video-bank.json``; returns (bank path, ground truth)."""
    out_dir = Path(out_dir)
    known_dir = out_dir / "known-videos"
    root = out_dir / "exhibit" / "videos"
    for folder in ("known", "reencoded", "clips", "new"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    known_dir.mkdir(parents=True, exist_ok=True)
    k1 = synthetic_video(known_dir / "k1.mp4", seconds=12, seed=seed * 101 + 1, **SIZE)
    k2 = synthetic_video(known_dir / "k2.mp4", seconds=8, seed=seed * 101 + 2, **SIZE)
    shutil.copyfile(k1, root / "known" / "VID_20230301_101500.mp4")
    transcode(k2, root / "reencoded" / "VID_k2_small.mkv", width=128, height=96, bit_rate=150_000)
    transcode(k1, root / "clips" / "clip_0412.mp4", start_s=3, end_s=8)
    synthetic_video(
        root / "new" / "VID_20230612_183000.mp4", seconds=6, seed=seed * 101 + 3, **SIZE
    )
    synthetic_video(
        root / "new" / "VID_20230614_090500.mp4", seconds=5, seed=seed * 101 + 4, **SIZE
    )
    truth = [
        DemoVideo("videos/known/VID_20230301_101500.mp4", "known", "A", 12.0),
        DemoVideo("videos/reencoded/VID_k2_small.mkv", "reencoded", "B", 8.0),
        DemoVideo("videos/clips/clip_0412.mp4", "clip", "A", 5.0),
        DemoVideo("videos/new/VID_20230612_183000.mp4", "new", None, 6.0),
        DemoVideo("videos/new/VID_20230614_090500.mp4", "new", None, 5.0),
    ]
    records = []
    for number, (path, category) in enumerate(((k1, "A"), (k2, "B")), 1):
        data = path.read_bytes()
        frames = tuple(
            VideoFrameHash(f.frame_number, f.quality, f.pdq, f.timestamp_s) for f in vpdq_hash(path)
        )
        records.append(
            BankRecord(
                category=category,
                md5=hashlib.md5(data).hexdigest(),
                sha1=hashlib.sha1(data).hexdigest(),
                sha256=hashlib.sha256(data).hexdigest(),
                source="demo video bank",
                external_id=f"demo-video-{number:02d}",
                vpdq=frames,
            )
        )
    bank = out_dir / VIDEO_BANK
    with bank.open("w", encoding="utf-8") as out:
        write_vics(records, out, profile="uk", name="demo-video-bank")
    return bank, truth

"""vPDQ hashing speed: Safeguard's ``vpdq_hash`` side by side with Meta's ``vpdq`` package.

Generates benign synthetic videos (moving shapes over colour waves; cached in bench/data/video),
then hashes each file with both implementations, alternating, at the same ``seconds_per_hash``,
and with Safeguard at the ingest's dense rate (every frame, at most 30 a second: what the ingest
now stores, see issue 11) to show what keeping known videos densely costs.
Reports video frames decoded per second of wall time, hashed frames per second, CPU seconds, the
ratio ours / vpdq, and how far our hashes are from the package's. Writes bench/results/video.json.

    .venv/bin/python bench/bench_video.py [--repeat 3] [--seconds-per-hash 1.0]

The vpdq package (pip install vpdq) builds against the system FFmpeg (libav*-dev); PyAV ships
its own FFmpeg. Both decode the same files; the FFmpeg versions are recorded in the results.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

import av

from safeguard.hashing.video import (
    DENSE_SECONDS_PER_HASH,
    probe_video,
    synthetic_video,
    vpdq_hash,
)

ROOT = Path(__file__).resolve().parent
DATA = ROOT / "data" / "video-v1"
RESULTS = ROOT / "results" / "video.json"

#: name, seconds, width, height, fps, seed, codec
VIDEOS = [
    ("shapes-480p-h264.mp4", 30, 640, 480, 30, 1, "libx264"),
    ("shapes-720p-h264.mp4", 30, 1280, 720, 30, 2, "libx264"),
    ("shapes-720p-h264.mkv", 30, 1280, 720, 25, 3, "libx264"),
]


def _videos() -> list[Path]:
    DATA.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, seconds, width, height, fps, seed, codec in VIDEOS:
        path = DATA / name
        if not path.exists():
            started = time.perf_counter()
            tmp = path.with_name("partial-" + name)
            synthetic_video(
                tmp, seconds=seconds, width=width, height=height, fps=fps, seed=seed, codec=codec
            )
            tmp.rename(path)
            print(f"generated {name} in {time.perf_counter() - started:.1f} s", flush=True)
        paths.append(path)
    return paths


def _timed(call):  # noqa: ANN001, ANN202 - a tiny helper
    wall, cpu = time.perf_counter(), time.process_time()
    result = call()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def _distance(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def _decoded_frames(path: Path) -> int:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        return sum(1 for _ in container.decode(stream))


def _system_ffmpeg() -> str | None:
    try:
        done = subprocess.run(
            ["pkg-config", "--modversion", "libavcodec"], capture_output=True, text=True, check=True
        )
        return done.stdout.strip() or None
    except (OSError, subprocess.CalledProcessError):
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per file and implementation")
    parser.add_argument("--seconds-per-hash", type=float, default=1.0)
    args, _ = parser.parse_known_args(argv)
    try:
        import vpdq  # type: ignore[import-not-found]
    except ImportError:
        print("the vpdq package is not installed (pip install vpdq; needs libav*-dev)")
        return 1

    started = time.perf_counter()
    paths = _videos()
    spH = args.seconds_per_hash
    rows = []
    for path in paths:
        info = probe_video(path)
        frames = _decoded_frames(path)  # also warms the page cache
        ours_runs, theirs_runs, decode_runs, dense_runs = [], [], [], []
        dense: list = []
        ours = theirs = None
        for i in range(args.repeat):  # alternate (and swap who goes first): same machine load
            for side in ("ours", "theirs") if i % 2 == 0 else ("theirs", "ours"):
                if side == "ours":
                    ours, wall, cpu = _timed(lambda p=path: vpdq_hash(p, seconds_per_hash=spH))
                    ours_runs.append((wall, cpu))
                else:
                    theirs, wall, cpu = _timed(
                        lambda p=path: vpdq.computeHash(str(p), seconds_per_hash=spH)
                    )
                    theirs_runs.append((wall, cpu))
            decode_runs.append(_timed(lambda p=path: _decoded_frames(p))[1:])
            # What the ingest does (issue 11): every frame, at most 30 a second.
            dense, wall, _ = _timed(
                lambda p=path: vpdq_hash(p, seconds_per_hash=DENSE_SECONDS_PER_HASH)
            )
            dense_runs.append(wall)
        assert ours is not None and theirs is not None
        by_number = {f.frame_number: f.hex for f in theirs}
        gaps = [
            _distance(f.pdq, by_number[f.frame_number]) for f in ours if f.frame_number in by_number
        ]
        ours_wall = min(w for w, _ in ours_runs)
        theirs_wall = min(w for w, _ in theirs_runs)
        row = {
            "file": path.name,
            "width": info.width,
            "height": info.height,
            "fps": info.fps,
            "duration_s": round(info.duration_s, 3),
            "frames": frames,
            "hashed_frames": {"safeguard": len(ours), "vpdq": len(theirs)},
            "ingest_dense": {
                "hashed_frames": len(dense),
                "wall_s_best": round(min(dense_runs), 4),
                "cost_vs_safeguard_at_this_rate": round(
                    min(dense_runs) / min(w for w, _ in ours_runs), 2
                ),
            },
            "same_frame_numbers": [f.frame_number for f in ours]
            == [f.frame_number for f in theirs],
            "pdq_distance_to_vpdq": {"max": max(gaps), "mean": round(statistics.mean(gaps), 2)},
            "wall_s_best": {"safeguard": round(ours_wall, 3), "vpdq": round(theirs_wall, 3)},
            "wall_s_all": {
                "safeguard": [round(w, 3) for w, _ in ours_runs],
                "vpdq": [round(w, 3) for w, _ in theirs_runs],
            },
            "cpu_s_best": {
                "safeguard": round(min(c for _, c in ours_runs), 3),
                "vpdq": round(min(c for _, c in theirs_runs), 3),
            },
            "pyav_decode_only_s_best": {
                "wall": round(min(w for w, _ in decode_runs), 3),
                "cpu": round(min(c for _, c in decode_runs), 3),
            },
            "frames_per_s": {
                "safeguard": round(frames / ours_wall, 1),
                "vpdq": round(frames / theirs_wall, 1),
            },
            "hashed_frames_per_s": {
                "safeguard": round(len(ours) / ours_wall, 2),
                "vpdq": round(len(theirs) / theirs_wall, 2),
            },
            "speedup": round(theirs_wall / ours_wall, 2),
            "cpu_ratio": round(min(c for _, c in theirs_runs) / min(c for _, c in ours_runs), 2),
        }
        rows.append(row)
        print(
            f"{path.name:24} {frames:5d} frames  safeguard {row['frames_per_s']['safeguard']:7.1f}"
            f" fr/s  vpdq {row['frames_per_s']['vpdq']:7.1f} fr/s  ratio {row['speedup']:.2f}x"
            f"  (PDQ gap max {max(gaps)} bits)",
            flush=True,
        )

    total_frames = sum(r["frames"] for r in rows)
    ours_total = sum(r["wall_s_best"]["safeguard"] for r in rows)
    theirs_total = sum(r["wall_s_best"]["vpdq"] for r in rows)
    summary = {
        "frames": total_frames,
        "frames_per_s": {
            "safeguard": round(total_frames / ours_total, 1),
            "vpdq": round(total_frames / theirs_total, 1),
        },
        "hashed_frames_per_s": {
            "safeguard": round(sum(r["hashed_frames"]["safeguard"] for r in rows) / ours_total, 2),
            "vpdq": round(sum(r["hashed_frames"]["vpdq"] for r in rows) / theirs_total, 2),
        },
        "ratio_safeguard_over_vpdq": round(theirs_total / ours_total, 2),
        "ingest_dense_vs_this_rate": round(
            sum(r["ingest_dense"]["wall_s_best"] for r in rows) / ours_total, 2
        ),
        "cpu_ratio_vpdq_over_safeguard": round(
            sum(r["cpu_s_best"]["vpdq"] for r in rows)
            / sum(r["cpu_s_best"]["safeguard"] for r in rows),
            2,
        ),
    }
    result = {
        "benchmark": "vPDQ hashing, Safeguard vpdq_hash vs the vpdq package, same files",
        "seconds_per_hash": spH,
        "repeat": args.repeat,
        "timing": (
            "wall_s_best is the fastest of the alternating runs; frames/s and the ratio use it. "
            "The ratio is vpdq wall time / Safeguard wall time (above 1: Safeguard is faster)."
        ),
        "versions": {
            "vpdq": metadata.version("vpdq"),
            "av": av.__version__,
            "pyav_ffmpeg_libavcodec": ".".join(map(str, av.library_versions["libavcodec"])),
            "system_ffmpeg_libavcodec_for_vpdq": _system_ffmpeg(),
            "python": platform.python_version(),
        },
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "summary": summary,
        "videos": rows,
        "total_run_s": round(time.perf_counter() - started, 1),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"all: safeguard {summary['frames_per_s']['safeguard']} fr/s, "
        f"vpdq {summary['frames_per_s']['vpdq']} fr/s, "
        f"ratio {summary['ratio_safeguard_over_vpdq']}x -> {RESULTS.relative_to(ROOT.parent)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

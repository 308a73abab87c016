"""Ingest of a disk image (NTFS in a GPT disk, acquired as E01) against the same files as a folder.

Generates (and caches, see bench/corpus.py) the benign bench exhibit, writes it into an NTFS
partition (mkntfs, then a FUSE ntfs-3g mount: needs root), acquires the disk as E01 with
``ewfacquire`` (fast compression, MD5 + SHA-1), then runs the real ingest
(``safeguard.triage.ingest.ingest_exhibit``) twice in fresh SQLite stores, side by side with
the same worker count: the folder, and the E01 (optionally ``--verify`` on top). Prints and
writes GB/h both ways (GB = bytes of the files themselves, 10^9), per core, and the ratio.
Writes bench/results/images.json.

    .venv/bin/python bench/bench_images.py               # about 2 GB of files (the issue's size)
    .venv/bin/python bench/bench_images.py --files 2000  # quicker (about 150 MB)
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import common
import corpus

#: Files in the default exhibit: at ~75 KB each, about 2 GB.
DEFAULT_FILES = 27_000


def _ingest(root: Path, bank_csv: Path, workers: int, work: Path, name: str, verify: bool) -> dict:
    from safeguard.banks.bank_files import import_bank_file
    from safeguard.store.cases import create_case
    from safeguard.store.database import session_scope
    from safeguard.triage.ingest import IngestOptions, ingest_exhibit

    url = f"sqlite:///{work / (name + '.sqlite')}"
    with session_scope(url) as session:
        create_case(session, "BENCH-IMG")
    import_bank_file(bank_csv, "bench", database_url=url)
    options = IngestOptions(workers=workers, verify=verify)
    started = time.perf_counter()
    summary = ingest_exhibit("BENCH-IMG", "EX", root, options, database_url=url)
    seconds = time.perf_counter() - started
    return {
        "seconds": round(seconds, 2),
        "files_stored": summary.files_stored,
        "errors": summary.errors,
        "walk_s": round(summary.timings["walk"], 2),
        "verification": summary.image.verification if summary.image else None,
    }


def _libewf_has_zlib() -> bool | None:
    """Whether the installed pyewf links zlib (the PyPI wheel has only libewf's own inflate,
    which reads compressed chunks far slower)."""
    try:
        import pyewf
    except ImportError:
        return None
    try:
        with open(pyewf.__file__, "rb") as handle:
            return b"libz.so" in handle.read()
    except OSError:
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=DEFAULT_FILES)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--verify", action="store_true", help="also verify the E01 hashes")
    parser.add_argument(
        "--compression",
        default="fast",
        choices=("none", "empty-block", "fast", "best"),
        help="ewfacquire's compression of the E01 (default fast, as acquisition tools write)",
    )
    args = parser.parse_args(argv)

    sys.path.insert(0, str(common.BENCH.parent / "src"))
    from safeguard.demo.disk_images import MIB, PartitionPlan, build_disk, missing_tools, to_e01

    missing = missing_tools("ntfs", "table", "e01")
    if missing or os.geteuid() != 0:
        print(f"needs root and Debian packages: {', '.join(missing) or '(root)'}", file=sys.stderr)
        return 2
    exhibit = corpus.exhibit_corpus(
        corpus.ExhibitSpec(files=args.files, bank=max(1000, args.files)), log=print
    )
    total = exhibit.total_bytes
    work = Path(tempfile.mkdtemp(prefix="bench-images-", dir=common.DATA))
    try:
        started = time.perf_counter()
        size = (int(total * 1.25) // MIB + 64) * MIB
        disk = build_disk(
            work / "disk.img", [PartitionPlan("ntfs", exhibit.exhibit_dir, size)], table="gpt"
        )
        built_s = time.perf_counter() - started
        started = time.perf_counter()
        segments = to_e01(
            disk.path, work / "disk", segment_bytes=1 << 30, compression=args.compression
        )
        acquired_s = time.perf_counter() - started
        disk.path.unlink()
        e01_bytes = sum(p.stat().st_size for p in segments)
        print(f"NTFS image built in {built_s:.0f} s, E01 ({len(segments)} segments, "
              f"{e01_bytes / 1e9:.2f} GB) in {acquired_s:.0f} s")  # fmt: skip
        folder = _ingest(exhibit.exhibit_dir, exhibit.bank_csv, args.workers, work, "folder", False)
        image = _ingest(segments[0], exhibit.bank_csv, args.workers, work, "e01", args.verify)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    gb = total / 1e9
    rows = []
    results = {}
    for name, run in (("folder", folder), ("E01 (NTFS, GPT)", image)):
        rate = gb / (run["seconds"] / 3600)
        results[name] = {**run, "gb_per_hour": round(rate, 2),
                         "gb_per_hour_per_core": round(rate / args.workers, 2)}  # fmt: skip
        rows.append((name, run["files_stored"], f"{run['seconds']:.1f}", f"{rate:.1f}",
                     f"{rate / args.workers:.1f}"))  # fmt: skip
    ratio = folder["seconds"] / image["seconds"]
    print(common.table(("source", "files", "seconds", "GB/h", "GB/h per core"), rows,
                       title=f"{gb:.2f} GB of files, {args.workers} workers"))  # fmt: skip
    print(f"E01 ingest runs at {ratio:.2f}x the folder's rate")
    path = common.write_result(
        "images",
        {
            "files": args.files,
            "file_bytes": total,
            "workers": args.workers,
            "verify": args.verify,
            "e01_compression": args.compression,
            "libewf_zlib": _libewf_has_zlib(),
            "e01_segments": len(segments),
            "e01_bytes": e01_bytes,
            "image_build_s": round(built_s, 1),
            "acquire_s": round(acquired_s, 1),
            "results": results,
            "e01_rate_over_folder_rate": round(ratio, 3),
            "note": "measured on a shared machine (eight engineers, 2 cores) unless stated",
        },
    )
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

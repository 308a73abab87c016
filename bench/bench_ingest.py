"""End-to-end ingest: a generated benign exhibit through ``ingest_exhibit`` on SQLite.

Generates (and caches, see bench/corpus.py) an exhibit of N files, mostly 640x480 JPEGs of
50-100 KB, with PNGs, a few 2 MP camera JPEGs, byte copies, near-duplicates, text and binary
files, and a CSV bank that knows ~3% of the pictures by digest and ~2% by PDQ, padded with
random hashes. Then, in a fresh SQLite database: creates a case, imports the bank (timed apart),
and runs the real ingest (``safeguard.triage.ingest.ingest_exhibit``) with 2 worker processes
in a child process, sampling the resident memory of that process and its workers.

Reports the end-to-end time and where it went, from ``IngestSummary.timings``: the main
process's wall time (evidence walk, waiting for workers, store, match) and the workers' time by
phase (read, digest, decode, pixels, PDQ, EXIF); the store's share of the end-to-end time; and
the peak resident memory. Writes bench/results/ingest-<N/1000>k.json.

    .venv/bin/python bench/bench_ingest.py                 # 100,000 files (generation ~10 min once)
    .venv/bin/python bench/bench_ingest.py --files 20000   # quicker
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import common
import corpus

CASE = "BENCH-1"
EXHIBIT = "EX-1"


# --- the child: runs the ingest and reports on itself -----------------------------------------


def _rss_of(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            return [int(p) for p in fh.read().split()]
    except OSError:
        return []


class MemorySampler(threading.Thread):
    """Samples the resident memory of this process and of its children every ``interval`` s."""

    def __init__(self, interval: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self.peak_self = 0
        self.peak_worker = 0
        self.peak_total = 0
        self.samples = 0
        self._stop_event = threading.Event()

    def sample(self) -> None:
        me = os.getpid()
        own = _rss_of(me)
        workers = [_rss_of(c) for c in _children(me)]
        self.peak_self = max(self.peak_self, own)
        self.peak_worker = max([self.peak_worker, *workers])
        self.peak_total = max(self.peak_total, own + sum(workers))
        self.samples += 1

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.sample()
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


class PhaseMemory:
    """A ``Progress`` that notes the peak memory so far whenever a phase starts."""

    def __init__(self, sampler: MemorySampler) -> None:
        self.sampler = sampler
        self.at_phase: dict[str, dict[str, int]] = {}

    def phase(self, name: str, total: int | None = None) -> None:
        self.sampler.sample()
        self.at_phase[name] = {
            "peak_rss_main_so_far": self.sampler.peak_self,
            "peak_rss_total_so_far": self.sampler.peak_total,
        }

    def advance(self, steps: int = 1) -> None:
        pass


def run_ingest(database_url: str, root: Path, workers: int) -> dict[str, Any]:
    """Ingest ``root`` as CASE/EXHIBIT (in this process) and report timings and memory."""
    from safeguard.triage.ingest import IngestOptions, ingest_exhibit

    sampler = MemorySampler()
    sampler.start()
    phases = PhaseMemory(sampler)
    started = time.perf_counter()
    summary = ingest_exhibit(
        CASE, EXHIBIT, root, IngestOptions(workers=workers), phases, database_url=database_url
    )
    wall = time.perf_counter() - started
    sampler.stop()
    return {
        "memory_at_phase_start": phases.at_phase,
        "wall_s": round(wall, 3),
        "files_seen": summary.files_seen,
        "files_stored": summary.files_stored,
        "errors": summary.errors,
        "timings": {k: round(v, 3) for k, v in summary.timings.items()},
        "peak_rss_main": common.peak_rss(),
        "peak_rss_worker": max(
            common.peak_rss(common.resource.RUSAGE_CHILDREN), sampler.peak_worker
        ),
        "peak_rss_total_sampled": sampler.peak_total,
        "memory_samples": sampler.samples,
    }


# --- the parent ----------------------------------------------------------------------------


def _store_counts(database_url: str) -> dict[str, Any]:
    from sqlalchemy import func, select

    from safeguard.store.database import session_scope
    from safeguard.store.models import DupGroup, ExhibitMedia, FileRecord, Match, Media

    with session_scope(database_url) as session:
        counts: dict[str, Any] = {
            name: session.scalar(select(func.count()).select_from(model))
            for name, model in (
                ("file_records", FileRecord),
                ("media", Media),
                ("matches", Match),
                ("dup_groups", DupGroup),
            )
        }
        counts["status"] = dict(
            session.execute(
                select(ExhibitMedia.status, func.count()).group_by(ExhibitMedia.status)
            ).all()
        )
        counts["groups_of_2_or_more"] = session.scalar(
            select(func.count()).select_from(DupGroup).where(DupGroup.size >= 2)
        )
    return counts


def _split(result: dict[str, Any], workers: int) -> dict[str, Any]:
    """The end-to-end time as read / decode / hash / match / store (and the rest)."""
    t = result["timings"]
    total = t["total"]
    per_worker = {k.removeprefix("workers."): v for k, v in t.items() if k.startswith("workers.")}
    busy = per_worker.pop("busy", 0.0)
    parts = sum(per_worker.values())
    # Worker seconds run on `workers` processes at once: divide to get their share of the wall.
    read = per_worker.get("read", 0.0) / workers
    decode = (per_worker.get("decode", 0.0) + per_worker.get("pixels", 0.0)) / workers
    hashing = (
        per_worker.get("digest", 0.0) + per_worker.get("pdq", 0.0) + per_worker.get("exif", 0.0)
    ) / workers
    worker_other = (busy - parts) / workers
    main_other = total - t["walk"] - t["wait"] - t["store"] - t["match"]
    return {
        "end_to_end_s": total,
        "wall_equivalent_s": {
            "read": round(read, 2),
            "decode": round(decode, 2),
            "hash": round(hashing, 2),
            "worker_other": round(worker_other, 2),
            "match": t["match"],
            "store": t["store"],
        },
        "share_of_end_to_end": {
            "read": round(read / total, 4),
            "decode": round(decode / total, 4),
            "hash": round(hashing / total, 4),
            "worker_other": round(worker_other / total, 4),
            "match": round(t["match"] / total, 4),
            "store": round(t["store"] / total, 4),
        },
        "main_process_wall_s": {
            "walk": t["walk"],
            "wait_for_workers": t["wait"],
            "store": t["store"],
            "match": t["match"],
            "other": round(main_other, 3),
        },
        "worker_seconds": {**{k: round(v, 2) for k, v in per_worker.items()}, "busy": busy},
        "worker_utilisation": round(busy / (workers * (total - t["match"])), 3),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--bank", type=int, default=100_000, help="bank entries")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep-db", action="store_true", help="keep the SQLite file")
    parser.add_argument(
        "--tiny", action="store_true", help="80x60 pictures only: memory over very many files"
    )
    parser.add_argument("--run-ingest", nargs=2, metavar=("URL", "ROOT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.run_ingest:  # the child
        url, root = args.run_ingest
        print(json.dumps(run_ingest(url, Path(root), args.workers)))
        return 0

    spec = corpus.ExhibitSpec(seed=args.seed, files=args.files, bank=args.bank, tiny=args.tiny)
    exhibit = corpus.exhibit_corpus(spec, log=lambda m: print(m, flush=True))
    print(f"exhibit: {exhibit.exhibit_dir} ({exhibit.counts}, {exhibit.total_bytes / 1e9:.2f} GB)")
    workdir = Path(tempfile.mkdtemp(prefix="ingest-db-", dir=common.DATA))
    url = f"sqlite:///{workdir / 'bench.sqlite'}"
    try:
        from safeguard.banks.bank_files import import_bank_file
        from safeguard.store.cases import create_case
        from safeguard.store.database import session_scope

        with session_scope(url) as session:
            create_case(session, CASE, "benchmark (benign generated data)")
        started = time.perf_counter()
        imported = import_bank_file(exhibit.bank_csv, "bench-bank", database_url=url)
        bank_s = time.perf_counter() - started
        print(f"bank: {imported.imported:,} entries imported in {bank_s:.1f} s")
        # Warm the page cache so that every run reads from memory (stated in the results).
        for dirpath, _, names in os.walk(exhibit.exhibit_dir):
            for name in names:
                with open(os.path.join(dirpath, name), "rb", buffering=0) as fh:
                    fh.readall()
        load_before = os.getloadavg()
        print(f"ingesting {args.files:,} files with {args.workers} workers ...", flush=True)
        child = subprocess.run(
            [
                sys.executable,
                __file__,
                "--workers",
                str(args.workers),
                "--run-ingest",
                url,
                str(exhibit.exhibit_dir),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        result = json.loads(child.stdout.strip().splitlines()[-1])
        load_after = os.getloadavg()
        counts = _store_counts(url)
        db_bytes = sum(p.stat().st_size for p in workdir.iterdir())
    finally:
        if not args.keep_db:
            shutil.rmtree(workdir, ignore_errors=True)

    split = _split(result, args.workers)
    total = split["end_to_end_s"]
    print()
    print(
        common.table(
            ["phase", "seconds", "share"],
            [
                [name, split["wall_equivalent_s"][name], 100 * split["share_of_end_to_end"][name]]
                for name in ("read", "decode", "hash", "worker_other", "match", "store")
            ]
            + [["end to end", total, 100.0]],
            f"{args.files:,} files, {args.workers} workers, SQLite: {args.files / total:,.0f} "
            f"files/s (read/decode/hash: worker seconds / {args.workers}; share in %)",
        )
    )
    print()
    print(
        common.table(
            ["main process", "seconds"],
            [[k, v] for k, v in split["main_process_wall_s"].items()],
        )
    )
    print()
    print(
        common.table(
            ["worker phase (sum of workers)", "seconds"],
            [[k, v] for k, v in split["worker_seconds"].items()],
        )
    )
    store_share = split["share_of_end_to_end"]["store"]
    print(
        f"\nstore share {100 * store_share:.1f}% (target < 10%: "
        f"{'met' if store_share < 0.10 else 'MISSED'}); worker utilisation during hashing "
        f"{100 * split['worker_utilisation']:.0f}%"
    )
    print(
        f"peak RSS: main {common.mib(result['peak_rss_main'])} MiB, largest worker "
        f"{common.mib(result['peak_rss_worker'])} MiB, main + workers (sampled) "
        f"{common.mib(result['peak_rss_total_sampled'])} MiB"
    )
    before = result["memory_at_phase_start"].get("matching", {})
    if before:
        print(
            f"peak RSS before matching (hashing and storing): main "
            f"{common.mib(before['peak_rss_main_so_far'])} MiB, main + workers "
            f"{common.mib(before['peak_rss_total_so_far'])} MiB"
        )
    print(f"store: {counts}")
    path = common.write_result(
        f"ingest-{args.files // 1000}k{'-tiny' if args.tiny else ''}",
        {
            "exhibit": {
                "files": args.files,
                "bytes": exhibit.total_bytes,
                "kinds": exhibit.counts,
                "bank_entries": args.bank,
                "bank_planted": exhibit.bank_counts,
            },
            "workers": args.workers,
            "database": "SQLite (WAL, synchronous=NORMAL), fresh file",
            "page_cache": "warm (every file read once before the run)",
            "bank_import_s": round(bank_s, 2),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in load_after],
            "files_per_s": round(args.files / total, 1),
            "split": split,
            "store_share": store_share,
            "targets": {"store_share_<10%": {"value": store_share, "met": store_share < 0.10}},
            "memory": {
                "peak_rss_main": result["peak_rss_main"],
                "peak_rss_largest_worker": result["peak_rss_worker"],
                "peak_rss_main_plus_workers_sampled": result["peak_rss_total_sampled"],
                "peak_rss_before_matching": result["memory_at_phase_start"].get("matching", {}),
            },
            "ingest": result,
            "store_counts": counts,
            "database_bytes": db_bytes,
        },
    )
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

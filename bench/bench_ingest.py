"""End-to-end ingest: ``safeguard ingest`` as users run it, on generated benign exhibits.

The command is timed end to end in a new process (walk, digests, PDQ, EXIF, vPDQ, review
previews made by the workers, matching, grouping, store), on bench/corpus.py's mixed exhibit
(default 2,000 files, seed 3) and on a camera roll of 12 MP JPEGs, side by side in the same run
with HMA-style hashing (python-threatexchange ``PdqSignal.hash_from_file``, PDQ only) and the
luma draft-decode floor on the same files and number of processes; its time is split by phase
from ``safeguard ingest --timings``. ``--api`` adds the ``ingest_exhibit`` API run below.


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

    .venv/bin/python bench/bench_ingest.py                 # 2,000 files + 40 camera JPEGs
    .venv/bin/python bench/bench_ingest.py --files 100000 --api   # the large run (long)
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


# --- the command as users run it, side by side with its peers ---------------------------------


def _hma(path: str) -> bool:
    """HMA-style hashing of one file: python-threatexchange ``PdqSignal.hash_from_file`` (PDQ
    only; files that are not pictures fail, as they would in HMA)."""
    from threatexchange.signal_type.pdq.signal import PdqSignal

    try:
        PdqSignal.hash_from_file(Path(path))
        return True
    except Exception:  # noqa: BLE001 - not a picture: HMA skips it too
        return False


def _luma_floor(path: str) -> None:
    """The per-file floor: read the bytes and decode straight to luma at the reduced scale in
    one block (what Safeguard's decode of a large JPEG costs, and nothing else)."""
    import io

    from PIL import Image

    from safeguard.hashing.pixels import PDQ_MIN_SIDE

    with open(path, "rb", buffering=0) as fh:
        data = fh.readall()
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.format in ("JPEG", "MPO"):
                img.decodermaxblock = max(img.decodermaxblock, len(data))
                img.draft("L", (PDQ_MIN_SIDE, PDQ_MIN_SIDE))
            img.load()
    except Exception:  # noqa: BLE001 - not a picture: reading it was the whole cost
        pass


def _pool_seconds(fn: Any, paths: Sequence[str], workers: int) -> float:
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(workers) as pool:
        list(pool.map(time.sleep, [0.05] * workers * 2))  # workers started before timing
        started = time.perf_counter()
        list(pool.map(fn, paths, chunksize=4))
        return time.perf_counter() - started


def _files(root: Path) -> list[str]:
    return sorted(
        os.path.join(dirpath, name) for dirpath, _, names in os.walk(root) for name in names
    )


def _warm(paths: Sequence[str]) -> None:
    for path in paths:
        with open(path, "rb", buffering=0) as fh:
            fh.readall()


def _cli_ingest(url: str, root: Path, workers: int, workdir: Path) -> tuple[float, dict]:
    """Wall seconds of ``safeguard ingest`` as a user runs it (a new process: start-up,
    migrations check, walk, hashing, previews, matching, grouping, store, review previews), and
    its own account of where the time went (``--timings``)."""
    timings = workdir / f"timings-{root.name}.json"
    command = [
        str(Path(sys.executable).with_name("safeguard")),
        "ingest",
        CASE,
        EXHIBIT,
        str(root),
        "--workers",
        str(workers),
        "--timings",
        str(timings),
    ]
    env = {**os.environ, "SAFEGUARD_DATABASE_URL": url, "COLUMNS": "120"}
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - started
    return wall, json.loads(timings.read_text())


def _phase_split(wall: float, t: dict[str, float], workers: int) -> dict[str, Any]:
    """The command's wall time by phase: the main process's own wall seconds, and the workers'
    seconds by phase divided by the number of workers (they run side by side)."""
    worker = {k.removeprefix("workers."): v for k, v in t.items() if k.startswith("workers.")}
    busy = worker.pop("busy", 0.0)
    main_parts = {k: t.get(k, 0.0) for k in ("walk", "wait", "store", "match", "previews")}
    main_parts["review_prepare"] = t.get("prepare_review", 0.0)
    main_parts["start_up_and_exit"] = wall - t.get("total", 0.0) - t.get("prepare_review", 0.0)
    return {
        "wall_s": round(wall, 3),
        "main_process_s": {k: round(v, 3) for k, v in main_parts.items()},
        "workers_s_per_worker": {
            **{k: round(v / workers, 3) for k, v in worker.items()},
            "other": round((busy - sum(worker.values())) / workers, 3),
            "busy": round(busy / workers, 3),
        },
    }


def _camera_roll(count: int, seed: int, into: Path) -> Path:
    """A folder of ``count`` 12 MP camera JPEGs with EXIF (bench/corpus.py's hashing corpus),
    hard-linked (copied where links cannot be made)."""
    data = corpus.hashing_corpus(
        corpus.HashingSpec(seed, count, 0, 0, 0), log=lambda m: print(m, flush=True)
    )
    into.mkdir(parents=True, exist_ok=True)
    for f in data.files:
        target = into / Path(f.name).name
        if not target.exists():
            try:
                os.link(data.root / f.name, target)
            except OSError:
                shutil.copyfile(data.root / f.name, target)
    return into


def _measure(
    name: str, root: Path, workers: int, bank_csv: Path | None, workdir: Path
) -> dict[str, Any]:
    from safeguard.banks.bank_files import import_bank_file
    from safeguard.store.cases import create_case
    from safeguard.store.database import session_scope

    url = f"sqlite:///{workdir / f'{name}.sqlite'}"
    with session_scope(url) as session:
        create_case(session, CASE, "benchmark (benign generated data)")
    if bank_csv is not None:
        import_bank_file(bank_csv, "bench-bank", database_url=url)
    paths = _files(root)
    _warm(paths)
    print(f"{name}: {len(paths):,} files; safeguard ingest, HMA hashing, luma floor ...")
    load_before = os.getloadavg()
    wall, timings = _cli_ingest(url, root, workers, workdir)
    hma_s = _pool_seconds(_hma, paths, workers)
    floor_s = _pool_seconds(_luma_floor, paths, workers)
    load_after = os.getloadavg()
    n = len(paths)
    counts = _store_counts(url)
    return {
        "files": n,
        "bytes": sum(os.path.getsize(p) for p in paths),
        "workers": workers,
        "files_per_s": {
            "safeguard_ingest_cli": round(n / wall, 1),
            "hma_pdq_only": round(n / hma_s, 1),
            "luma_draft_floor": round(n / floor_s, 1),
        },
        "ratio": {
            "cli_vs_hma": round(hma_s / wall, 3),
            "cli_vs_luma_floor": round(floor_s / wall, 3),
        },
        "phases": _phase_split(wall, timings, workers),
        "timings_raw": timings,
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in load_after],
        "store_counts": counts,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--files", type=int, default=2_000, help="mixed exhibit (default 2,000)")
    parser.add_argument("--bank", type=int, default=10_000, help="bank entries")
    parser.add_argument("--camera", type=int, default=40, help="12 MP camera JPEGs (0: skip)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--keep-db", action="store_true", help="keep the SQLite files")
    parser.add_argument(
        "--tiny", action="store_true", help="80x60 pictures only: memory over very many files"
    )
    parser.add_argument(
        "--api", action="store_true", help="also the ingest_exhibit API in a child, with memory"
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
    results: dict[str, Any] = {}
    try:
        results["mixed"] = _measure(
            "mixed", exhibit.exhibit_dir, args.workers, exhibit.bank_csv, workdir
        )
        if args.camera:
            roll = _camera_roll(args.camera, args.seed, common.DATA / f"camera-roll-{args.camera}")
            results["camera_roll"] = _measure("camera", roll, args.workers, None, workdir)
        if args.api:
            url = f"sqlite:///{workdir / 'api.sqlite'}"
            from safeguard.banks.bank_files import import_bank_file
            from safeguard.store.cases import create_case
            from safeguard.store.database import session_scope

            with session_scope(url) as session:
                create_case(session, CASE)
            import_bank_file(exhibit.bank_csv, "bench-bank", database_url=url)
            child = subprocess.run(
                [sys.executable, __file__, "--workers", str(args.workers), "--run-ingest", url,
                 str(exhibit.exhibit_dir)],
                check=True, capture_output=True, text=True,
            )  # fmt: skip
            api = json.loads(child.stdout.strip().splitlines()[-1])
            results["api_ingest_exhibit"] = {
                "files_per_s": round(api["files_seen"] / api["timings"]["total"], 1),
                "split": _split(api, args.workers),
                "memory": {
                    "peak_rss_main": api["peak_rss_main"],
                    "peak_rss_largest_worker": api["peak_rss_worker"],
                    "peak_rss_main_plus_workers_sampled": api["peak_rss_total_sampled"],
                },
            }
    finally:
        if not args.keep_db:
            shutil.rmtree(workdir, ignore_errors=True)

    for name, r in results.items():
        if "phases" not in r:
            print(f"\n{name}: {r['files_per_s']} files/s")
            continue
        print()
        rates = r["files_per_s"]
        print(
            common.table(
                ["method", "files/s", "safeguard ingest / method"],
                [
                    ["safeguard ingest (CLI, end to end, previews)", rates["safeguard_ingest_cli"],
                     1.0],
                    ["HMA hashing, PDQ only (same processes)", rates["hma_pdq_only"],
                     r["ratio"]["cli_vs_hma"]],
                    ["floor: luma draft decode (same processes)", rates["luma_draft_floor"],
                     r["ratio"]["cli_vs_luma_floor"]],
                ],
                f"{name}: {r['files']:,} files, {r['bytes'] / 1e6:,.0f} MB, "
                f"{r['workers']} workers, SQLite",
            )
        )  # fmt: skip
        phases = r["phases"]
        print(
            common.table(
                ["phase", "seconds"],
                [[f"main: {k}", v] for k, v in phases["main_process_s"].items()]
                + [[f"workers: {k}", v] for k, v in phases["workers_s_per_worker"].items()]
                + [["wall", phases["wall_s"]]],
                "where the command's time went (worker seconds per worker)",
            )
        )
    targets: dict[str, Any] = {}
    if "mixed" in results:
        v = results["mixed"]["ratio"]["cli_vs_hma"]
        targets["mixed_cli_vs_hma_>=1.5x"] = {"value": v, "met": v >= 1.5}
    if "camera_roll" in results:
        v = results["camera_roll"]["ratio"]["cli_vs_luma_floor"]
        targets["camera_cli_vs_luma_floor_>=0.5x"] = {"value": v, "met": v >= 0.5}
    print("\nTargets:")
    for name, t in targets.items():
        print(f"  {name:<40} {t['value']:>8}  {'met' if t['met'] else 'MISSED'}")
    path = common.write_result(
        f"ingest-{args.files // 1000}k{'-tiny' if args.tiny else ''}",
        {
            "exhibit": {
                "files": args.files,
                "seed": args.seed,
                "bytes": exhibit.total_bytes,
                "kinds": exhibit.counts,
                "bank_entries": args.bank,
                "bank_planted": exhibit.bank_counts,
            },
            "camera_roll_files": args.camera,
            "workers": args.workers,
            "database": "SQLite (WAL, synchronous=NORMAL), fresh file per exhibit",
            "page_cache": "warm (every file read once before the runs)",
            "timing": "safeguard ingest: wall time of the CLI command in a new process, as users "
            "run it (start-up, walk, digests, PDQ, EXIF, vPDQ, previews, matching, grouping, "
            "store); peers on the same files and number of processes, in the same run",
            "note": "taken on a shared machine (several engineers' jobs running): ratios are "
            "side by side in one run, absolute rates only indicative",
            "results": results,
            "targets": targets,
        },
    )
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

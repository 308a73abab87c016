"""Side-by-side benchmark: Safeguard PdqIndex vs faiss IndexBinaryFlat and IndexBinaryMultiHash.

Two parts. **Uniform** (``--sizes``): banks of N uniformly random 256-bit hashes, queries 1%
planted near-duplicates (a bank hash with 0..radius bits flipped) and 99% random hashes: the best
case for multi-index hashing. **Realistic** (``--realistic-n``, default 200,000): near-duplicate
families, low-quality clusters and real-world skew (bench/corpus.py's PDQ hashes replicated with
bit noise), half the queries near a bank hash; every contender gets the same queries at batch
sizes 1, 100 and 10,000, single-query latency p50/p99 over ``--single-queries`` queries, recall
against faiss's exhaustive flat index.

* Safeguard ``PdqIndex`` (layout "mih", the default, and "compact", the low-memory layout).
* faiss ``IndexBinaryFlat``: exhaustive; ``range_search(q, radius + 1)`` since faiss keeps
  distances strictly below the given radius.
* faiss ``IndexBinaryMultiHash(256, nhash=16, b=16)`` with ``nflip = radius // 16``: what Meta's
  python-threatexchange / HMA uses for PDQ (``PDQMultiHashIndex``, threatexchange
  ``signal_type/pdq/pdq_faiss_matcher.py``: ``bits_per_hashmap = 256 // nhash`` with
  ``nhash = 16``, ``nflip = threshold // nhash``, ``range_search(qs, threshold + 1)``).

faiss runs with ``omp_set_num_threads(2)``; PdqIndex with ``workers=2``. The flat index is timed
on a subsample of queries (all planted ones plus random ones up to ``--flat-queries``) that also
serves as ground truth for recall; multihash on ``--mh-queries`` queries. Memory is the arrays'
bytes for PdqIndex and the resident-set growth while building for faiss. Load time is reading
the saved index back (PdqIndex memory-mapped, and fully read; faiss ``read_index_binary``).

    .venv/bin/python bench/bench_index.py --sizes 1000000,10000000 --queries 100000 --radius 31
    .venv/bin/python bench/bench_index.py --sizes "" --realistic-n 200000   # realistic only
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from safeguard.matching.pdq_index import PdqIndex

RESULTS = Path(__file__).resolve().parent / "results" / "index.json"


def rss() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def make_data(
    n: int, n_queries: int, radius: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Bank, queries, the planted queries' positions and their source rows."""
    rng = np.random.default_rng(seed)
    bank = rng.integers(0, 256, size=(n, 32), dtype=np.uint8)
    queries = rng.integers(0, 256, size=(n_queries, 32), dtype=np.uint8)
    n_planted = max(1, n_queries // 100)
    planted = np.sort(rng.choice(n_queries, size=n_planted, replace=False))
    sources = rng.integers(0, n, size=n_planted)
    flips = rng.integers(0, radius + 1, size=n_planted)
    order = np.argsort(rng.random((n_planted, 256)), axis=1)
    mask_bits = (order < flips[:, None]).astype(np.uint8)  # exactly flips[i] bits set
    queries[planted] = bank[sources] ^ np.packbits(mask_bits, axis=1)
    return bank, queries, planted, sources


def pairs_from_faiss(lims: np.ndarray, labels: np.ndarray, rows: np.ndarray) -> set[tuple]:
    q = np.repeat(rows, np.diff(lims.astype(np.int64)))
    return set(zip(q.tolist(), labels.tolist(), strict=True))


def recall(found: set[tuple], truth: set[tuple]) -> dict[str, Any]:
    hit = len(found & truth)
    return {
        "truth_pairs": len(truth),
        "found_pairs": hit,
        "false_pairs": len(found - truth),
        "recall": hit / len(truth) if truth else 1.0,
    }


def bench_ours(
    layout: str,
    bank: np.ndarray,
    queries: np.ndarray,
    sub: np.ndarray,
    truth: set[tuple],
    radius: int,
    workers: int,
    tmp: Path,
) -> dict[str, Any]:
    ids = np.arange(len(bank), dtype=np.int64)
    t = time.perf_counter()
    index = PdqIndex.build(bank, ids, layout=layout)  # type: ignore[arg-type]
    build_s = time.perf_counter() - t
    index.search(queries[:64], radius, workers=workers)  # warm caches and thread start-up
    t = time.perf_counter()
    result = index.search(queries, radius, workers=workers)
    search_s = time.perf_counter() - t
    in_sub = np.isin(result.query_index, sub)
    found = set(
        zip(
            result.query_index[in_sub].tolist(),
            result.ids[in_sub].tolist(),
            strict=True,
        )
    )
    path = tmp / f"pdq-{layout}.idx"
    t = time.perf_counter()
    index.save(path)
    save_s = time.perf_counter() - t
    file_bytes = path.stat().st_size
    del index
    gc.collect()
    t = time.perf_counter()
    loaded = PdqIndex.load(path, mmap=True)
    load_mmap_s = time.perf_counter() - t
    t = time.perf_counter()
    first = loaded.search(queries[sub[:1000]], radius, workers=workers)
    first_s = time.perf_counter() - t
    same = set(zip((sub[:1000][first.query_index]).tolist(), first.ids.tolist(), strict=True))
    del loaded, first
    t = time.perf_counter()
    read = PdqIndex.load(path, mmap=False)
    load_read_s = time.perf_counter() - t
    nbytes = read.nbytes
    shape = read.table_shape
    del read
    gc.collect()
    path.unlink()
    return {
        "name": f"safeguard PdqIndex ({layout})",
        "tables": f"{shape[0]}x{shape[1]} bits" if shape[0] else "built per search",
        "build_s": build_s,
        "queries": len(queries),
        "search_s": search_s,
        "qps": len(queries) / search_s,
        "memory_bytes": nbytes,
        "file_bytes": file_bytes,
        "save_s": save_s,
        "load_mmap_s": load_mmap_s,
        "load_read_s": load_read_s,
        "first_1000_after_mmap_load_s": first_s,
        "loaded_results_match": same <= found | truth and len(same) > 0,
        **recall(found, truth),
    }


def bench_faiss(
    kind: str,
    bank: np.ndarray,
    queries: np.ndarray,
    rows: np.ndarray,
    truth: set[tuple] | None,
    radius: int,
    tmp: Path,
) -> tuple[dict[str, Any], set[tuple]]:
    import faiss

    before = rss()
    t = time.perf_counter()
    if kind == "flat":
        index = faiss.IndexBinaryFlat(256)
    else:
        index = faiss.IndexBinaryMultiHash(256, 16, 16)
    index.add(bank)
    build_s = time.perf_counter() - t
    memory = rss() - before
    if kind == "multihash":
        index.nflip = radius // 16
    index.range_search(queries[rows[:16]], radius + 1)
    t = time.perf_counter()
    lims, _, labels = index.range_search(queries[rows], radius + 1)
    search_s = time.perf_counter() - t
    found = pairs_from_faiss(lims, labels, rows)
    path = tmp / f"faiss-{kind}.index"
    t = time.perf_counter()
    faiss.write_index_binary(index, str(path))
    save_s = time.perf_counter() - t
    file_bytes = path.stat().st_size
    del index
    gc.collect()
    t = time.perf_counter()
    loaded = faiss.read_index_binary(str(path))
    load_s = time.perf_counter() - t
    del loaded
    gc.collect()
    path.unlink()
    name = {"flat": "faiss IndexBinaryFlat", "multihash": "faiss IndexBinaryMultiHash(16x16)"}
    row = {
        "name": name[kind],
        "tables": "exhaustive" if kind == "flat" else f"nhash=16 b=16 nflip={radius // 16}",
        "build_s": build_s,
        "queries": len(rows),
        "search_s": search_s,
        "qps": len(rows) / search_s,
        "memory_bytes": memory,
        "file_bytes": file_bytes,
        "save_s": save_s,
        "load_mmap_s": None,
        "load_read_s": load_s,
        **recall(found, found if truth is None else truth),
    }
    return row, found


def run_size(n: int, args: argparse.Namespace) -> dict[str, Any]:
    import faiss

    faiss.omp_set_num_threads(args.threads)
    print(f"\n=== N = {n:,} hashes, {args.queries:,} queries, radius {args.radius} ===", flush=True)
    t = time.perf_counter()
    bank, queries, planted, sources = make_data(n, args.queries, args.radius, args.seed)
    print(f"data: {time.perf_counter() - t:.1f}s", flush=True)
    rng = np.random.default_rng(args.seed + 1)
    others = np.setdiff1d(np.arange(args.queries), planted)
    extra = max(0, args.flat_queries - len(planted))
    sub = np.sort(np.concatenate([planted, rng.choice(others, size=extra, replace=False)]))
    mh_rows = np.sort(
        np.union1d(sub, rng.choice(args.queries, min(args.mh_queries, args.queries), False))
    )
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp_name:
        tmp = Path(tmp_name)
        flat, truth = bench_faiss("flat", bank, queries, sub, None, args.radius, tmp)
        planted_truth = set(zip(planted.tolist(), sources.tolist(), strict=True))
        flat["planted_found"] = len(planted_truth & truth) / len(planted_truth)
        print(_line(flat), flush=True)
        for layout in args.layouts:
            row = bench_ours(layout, bank, queries, sub, truth, args.radius, args.threads, tmp)
            print(_line(row), flush=True)
            rows.append(row)
            gc.collect()
        mh, mh_found = bench_faiss("multihash", bank, queries, mh_rows, None, args.radius, tmp)
        in_sub = set(sub.tolist())
        mh.update(recall({p for p in mh_found if p[0] in in_sub}, truth))
        print(_line(mh), flush=True)
    rows = [flat, *rows, mh]
    raw = bank.nbytes
    for row in rows:
        row["memory_vs_raw"] = row["memory_bytes"] / raw
        row["qps_vs_faiss_flat"] = row["qps"] / flat["qps"]
        row["qps_vs_faiss_multihash"] = row["qps"] / mh["qps"]
    return {"n": n, "raw_hash_bytes": raw, "queries": args.queries, "rows": rows}


def _line(row: dict[str, Any]) -> str:
    load = row["load_mmap_s"] if row["load_mmap_s"] is not None else row["load_read_s"]
    return (
        f"{row['name']:<36} {row['tables']:<22} build {row['build_s']:7.2f}s  "
        f"{row['qps']:9.0f} q/s ({row['queries']} q)  mem {row['memory_bytes'] / 2**20:8.1f} MiB  "
        f"load {load:6.3f}s  recall {row['recall']:.4f} false {row['false_pairs']}"
    )


def print_table(results: list[dict[str, Any]]) -> None:
    head = (
        f"{'N':>11} {'index':<36} {'q/s':>9} {'x flat':>7} {'x multi':>8} {'recall':>7} "
        f"{'false':>5} {'mem/raw':>7} {'build s':>8} {'load s':>14}"
    )
    print("\n" + head + "\n" + "-" * len(head))
    for res in results:
        for row in res["rows"]:
            load = f"{row['load_read_s']:.2f}"
            if row["load_mmap_s"] is not None:
                load = f"{row['load_mmap_s']:.4f}/{load}"
            print(
                f"{res['n']:>11,} {row['name']:<36} {row['qps']:>9.0f} "
                f"{row['qps_vs_faiss_flat']:>7.1f} {row['qps_vs_faiss_multihash']:>8.2f} "
                f"{row['recall']:>7.4f} {row['false_pairs']:>5} {row['memory_vs_raw']:>7.2f} "
                f"{row['build_s']:>8.2f} {load:>14}"
            )
    print(
        "q/s: faiss flat timed on the ground-truth subsample, multihash on --mh-queries, "
        "PdqIndex on all queries.\nload s: PdqIndex mmap/full read; faiss read_index_binary."
    )


# --- realistic banks: the same queries and batch sizes for every contender --------------------


def _flip(base: np.ndarray, low: int, high: int, rng: np.random.Generator) -> np.ndarray:
    """``base`` (uint8[n, 32]) with ``low..high`` distinct random bits flipped per row."""
    n = len(base)
    flips = rng.integers(low, high + 1, size=n)
    order = np.argsort(rng.random((n, 256)), axis=1)
    return base ^ np.packbits((order < flips[:, None]).astype(np.uint8), axis=1)


def _corpus_hashes(seed: int) -> np.ndarray:
    """PDQ hashes of bench/corpus.py's hashing corpus (sources and their transformed variants):
    real-world skew (PDQ bits of real pictures are not uniformly random)."""
    import corpus
    from safeguard.hashing import analyse_file

    data = corpus.hashing_corpus(corpus.HashingSpec(seed, 0, 30, 10, 60), log=lambda m: None)
    out = []
    for f in data.files:
        image = analyse_file(data.root / f.name).image
        if image and image.pdq:
            out.append(np.frombuffer(bytes.fromhex(image.pdq), dtype=np.uint8))
    return np.stack(out)


def realistic_banks(n: int, seed: int) -> dict[str, np.ndarray]:
    """Three banks of ``n`` hashes: near-duplicate families (20 members within 10-20 bits of
    each other), low-quality clusters (a fifth of the bank in 50 tight clusters of sparse,
    mostly-zero hashes, the rest random) and corpus skew (bench/corpus.py's PDQ hashes
    replicated with 0-12 bits of noise)."""
    rng = np.random.default_rng(seed)
    centres = rng.integers(0, 256, size=(n // 20 + 1, 32), dtype=np.uint8)
    families = _flip(np.repeat(centres, 20, axis=0)[:n], 5, 10, rng)
    sparse = np.packbits((rng.random((50, 256)) < 0.08).astype(np.uint8), axis=1)
    clustered = _flip(sparse[rng.integers(0, 50, size=n // 5)], 0, 6, rng)
    low_quality = np.concatenate(
        [clustered, rng.integers(0, 256, size=(n - len(clustered), 32), dtype=np.uint8)]
    )
    base = _corpus_hashes(seed)
    skew = _flip(base[rng.integers(0, len(base), size=n)], 0, 12, rng)
    return {"families": families, "low_quality_clusters": low_quality, "corpus_skew": skew}


def realistic_queries(bank: np.ndarray, count: int, seed: int) -> np.ndarray:
    """Half near a bank hash (0-31 bits away), half random."""
    rng = np.random.default_rng(seed)
    near = _flip(bank[rng.integers(0, len(bank), size=count // 2)], 0, 31, rng)
    return np.concatenate(
        [near, rng.integers(0, 256, size=(count - len(near), 32), dtype=np.uint8)]
    )[rng.permutation(count)]


class _Contender:
    """One index behind ``search(queries) -> set of (query row, bank row)``."""

    def __init__(self, name: str, bank: np.ndarray, radius: int, threads: int) -> None:
        self.name = name
        self.radius = radius
        self.threads = threads
        started = time.perf_counter()
        if name.startswith("safeguard"):
            layout = "compact" if "compact" in name else "mih"
            self.index = PdqIndex.build(bank, np.arange(len(bank)), layout=layout)  # type: ignore[arg-type]
        else:
            import faiss

            self.index = (
                faiss.IndexBinaryFlat(256)
                if "flat" in name
                else faiss.IndexBinaryMultiHash(256, 16, 16)
            )
            if "multihash" in name:
                self.index.nflip = radius // 16
            self.index.add(bank)
        self.build_s = time.perf_counter() - started

    def search(self, queries: np.ndarray) -> set[tuple[int, int]]:
        if self.name.startswith("safeguard"):
            r = self.index.search(queries, self.radius, workers=self.threads)
            return set(zip(r.query_index.tolist(), r.ids.tolist(), strict=True))
        lims, _, labels = self.index.range_search(queries, self.radius + 1)
        return pairs_from_faiss(lims, labels, np.arange(len(queries)))


CONTENDERS = (
    "safeguard PdqIndex (mih)",
    "safeguard PdqIndex (compact)",
    "faiss IndexBinaryFlat",
    "faiss IndexBinaryMultiHash (HMA)",
)


def run_realistic(args: argparse.Namespace) -> dict[str, Any]:
    """Every contender on the same queries at batch sizes 1, 100 and 10,000, on each bank."""
    import faiss

    faiss.omp_set_num_threads(args.threads)
    out: dict[str, Any] = {"n": args.realistic_n, "batch_sizes": [1, 100, 10_000], "banks": {}}
    for name, bank in realistic_banks(args.realistic_n, args.seed).items():
        queries = realistic_queries(bank, 10_000, args.seed + 7)
        print(f"\n=== {name}: {len(bank):,} hashes, radius {args.radius} ===", flush=True)
        rows: dict[str, Any] = {}
        truth: set[tuple[int, int]] | None = None
        for contender in CONTENDERS:
            index = _Contender(contender, bank, args.radius, args.threads)
            index.search(queries[:8])  # warm
            latencies = []
            for k in range(args.single_queries):
                t = time.perf_counter()
                index.search(queries[k : k + 1])
                latencies.append(1000 * (time.perf_counter() - t))
            t = time.perf_counter()
            for k in range(0, 1000, 100):
                index.search(queries[k : k + 100])
            qps_100 = 1000 / (time.perf_counter() - t)
            t = time.perf_counter()
            found = index.search(queries)
            qps_10k = len(queries) / (time.perf_counter() - t)
            if truth is None and "Flat" in contender:
                truth = found
            rows[contender] = {
                "build_s": round(index.build_s, 3),
                "single_query_ms_p50": round(float(np.percentile(latencies, 50)), 3),
                "single_query_ms_p99": round(float(np.percentile(latencies, 99)), 3),
                "qps_batch_1": round(1000 / float(np.mean(latencies)), 1),
                "qps_batch_100": round(qps_100, 1),
                "qps_batch_10000": round(qps_10k, 1),
                "_found": found,
            }
            print(
                f"{contender:<34} p50 {rows[contender]['single_query_ms_p50']:8.2f} ms  "
                f"p99 {rows[contender]['single_query_ms_p99']:8.2f} ms  "
                f"b100 {qps_100:9.0f} q/s  b10k {qps_10k:9.0f} q/s",
                flush=True,
            )
            del index
            gc.collect()
        for row in rows.values():
            found = row.pop("_found")
            if truth is not None:
                row.update(recall(found, truth))
        flat = rows["faiss IndexBinaryFlat"]
        for row in rows.values():
            for b in ("1", "100", "10000"):
                row[f"vs_faiss_flat_batch_{b}"] = round(
                    row[f"qps_batch_{b}"] / flat[f"qps_batch_{b}"], 2
                )
        out["banks"][name] = rows
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000000,10000000")
    parser.add_argument("--queries", type=int, default=100_000)
    parser.add_argument("--radius", type=int, default=31)
    parser.add_argument("--flat-queries", type=int, default=2000, help="flat subsample size")
    parser.add_argument("--mh-queries", type=int, default=10_000, help="multihash sample size")
    parser.add_argument("--layouts", default="mih,compact")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=20240611)
    parser.add_argument("--tmp", default=None, help="folder for the saved indexes")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--realistic-n", type=int, default=200_000, help="hashes per realistic bank (0: skip)"
    )
    parser.add_argument("--single-queries", type=int, default=200, help="latency sample")
    args = parser.parse_args()
    args.layouts = [x for x in args.layouts.split(",") if x]
    sizes = [int(s) for s in args.sizes.split(",") if s]
    results = [run_size(n, args) for n in sizes]
    if results:
        print_table(results)
    realistic = run_realistic(args) if args.realistic_n else {}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "threads": args.threads,
        "radius": args.radius,
        "numpy": np.__version__,
    }
    try:
        import faiss

        meta["faiss"] = faiss.__version__
    except ImportError:  # pragma: no cover
        pass
    meta["note"] = (
        "taken on a shared machine (several engineers' jobs running): ratios are side by side "
        "in one run, absolute rates only indicative"
    )
    document = {"meta": meta, "results": results, "realistic": realistic}
    args.out.write_text(json.dumps(document, indent=2) + "\n")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()

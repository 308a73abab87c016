"""Subject linking: precision, recall and F1 against the generator's ground truth, with time and
peak memory, for 10k and 100k referrals (1M with ``--sizes 1000000`` where time allows).

Each size runs in its own process (so peak memory is that size's alone): generate the noisy
population (``bench/linking_data.py``, not timed), then link it twice side by side: the peer
is deterministic linking alone (strong identifiers, union-find), the full linker adds Splink
(DuckDB) on names, dates of birth, addresses and postcodes. Ratios: full / deterministic.
Writes bench/results/linking.json.

    .venv/bin/python bench/bench_linking.py [--sizes 10000 100000] [--seed 7]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

from common import mib, peak_rss, table, write_result


def one(n: int, seed: int) -> dict:
    from linking_data import generate
    from safeguard.referrals.linking import cluster, deterministic_edges, pairwise_quality
    from safeguard.referrals.splink_linker import DEFAULT_THRESHOLD, probabilistic_links

    t = time.perf_counter()
    records, truth = generate(n, seed=seed)
    generated_s = time.perf_counter() - t
    keys = [r.key for r in records]
    rss_before = peak_rss()

    t = time.perf_counter()
    det = deterministic_edges(records)
    det_result = cluster(keys, det)
    det_s = time.perf_counter() - t
    det_q = pairwise_quality(det_result.clusters, truth)

    t = time.perf_counter()
    edges = deterministic_edges(records)
    prob = probabilistic_links(records, DEFAULT_THRESHOLD)
    full = cluster(keys, edges + [p.edge() for p in prob])
    full_s = time.perf_counter() - t
    q = pairwise_quality(full.clusters, truth)
    return {
        "referrals": n,
        "people": len(set(truth.values())),
        "true_pairs": q.true_pairs,
        "generate_s": round(generated_s, 2),
        "deterministic": {
            "seconds": round(det_s, 3),
            "precision": round(det_q.precision, 5),
            "recall": round(det_q.recall, 5),
            "f1": round(det_q.f1, 5),
        },
        "full": {
            "seconds": round(full_s, 3),
            "precision": round(q.precision, 5),
            "recall": round(q.recall, 5),
            "f1": round(q.f1, 5),
            "probabilistic_pairs": len(prob),
            "subjects": len(full.clusters),
        },
        "peak_rss_bytes": peak_rss(),
        "peak_rss_before_linking_bytes": rss_before,
        "threshold": DEFAULT_THRESHOLD,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.seed)))
        return
    runs = []
    for n in args.sizes:
        print(f"linking {n:,} referrals...", file=sys.stderr)
        out = subprocess.run(
            [sys.executable, __file__, "--one", str(n), "--seed", str(args.seed)],
            capture_output=True,
            text=True,
            check=True,
        )
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    rows = [
        (
            r["referrals"],
            r["deterministic"]["seconds"],
            r["full"]["seconds"],
            round(r["full"]["seconds"] / max(r["deterministic"]["seconds"], 1e-9), 1),
            r["full"]["precision"],
            r["full"]["recall"],
            r["full"]["f1"],
            r["deterministic"]["recall"],
            mib(r["peak_rss_bytes"]),
        )
        for r in runs
    ]
    print(
        table(
            (
                "referrals",
                "determ. s",
                "full s",
                "full/determ.",
                "precision",
                "recall",
                "F1",
                "determ. recall",
                "peak RSS",
            ),
            rows,
            title="Subject linking (full = deterministic + Splink/DuckDB)",
        )
    )
    targets = {
        "100k_under_300s": all(
            r["full"]["seconds"] < 300 for r in runs if r["referrals"] == 100_000
        )
        or None,
        "precision_at_least_0.98": all(r["full"]["precision"] >= 0.98 for r in runs),
        "recall_at_least_0.95": all(r["full"]["recall"] >= 0.95 for r in runs),
    }
    path = write_result(
        "linking",
        {
            "note": "measured on a shared 2-core machine with other engineers' jobs running; "
            "generation time is not counted in linking time",
            "generator": "bench/linking_data.py default settings",
            "runs": runs,
            "targets_met": targets,
        },
    )
    print(f"results: {path}", file=sys.stderr)


if __name__ == "__main__":
    main()

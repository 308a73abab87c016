"""Load test of the lookup API on loopback: N concurrent clients against a bank of PDQ hashes.

Builds a temporary SQLite store holding one bank of ``--entries`` random PDQ hashes (1M by
default, bulk-inserted), issues an API token, starts uvicorn on 127.0.0.1 (a free port) in a
subprocess, then runs ``--clients`` threads of httpx lookups for ``--seconds`` (or until
``--requests`` in all), half near an indexed hash (a few bits flipped: a match) and half
random (no match). Reports requests/s and latency percentiles; writes bench/results/lookup.json.
Bounded: it stops by itself, and the server is stopped at the end whatever happens.

    .venv/bin/python bench/bench_lookup.py [--entries 1000000] [--clients 8] [--seconds 30]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np
from sqlalchemy import insert

from common import table, write_result
from safeguard.banks.lookup import INDEXES
from safeguard.store.api_tokens import issue_token
from safeguard.store.banks import create_bank
from safeguard.store.database import session_scope, upgrade
from safeguard.store.models import BankEntry

SERVER = """
import sys, uvicorn
from safeguard.web.app import create_app
uvicorn.run(create_app(), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""

#: The floor: the same index (same hashes, same layout) searched behind a minimal endpoint that
#: does nothing else (raw ASGI: no token, rate limit, store session, validation or response
#: model), in the same server (uvicorn, one process).
FLOOR = """
import json, sys
import numpy as np, uvicorn
from safeguard.matching.pdq_index import PdqIndex

hashes = np.load(sys.argv[1])
index = PdqIndex.build(hashes, np.arange(len(hashes), dtype=np.int64))

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    request = json.loads(body)
    queries = np.frombuffer(
        bytes.fromhex("".join(h["value"] for h in request["hashes"])), dtype=np.uint8
    ).reshape(-1, 32)
    found = index.search(queries, int(request.get("radius", 31)), workers=1)
    matches = [[] for _ in range(len(queries))]
    for q, i, d in zip(found.query_index.tolist(), found.ids.tolist(), found.distances.tolist()):
        matches[q].append({"id": i, "distance": d})
    payload = json.dumps({"results": [{"matches": m} for m in matches]}).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": payload})

uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build_store(url: str, entries: int, seed: int) -> tuple[np.ndarray, float]:
    """A store with one bank of ``entries`` random PDQ hashes; returns them and the seconds."""
    started = time.perf_counter()
    upgrade(url)
    rng = np.random.default_rng(seed)
    hashes = rng.integers(0, 256, size=(entries, 32), dtype=np.uint8)
    categories = np.array(["A", "B", "C"])[rng.integers(0, 3, entries)]
    with session_scope(url) as session:
        bank = create_bank(session, "bench", scheme="uk", source="random", format="csv")
        for start in range(0, entries, 100_000):
            part = hashes[start : start + 100_000]
            session.execute(
                insert(BankEntry),
                [
                    {
                        "bank_id": bank.id,
                        "line": start + i,
                        "category": str(categories[start + i]),
                        "pdq": row.tobytes().hex(),
                        "pdq_quality": 100,
                    }  # fmt: skip
                    for i, row in enumerate(part)
                ],
            )
        session.flush()
        INDEXES.get(session, bank)  # builds and persists the index the server then maps
    return hashes, time.perf_counter() - started


def near(hashes: np.ndarray, rng: np.random.Generator, flips: int = 8) -> str:
    row = hashes[rng.integers(len(hashes))].copy()
    for bit in rng.choice(256, flips, replace=False):
        row[bit // 8] ^= 1 << (bit % 8)
    return row.tobytes().hex()


def client_loop(
    base: str,
    token: str,
    hashes: np.ndarray,
    seed: int,
    stop_at: float,
    budget: list[int],
    lock: threading.Lock,
    out: list[tuple[float, bool, int]],
) -> None:
    rng = np.random.default_rng(seed)
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        while time.monotonic() < stop_at:
            with lock:
                if budget[0] <= 0:
                    return
                budget[0] -= 1
            hit = bool(rng.integers(2))
            value = near(hashes, rng) if hit else rng.bytes(32).hex()
            body = {"hashes": [{"kind": "pdq", "value": value}], "radius": 31}
            t0 = time.perf_counter()
            try:
                response = client.post("/api/v1/lookup", json=body)
                ok = response.status_code == 200
                found = len(response.json()["results"][0]["matches"]) if ok else -1
            except httpx.HTTPError:
                ok, found = False, -1
            out.append((time.perf_counter() - t0, ok, found if hit else -2 - found))


def load_test(
    command: list[str], token: str, hashes: np.ndarray, args: argparse.Namespace
) -> tuple[list[tuple[float, bool, int]], float]:
    """Start a server (``command`` + its port), wait until it answers, run the clients against
    it for ``args.seconds``, stop it; the samples and the elapsed seconds."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([*command, str(port)], env=os.environ.copy())
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                warm = httpx.post(
                    f"{base}/api/v1/lookup",
                    timeout=60,
                    headers={"Authorization": f"Bearer {token}"},
                    json={"hashes": [{"kind": "pdq", "value": "0" * 64}]},
                )
                if warm.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("the server did not start")
            time.sleep(0.2)
        print(f"{args.clients} clients for {args.seconds:g} s on {base} ...", flush=True)
        samples: list[tuple[float, bool, int]] = []
        budget, lock = [args.requests], threading.Lock()
        stop_at = time.monotonic() + args.seconds
        threads = [
            threading.Thread(
                target=client_loop,
                args=(base, token, hashes, 1000 * args.seed + 1 + i, stop_at, budget, lock,
                      samples),
            )
            for i in range(args.clients)
        ]  # fmt: skip
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=args.seconds + 60)
        return samples, time.perf_counter() - started
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


def summarise(samples: list[tuple[float, bool, int]], elapsed: float) -> dict:
    latencies = np.array([s[0] for s in samples]) * 1000
    hits = [s[2] for s in samples if s[1] and s[2] >= 0]
    misses = [-2 - s[2] for s in samples if s[1] and s[2] <= -2]
    return {
        "seconds": round(elapsed, 2),
        "requests": len(samples),
        "errors": sum(1 for s in samples if not s[1]),
        "requests_per_s": round(len(samples) / elapsed, 1),
        "latency_ms": {
            p: round(float(np.percentile(latencies, q)), 2)
            for p, q in (("p50", 50), ("p95", 95), ("p99", 99), ("max", 100))
        },
        "near_queries_matched": round(sum(1 for h in hits if h > 0) / max(1, len(hits)), 4),
        "random_queries_matched": round(sum(1 for m in misses if m > 0) / max(1, len(misses)), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--requests", type=int, default=200_000, help="Upper bound in all.")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sg-bench-lookup-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'store.sqlite'}"
        os.environ.update(
            SAFEGUARD_DATABASE_URL=url,
            SAFEGUARD_INDEX_DIR=str(Path(tmp) / "indexes"),
            SAFEGUARD_LOOKUP_RATE="1e9",
            SAFEGUARD_LOOKUP_BURST="1e9",
        )
        print(f"building a bank of {args.entries:,} random PDQ hashes ...", flush=True)
        hashes, build_s = build_store(url, args.entries, args.seed)
        with session_scope(url) as session:
            token = issue_token(session, "bench")
        api = summarise(*load_test([sys.executable, "-c", SERVER], token, hashes, args))
        np.save(Path(tmp) / "hashes.npy", hashes)
        floor_cmd = [sys.executable, "-c", FLOOR, str(Path(tmp) / "hashes.npy")]
        floor = summarise(*load_test(floor_cmd, token, hashes, args))
    ratio = api["requests_per_s"] / floor["requests_per_s"] if floor["requests_per_s"] else 0.0
    result = {
        "entries": args.entries,
        "clients": args.clients,
        "api": api,
        "floor_minimal_endpoint": floor,
        "api_vs_floor_requests_per_s": round(ratio, 3),
        "targets": {
            "api_vs_floor_>=0.5x": {"value": round(ratio, 3), "met": ratio >= 0.5},
            "api_p99_<=50ms": {
                "value": api["latency_ms"]["p99"],
                "met": api["latency_ms"]["p99"] <= 50,
            },
        },
        "store_build_s": round(build_s, 1),
        "server": "uvicorn, 1 process, SQLite store, 127.0.0.1; the floor: the same hashes in "
        "the same index layout behind a raw ASGI endpoint in the same uvicorn, same run",
        "note": "taken on a shared machine (several engineers' jobs running): the ratio is side "
        "by side in one run, absolute rates only indicative",
    }
    path = write_result("lookup", result)
    print(table(["measure", "value"], [(k, str(v)) for k, v in result.items()], "lookup API"))
    for name, t in result["targets"].items():
        print(f"  {name:<28} {t['value']:>8}  {'met' if t['met'] else 'MISSED'}")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()

"""Referral intake at volume: generated CyberTipline-shaped XML referrals imported into a store
whose bank holds ``--bank`` entries (1M by default), every reported file's MD5/SHA-1 matched.

Steps: build a temporary SQLite store with one bank of random MD5/SHA-1 pairs plus the hashes
the generator marks as known; generate ``--count`` referrals (20,000 by default; XML only,
files reported by hash, no pictures drawn); then, in a child process (so its peak memory is its
own), ``safeguard.referrals.service.import_referrals`` over the folder: parse (defused,
bounded), normalise, store, match the hashes. Side by side in the same run, the peers: parsing
the same documents with the standard library's ElementTree and with defusedxml, doing nothing
else (the floor any importer pays). Writes bench/results/referrals.json.

    .venv/bin/python bench/bench_referrals.py [--count 20000] [--bank 1000000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import defusedxml.ElementTree as DET
import numpy as np
from sqlalchemy import insert

from common import mib, peak_rss, table, write_result

CHILD = """
import json, resource, sys, time
from pathlib import Path
from safeguard.referrals.service import Actor, import_referrals
url, folder = sys.argv[1], Path(sys.argv[2])
started = time.perf_counter()
report = import_referrals(folder, source="ncmec", actor=Actor("bench"), database_url=url,
                          match_uploads=False)
wall = time.perf_counter() - started
print(json.dumps({"wall": wall, "imported": len(report.imported), "errors": len(report.errors),
                  "already": len(report.already), "file_status": dict(report.file_status),
                  "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
"""


def build_bank(url: str, entries: int, known: list[tuple[str, str, str]], seed: int) -> float:
    from safeguard.store.banks import create_bank
    from safeguard.store.database import session_scope, upgrade
    from safeguard.store.models import BankEntry

    started = time.perf_counter()
    upgrade(url)
    rng = np.random.default_rng(seed)
    with session_scope(url) as session:
        bank = create_bank(session, "bench", scheme="uk", source="random", format="csv")
        bank_id = bank.id
    randoms = entries - len(known)
    step = 50_000
    for start in range(0, randoms, step):
        n = min(step, randoms - start)
        md5 = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
        sha1 = rng.integers(0, 256, size=(n, 20), dtype=np.uint8)
        rows = [
            {
                "bank_id": bank_id,
                "line": start + i + 1,
                "category": "ABC"[i % 3],
                "md5": md5[i].tobytes().hex(),
                "sha1": sha1[i].tobytes().hex(),
            }
            for i in range(n)
        ]
        with session_scope(url) as session:
            session.execute(insert(BankEntry), rows)
    with session_scope(url) as session:
        session.execute(
            insert(BankEntry),
            [
                {"bank_id": bank_id, "line": randoms + i + 1, "category": c, "md5": m, "sha1": s}
                for i, (m, s, c) in enumerate(known)
            ],
        )
    return time.perf_counter() - started


def parse_floor(files: list[Path], parse) -> float:  # noqa: ANN001
    started = time.perf_counter()
    for path in files:
        parse(path)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--bank", type=int, default=1_000_000)
    parser.add_argument("--known", type=int, default=2_000, help="bank entries reported files use")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = parser.parse_args()

    from safeguard.demo.referrals import generate_referrals

    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-referrals-"))
    work.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{work / 'store.sqlite'}"
    started = time.perf_counter()
    last = [0.0]

    def tick(done: int) -> None:
        if time.perf_counter() - last[0] > 10:
            last[0] = time.perf_counter()
            print(f"  generated {done:,}/{args.count:,}", file=sys.stderr)

    generated = generate_referrals(
        work / "set",
        args.count,
        people=max(1, args.count // 4),
        seed=args.seed,
        formats=("xml",),
        uploads=False,
        pictures=False,
        known_files=args.known,
        progress=tick,
    )
    generate_s = time.perf_counter() - started
    known = []
    with (generated.directory / "bank.csv").open(encoding="utf-8") as handle:
        next(handle)
        for line in handle:
            cells = line.rstrip("\n").split(",")
            known.append((cells[0], cells[1], cells[4]))
    print(
        f"generated {args.count:,} referrals in {generate_s:.0f} s; building the bank",
        file=sys.stderr,
    )
    bank_s = build_bank(url, args.bank, known, args.seed)
    print(f"bank of {args.bank:,} entries in {bank_s:.0f} s; importing", file=sys.stderr)
    files = sorted((generated.directory / "xml").glob("*.xml"))
    size = sum(f.stat().st_size for f in files)

    out = subprocess.run(
        [sys.executable, "-c", CHILD, url, str(generated.directory / "xml")],
        capture_output=True,
        text=True,
        check=True,
    )
    child = json.loads(out.stdout.strip().splitlines()[-1])
    again = subprocess.run(
        [sys.executable, "-c", CHILD, url, str(generated.directory / "xml")],
        capture_output=True,
        text=True,
        check=True,
    )
    second = json.loads(again.stdout.strip().splitlines()[-1])
    etree_s = parse_floor(files, ET.parse)
    defused_s = parse_floor(files, DET.parse)

    rate = child["imported"] / child["wall"]
    rows = [
        ("safeguard import (parse, normalise, store, match)", child["wall"], rate, 1.0),
        (
            "re-import (every document already stored)",
            second["wall"],
            args.count / second["wall"],
            (args.count / second["wall"]) / rate,
        ),
        (
            "peer: xml.etree.ElementTree.parse only",
            etree_s,
            args.count / etree_s,
            (args.count / etree_s) / rate,
        ),
        (
            "peer: defusedxml.ElementTree.parse only",
            defused_s,
            args.count / defused_s,
            (args.count / defused_s) / rate,
        ),
    ]
    print(
        table(
            ("", "seconds", "referrals/s", "x safeguard"),
            rows,
            title=f"{args.count:,} XML referrals ({size / 1e6:.0f} MB), bank of "
            f"{args.bank:,}: peak RSS of the import {mib(child['peak_rss'])} MiB",
        )
    )
    print(f"file matches: {child['file_status']}; errors {child['errors']}")
    assert child["imported"] == args.count and second["imported"] == 0
    write_result(
        "referrals",
        {
            "note": "measured on a shared 2-core machine with other engineers' work running: "
            "figures are indicative, ratios more reliable than absolute rates",
            "count": args.count,
            "bank_entries": args.bank,
            "known_entries": args.known,
            "documents_bytes": size,
            "generate_s": round(generate_s, 1),
            "bank_build_s": round(bank_s, 1),
            "import_s": round(child["wall"], 2),
            "referrals_per_s": round(rate, 1),
            "import_peak_rss_bytes": child["peak_rss"],
            "reimport_s": round(second["wall"], 2),
            "file_status": child["file_status"],
            "peers": {
                "etree_parse_s": round(etree_s, 2),
                "defusedxml_parse_s": round(defused_s, 2),
                "import_vs_etree_parse": round(etree_s / child["wall"], 4),
            },
            "parent_peak_rss_bytes": peak_rss(),
        },
    )


if __name__ == "__main__":
    main()

"""Two ``safeguard serve`` processes on one PostgreSQL, as behind a load balancer.

* The per-token rate limit holds across both: the burst is shared, not granted per process.
* A bank replaced by a third process (the CLI) is used by both servers from their next lookup,
  digests and PDQ alike (each process checks the bank version and rebuilds its index).

Also, in-process on both databases: the shared bucket's arithmetic, and the bank version moving
with every change to the set of enabled banks.
"""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from safeguard.banks.bank_files import import_bank_file
from safeguard.store import api_tokens
from safeguard.store import banks as bank_store
from safeguard.store.database import session_scope
from safeguard.store.shared_state import bank_version, take_request
from safeguard.web.lookup_api import SharedTokenBuckets, TokenBuckets, rate_limiter
from tests.conftest import POSTGRES, scratch_postgres_database

KNOWN_SHA256 = "ab" * 32
OTHER_SHA256 = "cd" * 32
PDQ_V1 = "f" * 64
PDQ_V2 = "0" * 64  # 256 bits from PDQ_V1: never within any radius of it


def _write_bank(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["hash_kind", "hash", "category", "external_id"])
        writer.writerows(rows)
    return path


@pytest.fixture
def postgres_url() -> Iterator[str]:
    if not POSTGRES:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not reachable; ./run test should have started it")
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    with scratch_postgres_database() as url:
        yield url


class Server:
    """``safeguard serve`` on 127.0.0.1, a free port chosen by the OS; killed by the fixture."""

    def __init__(self, url: str, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "safeguard.cli.main", "serve", "--port", "0"],
            env={**os.environ, **env, "SAFEGUARD_DATABASE_URL": url},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        seen = []
        for line in self.process.stderr:  # type: ignore[union-attr]
            seen.append(line)
            found = re.search(r"Uvicorn running on http://127\.0\.0\.1:(\d+)", line)
            if found:
                self.base = f"http://127.0.0.1:{found.group(1)}"
                break
        else:
            raise RuntimeError("the server did not start:\n" + "".join(seen))

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(timeout=30)


@pytest.fixture
def servers(postgres_url: str) -> Iterator[tuple[str, list[Server]]]:
    env = {"SAFEGUARD_LOOKUP_RATE": "0.0001", "SAFEGUARD_LOOKUP_BURST": "6"}
    started: list[Server] = []
    try:
        with session_scope(postgres_url):
            pass  # migrate once, before two processes race to do it
        for _ in range(2):
            started.append(Server(postgres_url, env))
        yield postgres_url, started
    finally:
        for server in started:
            server.stop()


def _lookup(server: Server, token: str, hashes: list[dict]) -> httpx.Response:
    return httpx.post(
        f"{server.base}/api/v1/lookup",
        json={"hashes": hashes, "radius": 31},
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )


@pytest.mark.slow
def test_rate_limit_and_bank_replace_hold_across_two_server_processes(
    servers: tuple[str, list[Server]], tmp_path: Path
) -> None:
    url, (first, second) = servers
    with session_scope(url) as session:
        token = api_tokens.issue_token(session, "tool")
        other = api_tokens.issue_token(session, "other-tool")
    query = [{"kind": "sha256", "value": KNOWN_SHA256}, {"kind": "pdq", "value": PDQ_V1}]
    query += [{"kind": "sha256", "value": OTHER_SHA256}, {"kind": "pdq", "value": PDQ_V2}]

    # The burst of 6 is shared: alternating between the servers, 6 pass in all, then 429s.
    codes = [_lookup((first, second)[i % 2], token, query[:1]).status_code for i in range(10)]
    assert codes == [200] * 6 + [429] * 4
    limited = _lookup(second, token, query[:1])
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    assert _lookup(first, other, query[:1]).status_code == 200  # per token

    # A bank imported, then replaced, by another process: both servers follow at once.
    v1 = _write_bank(tmp_path / "v1.csv", [("sha256", KNOWN_SHA256, "A", "v1-1"),
                                            ("pdq", PDQ_V1, "A", "v1-2")])  # fmt: skip
    v2 = _write_bank(tmp_path / "v2.csv", [("sha256", KNOWN_SHA256, "B", "v2-1"),
                                            ("sha256", OTHER_SHA256, "C", "v2-2"),
                                            ("pdq", PDQ_V2, "C", "v2-3")])  # fmt: skip
    cli = [sys.executable, "-m", "safeguard.cli.main", "bank", "import"]
    env = {**os.environ, "SAFEGUARD_DATABASE_URL": url}
    with session_scope(url) as session:  # a fresh budget for the bank part
        token = api_tokens.issue_token(session, "bank-tool")

    def answers(server: Server) -> list[list[str]]:
        response = _lookup(server, token, query)
        assert response.status_code == 200, response.text
        return [[m["external_id"] for m in r["matches"]] for r in response.json()["results"]]

    assert answers(first) == answers(second) == [[], [], [], []]
    subprocess.run([*cli, str(v1), "--name", "known"], env=env, check=True, timeout=300)
    assert answers(first) == answers(second) == [["v1-1"], ["v1-2"], [], []]
    subprocess.run(
        [*cli, str(v2), "--name", "known", "--replace"], env=env, check=True, timeout=300
    )
    assert answers(first) == answers(second) == [["v2-1"], [], ["v2-2"], ["v2-3"]]


def test_shared_bucket_takes_the_burst_then_says_how_long_to_wait(postgres_url: str) -> None:
    with session_scope(postgres_url) as session:
        token = api_tokens.resolve_token(session, api_tokens.issue_token(session, "t"))
        token_id = token.id
    waits = []
    for _ in range(5):
        with session_scope(postgres_url) as session:
            waits.append(take_request(session, token_id, rate=0.5, burst=3))
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert all(0 < w <= 2.0 for w in waits[3:])  # at 0.5/s a whole request is <= 2 s away
    limiter = rate_limiter(postgres_url)
    assert isinstance(limiter, SharedTokenBuckets)
    assert limiter.take(token_id) > 0  # the same bucket, through the limiter


def test_sqlite_keeps_the_in_memory_limiter(sqlite_url: str) -> None:
    assert isinstance(rate_limiter(sqlite_url), TokenBuckets)


def test_bank_version_moves_with_every_change_to_the_enabled_banks(
    database_url: str, tmp_path: Path
) -> None:
    bank = _write_bank(tmp_path / "b.csv", [("sha256", KNOWN_SHA256, "A", "1")])
    with session_scope(database_url) as session:
        start = bank_version(session)
    import_bank_file(bank, "b", database_url=database_url)
    with session_scope(database_url) as session:
        imported = bank_version(session)
        bank_store.set_enabled(session, "b", False)
    with session_scope(database_url) as session:
        disabled = bank_version(session)
        bank_store.set_enabled(session, "b", False)  # no change, no new version
    with session_scope(database_url) as session:
        assert bank_version(session) == disabled
    import_bank_file(bank, "b", replace=True, database_url=database_url)
    with session_scope(database_url) as session:
        replaced = bank_version(session)
    assert start < imported < disabled < replaced

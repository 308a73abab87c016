"""The lookup API: tokens, rate limit, digest/PDQ/file lookups, banks replaced under load."""

from __future__ import annotations

import csv
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from safeguard.banks.bank_files import import_bank_file
from safeguard.demo.corpus import BANK_HEADER, DemoCorpus
from safeguard.hashing import analyse_file
from safeguard.hashing.pdq import hamming_hex as hamming_distance
from safeguard.review.settings import ReviewSettings
from safeguard.store import api_tokens
from safeguard.store.database import session_scope
from safeguard.web.app import create_app
from safeguard.web.lookup_api import TokenBuckets


@pytest.fixture
def api(database_url: str, demo_corpus: DemoCorpus) -> tuple[TestClient, dict[str, str]]:
    import_bank_file(demo_corpus.bank_csv, "demo", database_url=database_url)
    with session_scope(database_url) as session:
        token = api_tokens.issue_token(session, "tool")
    app = create_app(ReviewSettings(), database_url)
    return TestClient(app), {"Authorization": f"Bearer {token}"}


def _bank_rows(corpus: DemoCorpus) -> list[list[str]]:
    with corpus.bank_csv.open(newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))[1:]


def test_no_unknown_or_revoked_token_is_401(api, database_url: str) -> None:
    client, auth = api
    body = {"hashes": [{"kind": "md5", "value": "0" * 32}]}
    assert client.post("/api/v1/lookup", json=body).status_code == 401
    bogus = {"Authorization": "Bearer sgt_not-a-token"}
    response = client.post("/api/v1/lookup", json=body, headers=bogus)
    assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
    assert client.post("/api/v1/lookup", json=body, headers=auth).status_code == 200
    with session_scope(database_url) as session:
        api_tokens.revoke_token(session, "tool")
    assert client.post("/api/v1/lookup", json=body, headers=auth).status_code == 401


def test_over_the_rate_is_429_with_retry_after(api) -> None:
    client, auth = api
    client.app.state.lookup_buckets = TokenBuckets(rate=0.05, burst=3)
    body = {"hashes": [{"kind": "md5", "value": "0" * 32}]}
    codes = [client.post("/api/v1/lookup", json=body, headers=auth).status_code for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429]
    limited = client.post("/api/v1/lookup", json=body, headers=auth)
    assert int(limited.headers["retry-after"]) >= 1


def test_digest_and_pdq_lookups(api, demo_corpus: DemoCorpus) -> None:
    client, auth = api
    rows = _bank_rows(demo_corpus)
    md5 = next(r for r in rows if r[0] == "md5")
    pdq = next(r for r in rows if r[0] == "pdq" and r[-1] == md5[-1])
    # A transformed copy of a known picture, within the radius of its bank PDQ.
    variant = None
    for planned in demo_corpus.by_role("known_transformed"):
        facts = analyse_file(demo_corpus.read_bytes(planned))
        known = demo_corpus.bank_pdq[planned.source_id]
        if facts.image and 0 < hamming_distance(facts.image.pdq, known) <= 31:
            variant = (facts.image.pdq, hamming_distance(facts.image.pdq, known), planned)
            break
    assert variant is not None
    body = {
        "hashes": [
            {"kind": "md5", "value": md5[1].upper()},
            {"kind": "pdq", "value": pdq[1]},
            {"kind": "pdq", "value": variant[0]},
            {"kind": "sha256", "value": "f" * 64},
        ],
        "radius": 31,
    }
    response = client.post("/api/v1/lookup", json=body, headers=auth)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [m["category"] for m in results[0]["matches"]] == [md5[2]]
    assert results[0]["matches"][0]["bank"] == "demo" and results[0]["matches"][0]["distance"] == 0
    assert results[0]["matches"][0]["external_id"] == md5[-1]
    assert results[1]["matches"][0]["distance"] == 0
    assert results[1]["matches"][0]["category"] == pdq[2]
    near = [m for m in results[2]["matches"] if m["category"] == variant[2].category]
    assert any(m["distance"] == variant[1] for m in near), results[2]
    assert results[3]["matches"] == []
    tight = client.post(
        "/api/v1/lookup", json={**body, "radius": variant[1] - 1}, headers=auth
    ).json()["results"][2]["matches"]
    assert all(m["distance"] < variant[1] for m in tight)
    bad = client.post("/api/v1/lookup", json={"hashes": [{"kind": "md5", "value": "zz"}]},
                      headers=auth)  # fmt: skip
    assert bad.status_code == 422


def test_file_upload_lookup(api, demo_corpus: DemoCorpus) -> None:
    client, auth = api
    planned = demo_corpus.by_role("known_exact")[0]
    data = demo_corpus.read_bytes(planned)
    response = client.post("/api/v1/lookup/file", files={"file": ("x.bin", data)}, headers=auth)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["pdq"] and answer["size"] == len(data)
    for result in answer["results"]:
        assert result["matches"], result["kind"]
        assert result["matches"][0]["category"] == planned.category
        assert result["matches"][0]["distance"] == 0
    assert client.post("/api/v1/lookup/file", files={"file": ("x", data)}).status_code == 401


def test_lookups_keep_answering_while_a_bank_is_replaced(
    api, demo_corpus: DemoCorpus, database_url: str, tmp_path: Path
) -> None:
    client, auth = api
    client.app.state.lookup_buckets = TokenBuckets(rate=1e6, burst=1e6)
    rows = _bank_rows(demo_corpus)
    newer = tmp_path / "newer.csv"
    with newer.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(BANK_HEADER)
        writer.writerows([r[0], r[1], "N", *r[3:]] for r in rows)
    hashes = [{"kind": r[0], "value": r[1]} for r in rows if r[0] in ("md5", "pdq")][:40]
    versions = {tuple(r[2] for r in rows if r[0] in ("md5", "pdq"))[:40], ("N",) * len(hashes)}
    errors: list[BaseException] = []
    original = tuple(r[2] for r in rows if r[0] in ("md5", "pdq"))[:40]
    #: The version the replacing thread last made current, and an event the lookups set once
    #: they answer from it: the thread waits for it, so every version is served (no timing).
    step: list[tuple[tuple[str, ...], threading.Event]] = [(original, threading.Event())]

    def replace() -> None:
        try:
            for source, expect in ((newer, ("N",) * len(hashes)), (demo_corpus.bank_csv, original),
                                   (newer, ("N",) * len(hashes))):  # fmt: skip
                time.sleep(1.1)  # retired versions are named by the second they were replaced
                import_bank_file(source, "demo", replace=True, database_url=database_url)
                served = threading.Event()
                step[0] = (expect, served)
                if not served.wait(timeout=120):
                    raise AssertionError(f"no lookup answered from {source.name}")
        except BaseException as error:  # noqa: BLE001 - reported by the test
            errors.append(error)

    thread = threading.Thread(target=replace, daemon=True)
    thread.start()
    seen: set[tuple[str, ...]] = set()
    deadline = time.monotonic() + 600
    while thread.is_alive() and time.monotonic() < deadline:
        response = client.post("/api/v1/lookup", json={"hashes": hashes, "radius": 0},
                               headers=auth)  # fmt: skip
        assert response.status_code == 200, response.text
        results = response.json()["results"]
        assert all(len({m["bank"] for m in r["matches"]}) == 1 for r in results)
        answer = tuple(r["matches"][0]["category"] for r in results)
        assert answer in versions, answer
        seen.add(answer)
        expect, served = step[0]
        if answer == expect:
            served.set()
    thread.join(timeout=60)
    assert not errors and not thread.is_alive(), errors
    assert len(seen) == 2, (seen, versions)  # both versions were served
    final = client.get("/api/v1/banks", headers=auth).json()
    assert [b["name"] for b in final if b["enabled"]] == ["demo"]
    assert sum(1 for b in final if not b["enabled"]) == 3

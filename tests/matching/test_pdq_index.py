"""PdqIndex against a brute-force reference: exact recall and no false results at every radius."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safeguard.matching import _pdq_kernels as K
from safeguard.matching.pdq_index import PdqIndex, SearchResult


def distance_matrix(bank: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """Reference distances, bit by bit on unpacked bits (independent of the index's tricks)."""
    bank_bits = np.unpackbits(bank, axis=1).astype(bool)
    out = np.empty((len(queries), len(bank)), dtype=np.int32)
    for qi, q in enumerate(np.unpackbits(queries, axis=1).astype(bool)):
        out[qi] = np.count_nonzero(bank_bits != q, axis=1)
    return out


def within(dist: np.ndarray, ids: np.ndarray, radius: int) -> list[tuple]:
    qi, bi = np.nonzero(dist <= radius)
    return sorted(zip(qi.tolist(), dist[qi, bi].tolist(), ids[bi].tolist(), strict=True))


def brute(bank: np.ndarray, ids: np.ndarray, queries: np.ndarray, radius: int) -> list[tuple]:
    """(query, distance, id) of every bank hash within radius, sorted."""
    return within(distance_matrix(bank, queries), ids, radius)


def triples(result: SearchResult) -> list[tuple]:
    return list(
        zip(
            result.query_index.tolist(),
            result.distances.tolist(),
            result.ids.tolist(),
            strict=True,
        )
    )


def mutate(rng: np.random.Generator, h: np.ndarray, k: int) -> np.ndarray:
    bits = np.unpackbits(h)
    bits[rng.choice(256, size=k, replace=False)] ^= 1
    return np.packbits(bits)


@contextmanager
def forced_probing() -> Iterator[None]:
    """Make scanning look expensive so even small banks go through the bucket tables."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(K, "COST_SCAN", 1e9)
        mp.setattr(K, "heavy_limit", lambda n, used: 1 << 40)
        yield


@pytest.fixture(scope="module")
def planted() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """30k random hashes (with a few duplicates) and queries planted at distances 0..40."""
    rng = np.random.default_rng(7)
    bank = rng.integers(0, 256, size=(30_000, 32), dtype=np.uint8)
    bank[100:103] = bank[5]  # duplicate hashes under different ids
    ids = rng.permutation(10**6)[: len(bank)].astype(np.int64)
    queries = [mutate(rng, bank[rng.integers(len(bank))], k) for k in range(41) for _ in range(3)]
    queries += [mutate(rng, bank[5], k) for k in (0, 3, 30)]
    queries += list(rng.integers(0, 256, size=(200, 32), dtype=np.uint8))
    q = np.array(queries, dtype=np.uint8)
    return bank, ids, q, distance_matrix(bank, q)


@pytest.fixture(scope="module")
def planted_index(planted: tuple) -> PdqIndex:
    return PdqIndex.build(planted[0], planted[1])


@pytest.mark.parametrize("radius", [31, 0, 1, 15, 16, 32, 40, 64, 100])
def test_planted_exact_recall(planted: tuple, planted_index: PdqIndex, radius: int) -> None:
    bank, ids, queries, dist = planted
    assert planted_index.table_shape[0] > 1  # the bucket tables are really in use
    assert triples(planted_index.search(queries, radius)) == within(dist, ids, radius)


def test_planted_compact_and_threads(planted: tuple, planted_index: PdqIndex) -> None:
    bank, ids, queries, dist = planted
    expected = within(dist, ids, 31)
    compact = PdqIndex.build(bank, ids, layout="compact")
    assert compact.nbytes <= 1.5 * bank.nbytes
    many = np.concatenate([queries] * 8)  # enough queries that building tables on the fly pays
    assert compact._plan(31, len(many)) is not None
    got = triples(compact.search(many, 31))
    assert got == sorted((q + k * len(queries), d, i) for k in range(8) for q, d, i in expected)
    for workers in (1, 3):
        assert triples(planted_index.search(queries, 31, workers=workers)) == expected


def test_result_is_sorted_and_typed(planted: tuple, planted_index: PdqIndex) -> None:
    queries = planted[2]
    result = planted_index.search(queries, 40)
    assert result.query_index.dtype == np.int64
    assert result.ids.dtype == np.int64
    assert result.distances.dtype == np.int32
    keys = list(zip(result.query_index, result.distances, result.ids, strict=True))
    assert keys == sorted(keys) and len(result) == len(keys) > 0


def test_skewed_bank_scans_heavy_queries() -> None:
    """A bucket far bigger than the work cap is answered by a scan, still exactly."""
    rng = np.random.default_rng(3)
    common = rng.integers(0, 256, size=32, dtype=np.uint8)
    skewed = np.tile(common, (3000, 1))
    skewed[:, 16:] = rng.integers(0, 256, size=(3000, 16), dtype=np.uint8)  # same first half
    bank = np.concatenate([skewed, rng.integers(0, 256, size=(5000, 32), dtype=np.uint8)])
    bank[7] = mutate(rng, bank[3], 20)
    ids = np.arange(len(bank), dtype=np.int64)
    queries = np.array([mutate(rng, bank[3], 5), common, bank[4000], mutate(rng, bank[7], 11)])
    index = PdqIndex.build(bank, ids, shape=(16, 16))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(K, "COST_SCAN", 1e9)
        mp.setattr(K, "heavy_limit", lambda n, used: 50)
        for radius in (31, 64):
            assert triples(index.search(queries, radius)) == brute(bank, ids, queries, radius)


hash_bank = st.integers(min_value=0, max_value=60).flatmap(
    lambda n: st.tuples(
        st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=4),
        st.lists(
            st.tuples(st.integers(0, 3), st.lists(st.integers(0, 255), max_size=70)),
            min_size=n,
            max_size=n,
        ),
    )
)


def _from_bases(bases: list[bytes], specs: list[tuple[int, list[int]]]) -> np.ndarray:
    """Hashes as flips of a few base hashes, so near neighbours are common."""
    out = []
    for base_index, flips in specs:
        bits = np.unpackbits(np.frombuffer(bases[base_index % len(bases)], dtype=np.uint8))
        for f in flips:
            bits[f] ^= 1
        out.append(np.packbits(bits))
    return np.array(out, dtype=np.uint8).reshape(-1, 32)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=hash_bank,
    queries=hash_bank,
    radius=st.integers(0, 64) | st.sampled_from([100, 255, 256, 300]),
    shape=st.sampled_from([None, (16, 16), (8, 4), (5, 7), (21, 12), (3, 20), (1, 8)]),
)
def test_property_matches_brute_force(
    data: tuple, queries: tuple, radius: int, shape: tuple[int, int] | None
) -> None:
    bank = _from_bases(*data)
    q = _from_bases(data[0] + queries[0], queries[1])
    ids = np.arange(len(bank), dtype=np.int64) * 7 - 20
    expected = brute(bank, ids, q, radius)
    with forced_probing():
        index = PdqIndex.build(bank, ids, shape=shape)
        assert triples(index.search(q, radius)) == expected
    assert triples(index.search(q, radius)) == expected  # planner's own choice (scan)


def test_empty_index_and_empty_queries(tmp_path: Path) -> None:
    empty = PdqIndex.build(np.zeros((0, 32), dtype=np.uint8), np.zeros(0, dtype=np.int64))
    assert len(empty) == 0
    q = np.zeros((3, 32), dtype=np.uint8)
    assert len(empty.search(q)) == 0
    assert empty.search_hex(["00" * 32]) == [[]]
    empty.save(tmp_path / "empty.idx")
    assert len(PdqIndex.load(tmp_path / "empty.idx").search(q)) == 0
    index = PdqIndex.from_hex([(1, "ab" * 32)])
    assert len(index.search(np.zeros((0, 32), dtype=np.uint8))) == 0
    assert index.search_hex([]) == []


def test_duplicates_report_every_id() -> None:
    h = "f" * 64
    index = PdqIndex.from_hex([(9, h), (3, h), (5, "0" * 64), (4, h), (3, h)])
    assert len(index) == 5 and index.unique_hashes == 2
    near = "7" + "f" * 63  # one bit off
    assert index.search_hex([near, h], radius=1) == [
        [(3, 1), (3, 1), (4, 1), (9, 1)],
        [(3, 0), (3, 0), (4, 0), (9, 0)],
    ]
    assert index.search_hex(["0" * 64], radius=255) == [[(5, 0)]]
    assert index.search_hex(["0" * 64], radius=256)[0][-1] == (9, 256)


@pytest.mark.parametrize("layout", ["mih", "compact"])
@pytest.mark.parametrize("mmap", [True, False])
def test_save_load_round_trip(planted: tuple, tmp_path: Path, layout: str, mmap: bool) -> None:
    bank, ids, queries, _ = planted
    index = PdqIndex.build(bank, ids, layout=layout)
    path = tmp_path / "bank.idx"
    index.save(path)
    loaded = PdqIndex.load(path, mmap=mmap)
    assert len(loaded) == len(index) and loaded.nbytes == index.nbytes
    assert loaded.layout == layout and loaded.table_shape == index.table_shape
    for radius in (31, 8):
        assert triples(loaded.search(queries, radius)) == triples(index.search(queries, radius))
    with pytest.raises(ValueError):
        loaded._hashes[0, 0] = 1  # read-only, whether mapped or read


def test_load_rejects_other_files(tmp_path: Path) -> None:
    path = tmp_path / "bogus.idx"
    path.write_bytes(b"not an index at all")
    with pytest.raises(ValueError, match="not a Safeguard PDQ index"):
        PdqIndex.load(path)
    index = PdqIndex.from_hex([(1, "ab" * 32), (2, "cd" * 32)])
    index.save(path)
    path.write_bytes(path.read_bytes()[:-70])
    with pytest.raises(ValueError, match="truncated"):
        PdqIndex.load(path)


def test_hex_api_and_validation() -> None:
    rng = np.random.default_rng(1)
    bank = rng.integers(0, 256, size=(50, 32), dtype=np.uint8)
    index = PdqIndex.from_hex((100 + i, h.tobytes().hex().upper()) for i, h in enumerate(bank))
    query = mutate(rng, bank[10], 12)
    assert index.search_hex([query.tobytes().hex(), bank[3].tobytes().hex()]) == [
        [(110, 12)],
        [(103, 0)],
    ]
    with pytest.raises(ValueError, match="64 hex"):
        index.search_hex(["abc"])
    with pytest.raises(ValueError, match="not hexadecimal"):
        PdqIndex.from_hex([(1, "zz" * 32)])
    with pytest.raises(ValueError, match="radius"):
        index.search(bank, radius=-1)
    with pytest.raises(ValueError, match="shape"):
        PdqIndex.build(bank, np.arange(50), shape=(9, 30))
    with pytest.raises(ValueError, match="ids"):
        PdqIndex.build(bank, np.arange(49))
    with pytest.raises(ValueError, match=r"\(N, 32\)"):
        PdqIndex.build(bank[:, :16], np.arange(50))


def test_memory_budget_bounds_the_tables() -> None:
    rng = np.random.default_rng(2)
    bank = rng.integers(0, 256, size=(200_000, 32), dtype=np.uint8)
    ids = np.arange(len(bank), dtype=np.int64)
    default = PdqIndex.build(bank, ids)
    # Tables may always take 16 MiB, so small banks still get them.
    assert default.nbytes <= max(3.5 * bank.nbytes, bank.nbytes + ids.nbytes + (16 << 20))
    compact = PdqIndex.build(bank, ids, layout="compact")
    assert compact.nbytes == bank.nbytes + ids.nbytes
    queries = np.concatenate([bank[:50], rng.integers(0, 256, size=(50, 32), dtype=np.uint8)])
    assert triples(default.search(queries)) == triples(compact.search(queries))


def test_compact_layout_plans_once_per_batch_size(
    planted: tuple, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 15: the compact layout's pure-Python planner ran on every search (about a second,
    even for one query); the choice is now made once per radius and batch-size bucket."""
    from safeguard.matching import _pdq_kernels

    bank, ids, queries, dist = planted
    compact = PdqIndex.build(bank, ids, layout="compact")
    calls: list[int] = []
    real = _pdq_kernels.choose_tables

    def counting(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls.append(kwargs.get("sort_cost_queries", 0))
        return real(*args, **kwargs)

    monkeypatch.setattr(_pdq_kernels, "choose_tables", counting)
    first = triples(compact.search(queries[:1], 31))
    for _ in range(5):
        assert triples(compact.search(queries[:1], 31)) == first
    assert len(calls) == 1
    compact.search(queries, 31)  # another batch size: planned once more
    compact.search(queries, 31)
    assert len(calls) == 2
    assert first == [t for t in within(dist, ids, 31) if t[0] == 0]


def test_mih_layout_plans_once_per_radius(
    planted_index: PdqIndex, planted: tuple, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 15: the default layout's pure-Python threshold planner ran on every search (tens
    of milliseconds, more than a single query's search); it now runs once per radius."""
    from safeguard.matching import _pdq_kernels

    bank, ids, queries, dist = planted
    index = PdqIndex.build(bank, ids)
    calls: list[int] = []
    real = _pdq_kernels.plan_thresholds

    def counting(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls.append(args[2] if len(args) > 2 else kwargs.get("radius", -1))
        return real(*args, **kwargs)

    monkeypatch.setattr(_pdq_kernels, "plan_thresholds", counting)
    for k in range(4):
        got = triples(index.search(queries[k : k + 1], 31))
        assert got == [(0, d, i) for q, d, i in within(dist, ids, 31) if q == k]
    assert calls == [31]
    index.search(queries[:1], 20)
    assert calls == [31, 20]

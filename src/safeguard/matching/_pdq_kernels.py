"""Vectorised numpy kernels behind :mod:`safeguard.matching.pdq_index`.

Everything works on hashes viewed as four little-endian ``uint64`` words per row, so an exact
Hamming distance is four XORs and four popcounts. Bit ``p`` of a hash (``0 <= p < 256``) is bit
``63 - p % 64`` of word ``p // 64``: a substring ``[start, start + bits)`` is therefore the top
bits of one word or the join of two, and sorting rows by word 0 sorts them by every substring that
starts at bit 0. Which physical bits form a substring does not matter for correctness, only that
bank and queries use the same rule.

Multi-index hashing (Norouzi, Punjani and Fleet, "Fast Search in Hamming Space with Multi-Index
Hashing", CVPR 2012): split the bits into disjoint substrings ``k`` and give each a threshold
``t_k`` (``-1`` skips the substring). If ``sum(t_k + 1) > r``, any hash within distance ``r`` of
the query is within ``t_k`` of it on at least one substring (otherwise the distance would be at
least ``sum(t_k + 1)``). So probing every key within ``t_k`` of the query's substring, in a bucket
table keyed by that substring, and verifying the candidates with an exact popcount finds every
hash within ``r`` - exact recall - while touching a tiny fraction of the bank.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from math import comb

import numpy as np

WORD = np.dtype("<u8")
#: Candidates verified per numpy pass: big enough to amortise the interpreter, small enough that
#: the temporaries (32 bytes a candidate) stay in cache and never page-fault fresh memory.
PIECE = 1 << 15
#: Query x bank pairs compared per block of an exhaustive scan, and bank rows per block.
SCAN_BLOCK = 1 << 16
SCAN_ROWS = 1 << 14
#: Most probe keys one substring may generate for one query (beyond this a scan is cheaper).
MAX_PROBES = 1 << 15
#: Widest substring: its bucket directory has ``2**bits + 1`` uint32 offsets.
MAX_BITS = 26

# Cost model in nanoseconds per unit, fitted on this project's 2-core benchmark machine (numpy
# 2.x, 1M and 10M random hashes; see bench/bench_index.py). Only ratios matter: they choose the
# table shape at build time, the thresholds per radius and when a scan is cheaper.
COST_CANDIDATE = 22.0  # expand, permutation and row gathers (a cache miss), popcount
COST_SCAN = 3.5  # one query x bank row pair in a blocked exhaustive scan
COST_SORT = 60.0  # one row of an on-the-fly table (compact layout): key, packed sort, directory


def cost_probe(bits: int) -> float:
    """One probe key: directory look-ups, count and compress; dearer once the directory
    (``4 * 2**bits`` bytes) outgrows the caches."""
    return 20.0 + 17.0 * min(max((bits - 19) / 2, 0.0), 1.0)


_EMPTY_I64 = np.empty(0, dtype=np.int64)


def as_words(hashes: np.ndarray) -> np.ndarray:
    """View ``uint8[N, 32]`` hash bytes as ``uint64[N, 4]`` words (no copy when contiguous)."""
    data = np.ascontiguousarray(hashes, dtype=np.uint8)
    if data.ndim != 2 or data.shape[1] != 32:
        raise ValueError(f"PDQ hashes must have shape (N, 32), got {data.shape}")
    return data.view(WORD).reshape(-1, 4)


def substring_keys(words: np.ndarray, start: int, bits: int) -> np.ndarray:
    """The ``bits``-bit substring at bit ``start`` of every row, as uint32 keys."""
    if not 1 <= bits <= 32 or start < 0 or start + bits > 256:
        raise ValueError(f"bad substring [{start}, {start + bits})")
    word, offset = divmod(start, 64)
    if offset + bits <= 64:
        keys = words[:, word] >> np.uint64(64 - offset - bits)
        if offset:
            keys &= np.uint64((1 << bits) - 1)
    else:
        high_bits = 64 - offset
        low_bits = bits - high_bits
        keys = (words[:, word] & np.uint64((1 << high_bits) - 1)) << np.uint64(low_bits)
        keys |= words[:, word + 1] >> np.uint64(64 - low_bits)
    return keys.astype(np.uint32)


def probe_count(bits: int, threshold: int) -> int:
    """How many keys lie within ``threshold`` bits of a ``bits``-bit key."""
    return sum(comb(bits, i) for i in range(min(threshold, bits) + 1))


@lru_cache(maxsize=128)
def flip_masks(bits: int, threshold: int) -> np.ndarray:
    """Every ``bits``-bit mask of at most ``threshold`` set bits, fewest first (read-only)."""
    masks = [0]
    for weight in range(1, min(threshold, bits) + 1):
        for positions in itertools.combinations(range(bits), weight):
            masks.append(sum(1 << p for p in positions))
    out = np.array(masks, dtype=np.uint32)
    out.flags.writeable = False
    return out


def distances(rows: np.ndarray) -> np.ndarray:
    """Popcount of each ``uint64[C, 4]`` row (already XORed), as uint32; ``rows`` is consumed."""
    counts = np.bitwise_count(rows)  # uint8[C, 4], each <= 64
    v = counts.view(np.uint32).reshape(-1)
    v = (v & np.uint32(0x00FF00FF)) + ((v >> np.uint32(8)) & np.uint32(0x00FF00FF))
    v += v >> np.uint32(16)
    v &= np.uint32(0x1FF)
    return v


# --------------------------------------------------------------------------------------------
# Bucket tables


@dataclass(frozen=True)
class Table:
    """One substring's bucket table in CSR form.

    ``directory[key] : directory[key + 1]`` is the slice of ``perm`` holding the rows whose
    substring equals ``key``; ``perm`` is None when the rows themselves are sorted by this
    substring (the first table: the bank is stored in that order, so it costs no permutation).
    """

    start: int
    bits: int
    directory: np.ndarray  # uint32[2**bits + 1]
    perm: np.ndarray | None  # uint32[U] or None

    @property
    def nbytes(self) -> int:
        return self.directory.nbytes + (0 if self.perm is None else self.perm.nbytes)


def build_table(words: np.ndarray, start: int, bits: int) -> Table:
    """Bucket ``words`` by the substring ``[start, start + bits)``.

    Packing ``key << 32 | row`` into one uint64 and sorting it is ~3x faster than an argsort
    and leaves each bucket's rows ascending, so verification gathers walk memory forwards.
    """
    n = len(words)
    if n >= 1 << 32:
        raise ValueError("PdqIndex holds at most 2**32 - 1 distinct hashes")
    keys = substring_keys(words, start, bits)
    directory = np.zeros((1 << bits) + 1, dtype=np.uint32)
    np.cumsum(np.bincount(keys, minlength=1 << bits), out=directory[1:])
    if start == 0 and n and bool(np.all(keys[1:] >= keys[:-1])):
        return Table(start, bits, directory, None)
    packed = keys.astype(np.uint64) << np.uint64(32)
    packed |= np.arange(n, dtype=np.uint64)
    packed.sort()
    return Table(start, bits, directory, packed.astype(np.uint32))


def table_bytes(n: int, bits: int, identity: bool) -> int:
    return 4 * ((1 << bits) + 1) + (0 if identity else 4 * n)


# --------------------------------------------------------------------------------------------
# Planning


def plan_cost(n: int, table_bits: list[int], thresholds: list[int]) -> float:
    """Modelled nanoseconds per query for probing with these thresholds."""
    total = 0.0
    for bits, t in zip(table_bits, thresholds, strict=True):
        if t >= 0:
            probes = probe_count(bits, t)
            total += probes * (cost_probe(bits) + COST_CANDIDATE * n / (1 << bits))
    return total


def plan_thresholds(n: int, table_bits: list[int], radius: int) -> list[int] | None:
    """Cheapest thresholds with ``sum(t + 1) > radius``, or None if probing cannot pay.

    Greedy on marginal cost; the cost of a table grows convexly with its threshold (for
    thresholds below half its width), so the greedy choice is optimal.
    """
    thresholds = [-1] * len(table_bits)

    def cost(bits: int, t: int) -> float:
        if t < 0:
            return 0.0
        probes = probe_count(bits, t)
        if probes > MAX_PROBES or t > bits:
            return float("inf")
        return probes * (cost_probe(bits) + COST_CANDIDATE * n / (1 << bits))

    for _ in range(radius + 1):
        best, best_delta = -1, float("inf")
        for k, bits in enumerate(table_bits):
            delta = cost(bits, thresholds[k] + 1) - cost(bits, thresholds[k])
            if delta < best_delta:
                best, best_delta = k, delta
        if best < 0:
            return None
        thresholds[best] += 1
    return thresholds


def choose_tables(
    n: int,
    radius: int,
    *,
    max_bytes: float | None,
    sort_cost_queries: int | None = None,
    max_bits: int = MAX_BITS,
) -> tuple[list[int], list[int]] | None:
    """Pick ``m`` substrings of ``b`` bits minimising the modelled cost at ``radius``.

    ``max_bytes`` caps the tables' memory (persistent layout). ``sort_cost_queries`` (compact
    layout) adds the cost of building each table on the fly, amortised over that many queries.
    Returns (bits per table, thresholds), or None when a scan is cheaper.
    """
    best: tuple[float, list[int], list[int]] | None = None
    scan = COST_SCAN * n
    for b in range(4, max_bits + 1):
        if (1 << b) > 8 * max(n, 1):
            break  # mostly empty buckets: directory memory without benefit
        for m in range(1, 256 // b + 1):
            bits = [b] * m
            if max_bytes is not None:
                used = table_bytes(n, b, True) + (m - 1) * table_bytes(n, b, False)
                if used > max_bytes:
                    break
            thresholds = plan_thresholds(n, bits, radius)
            if thresholds is None:
                continue
            cost = plan_cost(n, bits, thresholds)
            if sort_cost_queries is not None:
                used_tables = sum(t >= 0 for t in thresholds)
                cost += used_tables * COST_SORT * n / max(sort_cost_queries, 1)
            if cost < scan and (best is None or cost < best[0]):
                best = (cost, bits, thresholds)
    return None if best is None else (best[1], best[2])


def heavy_limit(n: int, used_tables: int) -> int:
    """Candidates one query may draw from one table before scanning it is cheaper.

    Real banks are skewed (near-blank images, re-encoded series): a query landing in a huge
    bucket is answered by an exact scan instead, so its work stays bounded by a scan's.
    """
    return max(PIECE, int(COST_SCAN * n / (COST_CANDIDATE * max(used_tables, 1))))


# --------------------------------------------------------------------------------------------
# Search


class Hits:
    """Verified (query, row, distance) triples, gathered piecewise and joined once.

    One list of tuples, so worker threads can add concurrently (``list.append`` is atomic).
    """

    def __init__(self) -> None:
        self._parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    @classmethod
    def new(cls) -> Hits:
        return cls()

    def add(self, queries: np.ndarray, rows: np.ndarray, dists: np.ndarray) -> None:
        if len(queries):
            self._parts.append(
                (
                    queries.astype(np.int64, copy=False),
                    rows.astype(np.int64, copy=False),
                    dists.astype(np.int32, copy=False),
                )
            )

    def join(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if not self._parts:
            return _EMPTY_I64, _EMPTY_I64, np.empty(0, dtype=np.int32)
        q, r, d = zip(*self._parts, strict=True)
        return np.concatenate(q), np.concatenate(r), np.concatenate(d)


def _pieces(counts: np.ndarray) -> Iterator[tuple[int, int]]:
    """Split consecutive probes into runs of about ``PIECE`` candidates."""
    cum = np.cumsum(counts, dtype=np.int64)
    total = int(cum[-1]) if len(cum) else 0
    if total <= PIECE:
        if total:
            yield 0, len(counts)
        return
    edges = np.searchsorted(cum, np.arange(PIECE, total, PIECE, dtype=np.int64), side="left")
    edges = np.unique(np.concatenate(([0], edges + 1, [len(counts)])))
    edges = np.minimum(edges, len(counts))
    for a, b in itertools.pairwise(edges.tolist()):
        if b > a:
            yield a, b


def probe_table(
    table: Table,
    words: np.ndarray,
    qwords: np.ndarray,
    query_ids: np.ndarray,
    threshold: int,
    radius: int,
    heavy_limit: int,
    hits: Hits,
) -> np.ndarray:
    """Probe one table for a chunk of queries and verify the candidates into ``hits``.

    ``query_ids`` are the global positions of the rows of ``qwords``. Queries whose buckets hold
    more than ``heavy_limit`` candidates in this table are skipped and returned (as positions
    into ``qwords``) so the caller scans them instead: work per query stays bounded whatever the
    skew of the bank, and the answer stays exact.
    """
    masks = flip_masks(table.bits, threshold)
    n_masks = len(masks)
    keys = substring_keys(qwords, table.start, table.bits)
    probes = np.bitwise_xor(keys[:, None], masks[None, :]).reshape(-1)
    lo = table.directory.take(probes)
    probes += np.uint32(1)
    counts = table.directory.take(probes)
    counts -= lo
    per_query = counts.reshape(-1, n_masks).sum(axis=1, dtype=np.int64)
    heavy = np.flatnonzero(per_query > heavy_limit)
    if len(heavy):
        counts.reshape(-1, n_masks)[heavy] = 0
    nonzero = np.flatnonzero(counts)
    if not len(nonzero):
        return heavy
    counts = counts[nonzero]
    # One repeat expands both halves of (query << 32 | bucket start): adding 0..count-1 walks
    # the bucket without carrying into the query half (a bucket never crosses 2**32).
    starts = (nonzero // n_masks) << 32
    starts |= lo[nonzero]
    low = np.int64(0xFFFFFFFF)
    for a, b in _pieces(counts):
        piece_counts = counts[a:b]
        cum = np.cumsum(piece_counts, dtype=np.int64)
        packed = np.repeat(starts[a:b] - (cum - piece_counts), piece_counts)
        packed += np.arange(int(cum[-1]), dtype=np.int64)
        pos = packed & low
        rows = pos if table.perm is None else table.perm.take(pos)
        local = packed >> 32
        x = words.take(rows, axis=0)
        x ^= qwords.take(local, axis=0)
        d = distances(x)
        keep = np.flatnonzero(d <= radius)
        if len(keep):
            hits.add(query_ids.take(local[keep]), rows[keep], d[keep])
    return heavy


def scan(
    words: np.ndarray,
    qwords: np.ndarray,
    query_ids: np.ndarray,
    radius: int,
    hits: Hits,
    row_offset: int = 0,
) -> None:
    """Exhaustive exact search of ``qwords`` against every row, in cache-sized blocks.

    The first two words' distance is a lower bound of the full distance, and for random pairs
    (mean 64 of 128 bits) it already rules out nearly everything at PDQ radii, so the full
    distance is computed only for the few pairs that pass it: ~3 ns a pair instead of ~12.
    """
    n, q = len(words), len(qwords)
    if not n or not q:
        return
    bank_block = min(n, SCAN_ROWS)
    query_block = max(1, SCAN_BLOCK // bank_block)
    for q0 in range(0, q, query_block):
        qs = qwords[q0 : q0 + query_block]
        for r0 in range(0, n, bank_block):
            block = words[r0 : r0 + bank_block]
            x = np.bitwise_xor(qs[:, None, 0], block[None, :, 0])
            d = np.bitwise_count(x)
            np.bitwise_xor(qs[:, None, 1], block[None, :, 1], out=x)
            d += np.bitwise_count(x)  # <= 128: fits uint8
            maybe = np.flatnonzero(d <= radius)
            if not len(maybe):
                continue
            qi, ri = np.divmod(maybe, len(block))
            full = block.take(ri, axis=0)
            full ^= qs.take(qi, axis=0)
            dist = distances(full)
            keep = np.flatnonzero(dist <= radius)
            if len(keep):
                hits.add(query_ids[q0 + qi[keep]], ri[keep] + (r0 + row_offset), dist[keep])

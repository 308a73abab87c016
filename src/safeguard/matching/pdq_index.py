"""Exact PDQ Hamming-radius search over millions of bank hashes.

A :class:`PdqIndex` answers "every bank hash within ``radius`` bits of each query" with exact
recall, for batches of queries, by multi-index hashing (see ``_pdq_kernels``): the 256 bits are
split into ``m`` disjoint ``b``-bit substrings, each with a bucket table; a query probes every key
within a small threshold of its own substring in each table and verifies the candidates with an
exact popcount. Thresholds are chosen per radius so that the pigeonhole principle guarantees
recall; when probing would cost more than scanning (large radius, tiny bank, or a query that
lands in a huge bucket of a skewed bank) the index scans instead, so every answer is exact.

Layout (``layout="mih"``, the default), all flat arrays so a saved index is memory-mapped:

* ``hashes``: the distinct bank hashes, ``uint8[U, 32]``, sorted lexicographically. Sorting
  makes duplicate hashes adjacent (each is stored and verified once) and makes the rows sorted by
  the first substring, so the first table needs no permutation at all.
* ``ids``: ``int64[N]`` entry ids in row order; ``id_offsets`` (``int64[U + 1]``, only when the
  bank has duplicate hashes) maps row ``u`` to ``ids[id_offsets[u]:id_offsets[u + 1]]``.
* per table: ``directory`` (``uint32[2**b + 1]``, CSR offsets by substring key) and ``perm``
  (``uint32[U]`` rows in key order, absent for the first table).

Memory is ``32 + 8 + 4 (m - 1)`` bytes a hash plus ``4 m 2**b`` for the directories. The
builder picks ``m`` and ``b`` to minimise the modelled radius-31 query cost within
``memory_factor`` times the raw hash bytes (default 3.5; tables may always take 16 MiB). At 10M
hashes that is ``m = 11`` substrings of 22 bits, 3.08x the raw bytes; at 1M, 14 of 18 bits,
3.33x. Exact radius-31 search needs about ten tables: with fewer, each substring's threshold
grows and the probes per query explode (8 tables need ~14k probes, 6 need ~200k), and each table
costs a 4-byte row number per hash, so 1.5x the raw bytes cannot hold a fast persistent index.
Verification is bound by one cache miss per candidate, which is why wider substrings (fewer
candidates, bigger directories) buy speed with memory.

``layout="compact"`` keeps only ``hashes`` and ``ids`` (1.25x the raw bytes, within the 1.5x
target) and builds each substring table on the fly during :meth:`PdqIndex.search` (a packed
``key << 32 | row`` sort, ~0.6 s per table at 10M hashes, transient memory <= 4 bytes a hash
plus a 32 MiB directory), then drops it. That pays off for large query batches (bulk triage of
an exhibit: at 10M hashes and 100k queries it runs within 10% of ``mih``); for a few hundred
queries or fewer it scans (~3.5 ns per query x hash pair).

Searches use ``workers`` threads (default: all cores, up to 8); numpy releases the GIL in the
gathers and popcounts, so two threads give ~1.75x on two cores.
"""

from __future__ import annotations

import json
import mmap as mmap_module
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from safeguard.domain.signals import PDQ_RADIUS
from safeguard.matching import _pdq_kernels as K

Layout = Literal["mih", "compact"]

_MAGIC = b"SGPDQIX\x00"
_VERSION = 1
_ALIGN = 64
#: Queries x probe keys handled per numpy pass when probing one table.
_PROBES_PER_CHUNK = 1 << 17
#: Tables may always use this much, so small banks (an exhibit's own hashes) still get them.
_MIN_TABLE_BYTES = 16 << 20
#: Widest on-the-fly table of the compact layout: its transient directory stays <= 32 MiB.
_COMPACT_MAX_BITS = 23
#: Most threads one search uses.
_MAX_WORKERS = 8
#: The radius the persistent tables are shaped for (PDQ's usual match threshold).
DESIGN_RADIUS = PDQ_RADIUS


@dataclass(frozen=True)
class SearchResult:
    """Matches as parallel arrays, sorted by (query_index, distance, id)."""

    query_index: np.ndarray  # int64[M]: row of the query in the searched batch
    ids: np.ndarray  # int64[M]: id of the matching bank entry
    distances: np.ndarray  # int32[M]: Hamming distance, <= radius

    def __len__(self) -> int:
        return len(self.ids)

    def per_query(self, n_queries: int) -> list[list[tuple[int, int]]]:
        """``[(id, distance), ...]`` for each of ``n_queries`` queries, in result order."""
        out: list[list[tuple[int, int]]] = [[] for _ in range(n_queries)]
        for q, i, d in zip(
            self.query_index.tolist(), self.ids.tolist(), self.distances.tolist(), strict=True
        ):
            out[q].append((i, d))
        return out


def _empty_result() -> SearchResult:
    return SearchResult(
        np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int32)
    )


def _hash_order(words: np.ndarray) -> np.ndarray:
    """Row order sorting the hashes lexicographically by their four words.

    One packed sort on (top bits of word 0, row number) does nearly all the work; only rows
    whose word-0 prefix collides (duplicates, mostly) get a full lexsort.
    """
    n = len(words)
    if n <= 1:
        return np.arange(n, dtype=np.int64)
    row_bits = (n - 1).bit_length()
    row_mask = np.uint64((1 << row_bits) - 1)
    packed = words[:, 0] & ~row_mask
    packed |= np.arange(n, dtype=np.uint64)
    packed.sort()
    order = (packed & row_mask).astype(np.int64)
    prefix = packed >> np.uint64(row_bits)
    same = prefix[1:] == prefix[:-1]
    if same.any():
        in_run = np.zeros(n, dtype=bool)
        in_run[1:] |= same
        in_run[:-1] |= same
        group = np.cumsum(np.concatenate(([True], ~same)))
        idx = np.flatnonzero(in_run)
        sub = order[idx]
        w = words.take(sub, axis=0)
        order[idx] = sub[np.lexsort((w[:, 3], w[:, 2], w[:, 1], w[:, 0], group[idx]))]
    return order


def _parse_hex(hex_hashes: Sequence[str]) -> np.ndarray:
    """PDQ hex strings to ``uint8[Q, 32]``; raises ValueError naming the first bad one."""
    texts = [h.strip() for h in hex_hashes]
    try:
        if all(len(t) == 64 for t in texts):
            data = bytes.fromhex("".join(texts))
            if len(data) == 32 * len(texts):
                return np.frombuffer(data, dtype=np.uint8).reshape(-1, 32)
    except ValueError:
        pass
    for t in texts:
        if len(t) != 64:
            raise ValueError(f"PDQ hash must be 64 hex characters: {t!r}")
        try:
            if len(bytes.fromhex(t)) != 32:
                raise ValueError
        except ValueError:
            raise ValueError(f"PDQ hash is not hexadecimal: {t!r}") from None
    raise ValueError("malformed PDQ hashes")  # pragma: no cover - caught above


class PdqIndex:
    """Exact Hamming-radius index of PDQ hashes; see the module docstring for the layout."""

    def __init__(
        self,
        hashes: np.ndarray,
        ids: np.ndarray,
        id_offsets: np.ndarray | None,
        tables: list[K.Table],
        layout: Layout,
        *,
        _keepalive: Any = None,
    ) -> None:
        self._hashes = hashes
        self._words = K.as_words(hashes) if len(hashes) else np.empty((0, 4), dtype=K.WORD)
        self._ids = ids
        self._id_offsets = id_offsets
        self._tables = tables
        self._layout: Layout = layout
        self._keepalive = _keepalive
        #: Search plans: the mih layout's thresholds per radius, the compact layout's table
        #: choice per (radius, batch size rounded up to a power of two). The planners are pure
        #: Python (up to a second a call for the compact layout), which a single query paid
        #: every time; the index never changes, so each plan is made once.
        self._plans: dict[tuple[int, int], Any] = {}

    # ---------------------------------------------------------------- construction

    @classmethod
    def build(
        cls,
        hashes: np.ndarray,
        ids: np.ndarray,
        *,
        layout: Layout = "mih",
        memory_factor: float = 3.5,
        shape: tuple[int, int] | None = None,
    ) -> PdqIndex:
        """Index ``hashes`` (``uint8[N, 32]``, bytes as ``bytes.fromhex`` gives) under ``ids``.

        ``memory_factor`` bounds the ``mih`` layout's memory, in multiples of the raw hash bytes;
        a smaller budget gives fewer, wider tables (slower queries), never wrong answers.
        ``shape = (m, b)`` forces ``m`` substrings of ``b`` bits instead (tuning and tests).
        """
        if layout not in ("mih", "compact"):
            raise ValueError(f"unknown layout {layout!r}")
        raw = np.asarray(hashes)
        if raw.size == 0:
            raw = raw.reshape(0, 32)
        words = K.as_words(raw)
        id_array = np.asarray(ids)
        if id_array.ndim != 1 or len(id_array) != len(words):
            raise ValueError(f"ids must be 1-D with {len(words)} entries, got {id_array.shape}")
        if len(id_array) and not np.issubdtype(id_array.dtype, np.integer):
            raise ValueError("ids must be integers")
        id_array = id_array.astype(np.int64, copy=False)
        n = len(words)

        order = _hash_order(words)
        words = words.take(order, axis=0)
        id_array = id_array.take(order)
        id_offsets: np.ndarray | None = None
        if n > 1:
            starts = np.flatnonzero(
                np.concatenate(([True], np.any(words[1:] != words[:-1], axis=1)))
            )
            if len(starts) < n:
                group = np.repeat(np.arange(len(starts)), np.diff(np.append(starts, n)))
                id_array = id_array[np.lexsort((id_array, group))]
                words = words[starts]
                id_offsets = np.append(starts, n).astype(np.int64)
        unique = len(words)
        hash_bytes = np.ascontiguousarray(words).view(np.uint8).reshape(-1, 32)

        tables: list[K.Table] = []
        if shape is not None:
            m, b = shape
            if m < 1 or not 1 <= b <= K.MAX_BITS or m * b > 256:
                raise ValueError(f"bad table shape {shape!r}")
            if layout == "mih" and unique:
                tables = [K.build_table(words, k * b, b) for k in range(m)]
        elif layout == "mih" and unique:
            held = hash_bytes.nbytes + id_array.nbytes
            held += 0 if id_offsets is None else id_offsets.nbytes
            budget = max(memory_factor * 32 * n, held + _MIN_TABLE_BYTES) - held
            choice = K.choose_tables(unique, DESIGN_RADIUS, max_bytes=max(budget, 0.0))
            if choice is not None:
                for k, bits in enumerate(choice[0]):
                    tables.append(K.build_table(words, k * bits, bits))
        return cls(hash_bytes, id_array, id_offsets, tables, layout)

    @classmethod
    def from_hex(cls, pairs: Iterable[tuple[int, str]], **options: Any) -> PdqIndex:
        """Index ``(id, hex PDQ)`` pairs; options as for :meth:`build`."""
        ids: list[int] = []
        hexes: list[str] = []
        for entry_id, pdq in pairs:
            ids.append(entry_id)
            hexes.append(pdq)
        return cls.build(_parse_hex(hexes), np.array(ids, dtype=np.int64), **options)

    # ---------------------------------------------------------------- properties

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def layout(self) -> Layout:
        return self._layout

    @property
    def unique_hashes(self) -> int:
        return len(self._words)

    @property
    def table_shape(self) -> tuple[int, int]:
        """(substrings, bits each) of the persistent tables; (0, 0) when there are none."""
        return (len(self._tables), self._tables[0].bits) if self._tables else (0, 0)

    @property
    def nbytes(self) -> int:
        """Bytes held by the index arrays (mapped pages included when memory-mapped)."""
        total = self._hashes.nbytes + self._ids.nbytes
        total += 0 if self._id_offsets is None else self._id_offsets.nbytes
        return total + sum(t.nbytes for t in self._tables)

    def __repr__(self) -> str:
        m, b = self.table_shape
        return (
            f"PdqIndex({len(self)} entries, {self.unique_hashes} distinct, layout={self._layout},"
            f" tables={m}x{b} bits, {self.nbytes / 2**20:.1f} MiB)"
        )

    # ---------------------------------------------------------------- search

    def search(
        self, queries: np.ndarray, radius: int = PDQ_RADIUS, *, workers: int | None = None
    ) -> SearchResult:
        """Every indexed hash within ``radius`` of each query (``uint8[Q, 32]``), exactly.

        ``workers`` threads share the batch (numpy releases the GIL in the heavy loops); None
        uses every core, up to 8.
        """
        if isinstance(radius, bool) or not isinstance(radius, int | np.integer) or radius < 0:
            raise ValueError(f"radius must be a non-negative integer, got {radius!r}")
        radius = min(int(radius), 256)
        q_raw = np.asarray(queries)
        if q_raw.size == 0:
            return _empty_result()
        qwords = K.as_words(q_raw)
        n_queries, unique = len(qwords), len(self._words)
        if not unique:
            return _empty_result()
        n_workers = max(1, min(workers or os.cpu_count() or 1, _MAX_WORKERS))
        hits = K.Hits.new()
        plan = self._plan(radius, n_queries)
        with ThreadPoolExecutor(n_workers) if n_workers > 1 else nullcontext() as pool:

            def run(fn: Callable[[Any], None], items: Sequence[Any]) -> None:
                if pool is None or len(items) < 2:
                    for item in items:
                        fn(item)
                else:
                    list(pool.map(fn, items))

            if plan is None:
                self._scan(
                    qwords, np.arange(n_queries, dtype=np.int64), radius, hits, run, n_workers
                )
            else:
                tables, thresholds = plan
                used = [(tb, t) for tb, t in zip(tables, thresholds, strict=True) if t >= 0]
                heavy_limit = K.heavy_limit(unique, len(used))
                alive = np.ones(n_queries, dtype=bool)
                for spec, threshold in used:
                    table = spec if isinstance(spec, K.Table) else K.build_table(self._words, *spec)
                    self._probe_all(table, threshold, radius, qwords, alive, heavy_limit, hits, run)
                    del table
                heavy = np.flatnonzero(~alive)
                if len(heavy):
                    self._scan(qwords[heavy], heavy, radius, hits, run, n_workers)
        return self._finish(*hits.join())

    def _scan(
        self,
        qwords: np.ndarray,
        query_ids: np.ndarray,
        radius: int,
        hits: K.Hits,
        run: Callable[[Callable[[Any], None], Sequence[Any]], None],
        n_workers: int,
    ) -> None:
        """Exhaustive search, split by queries (or by bank rows for a handful of queries)."""
        words = self._words
        if len(qwords) >= n_workers:
            step = -(-len(qwords) // n_workers)
            run(
                lambda q0: K.scan(
                    words, qwords[q0 : q0 + step], query_ids[q0 : q0 + step], radius, hits
                ),
                range(0, len(qwords), step),
            )
        else:
            step = -(-len(words) // n_workers)
            run(
                lambda r0: K.scan(
                    words[r0 : r0 + step], qwords, query_ids, radius, hits, row_offset=r0
                ),
                range(0, len(words), step),
            )

    def _plan(
        self, radius: int, n_queries: int
    ) -> tuple[list[K.Table] | list[tuple[int, int]], list[int]] | None:
        """Tables (built or to build) and thresholds for this search, or None to scan."""
        unique = len(self._words)
        if self._tables:
            # The thresholds depend only on the index and the radius: planned once (the greedy
            # planner is pure Python and cost tens of milliseconds, more than a query's search).
            key = (radius, 0)
            if key not in self._plans:
                bits = [t.bits for t in self._tables]
                thresholds = K.plan_thresholds(unique, bits, radius)
                scan = (
                    thresholds is None
                    or K.plan_cost(unique, bits, thresholds) >= K.COST_SCAN * unique
                )
                self._plans[key] = None if scan else (self._tables, thresholds)
            return self._plans[key]
        if self._layout == "compact":
            bucket = 1 << max(0, int(n_queries) - 1).bit_length()
            key = (radius, bucket)
            if key not in self._plans:
                choice = K.choose_tables(
                    unique,
                    radius,
                    max_bytes=None,
                    sort_cost_queries=bucket,
                    max_bits=_COMPACT_MAX_BITS,
                )
                self._plans[key] = (
                    None
                    if choice is None
                    else ([(k * b, b) for k, b in enumerate(choice[0])], choice[1])
                )
            return self._plans[key]
        return None

    def _probe_all(
        self,
        table: K.Table,
        threshold: int,
        radius: int,
        qwords: np.ndarray,
        alive: np.ndarray,
        heavy_limit: int,
        hits: K.Hits,
        run: Callable[[Callable[[Any], None], Sequence[Any]], None],
    ) -> None:
        """Probe one table for every live query, a chunk of queries per task."""
        n_masks = K.probe_count(table.bits, threshold)
        chunk = max(1, _PROBES_PER_CHUNK // n_masks)

        def task(q0: int) -> None:
            live = alive[q0 : q0 + chunk]
            if live.all():
                ids = np.arange(q0, q0 + len(live), dtype=np.int64)
                chunk_words = qwords[q0 : q0 + chunk]
            else:
                ids = np.flatnonzero(live) + q0
                if not len(ids):
                    return
                chunk_words = qwords[ids]
            heavy = K.probe_table(
                table, self._words, chunk_words, ids, threshold, radius, heavy_limit, hits
            )
            if len(heavy):
                alive[ids[heavy]] = False

        run(task, range(0, len(qwords), chunk))

    def _finish(self, q: np.ndarray, rows: np.ndarray, d: np.ndarray) -> SearchResult:
        """Drop repeats (a match found through several tables), expand duplicates, sort."""
        if not len(q):
            return _empty_result()
        key = q * len(self._words) + rows
        _, first = np.unique(key, return_index=True)
        q, rows, d = q[first], rows[first], d[first]
        if self._id_offsets is None:
            ids = self._ids.take(rows)
        else:
            lo = self._id_offsets.take(rows)
            counts = self._id_offsets.take(rows + 1) - lo
            cum = np.cumsum(counts)
            pos = np.repeat(lo - (cum - counts), counts) + np.arange(int(cum[-1]))
            ids = self._ids.take(pos)
            q, d = np.repeat(q, counts), np.repeat(d, counts)
        order = np.lexsort((ids, d, q))
        return SearchResult(
            q.take(order).astype(np.int64, copy=False),
            np.ascontiguousarray(ids.take(order), dtype=np.int64),
            d.take(order).astype(np.int32, copy=False),
        )

    def search_hex(
        self, hex_hashes: Sequence[str], radius: int = PDQ_RADIUS
    ) -> list[list[tuple[int, int]]]:
        """Per query hex string, its matches as ``[(id, distance), ...]`` nearest first."""
        if not len(hex_hashes):
            return []
        result = self.search(_parse_hex(hex_hashes), radius)
        return result.per_query(len(hex_hashes))

    # ---------------------------------------------------------------- persistence

    def _arrays(self) -> dict[str, np.ndarray]:
        arrays = {"hashes": self._hashes, "ids": self._ids}
        if self._id_offsets is not None:
            arrays["id_offsets"] = self._id_offsets
        for k, table in enumerate(self._tables):
            arrays[f"directory{k}"] = table.directory
            if table.perm is not None:
                arrays[f"perm{k}"] = table.perm
        return arrays

    def save(self, path: Path) -> None:
        """Write one file: magic, JSON header, then 64-byte aligned raw arrays.

        Raw aligned arrays (unlike ``.npz`` members) can be memory-mapped in place, so loading
        even a 10M-hash index costs only the header parse. Written to a temporary name and
        renamed, so a reader never sees a half-written index.
        """
        path = Path(path)
        arrays = self._arrays()
        specs: dict[str, dict[str, Any]] = {}
        offset = 0
        for name, array in arrays.items():
            specs[name] = {"dtype": array.dtype.str, "shape": list(array.shape), "offset": offset}
            offset += -(-array.nbytes // _ALIGN) * _ALIGN
        header = {
            "format": "safeguard-pdq-index",
            "version": _VERSION,
            "layout": self._layout,
            "entries": len(self._ids),
            "unique": len(self._words),
            "tables": [[t.start, t.bits, t.perm is not None] for t in self._tables],
            "arrays": specs,
        }
        blob = json.dumps(header).encode()
        head_len = -(-(len(_MAGIC) + 8 + len(blob)) // _ALIGN) * _ALIGN
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as fh:
            fh.write(_MAGIC + np.uint64(len(blob)).tobytes() + blob)
            fh.write(b"\x00" * (head_len - len(_MAGIC) - 8 - len(blob)))
            for array in arrays.values():
                data = np.ascontiguousarray(array)
                if data.nbytes:
                    fh.write(memoryview(data).cast("B"))
                fh.write(b"\x00" * (-(-data.nbytes // _ALIGN) * _ALIGN - data.nbytes))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path, mmap: bool = True) -> PdqIndex:
        """Open a saved index; with ``mmap`` the arrays stay in the file's pages (read-only)."""
        path = Path(path)
        with open(path, "rb") as fh:
            if fh.read(len(_MAGIC)) != _MAGIC:
                raise ValueError(f"{path} is not a Safeguard PDQ index")
            blob_len = int(np.frombuffer(fh.read(8), dtype=np.uint64)[0])
            header = json.loads(fh.read(blob_len))
            if header.get("version") != _VERSION:
                raise ValueError(f"{path}: unsupported index version {header.get('version')}")
            base = -(-(len(_MAGIC) + 8 + blob_len) // _ALIGN) * _ALIGN
            size = os.fstat(fh.fileno()).st_size
            buffer: Any
            if mmap and size > base:
                buffer = mmap_module.mmap(fh.fileno(), 0, access=mmap_module.ACCESS_READ)
            else:
                fh.seek(0)
                buffer = bytearray(size)
                fh.readinto(buffer)

        def array(name: str) -> np.ndarray:
            spec = header["arrays"][name]
            dtype = np.dtype(spec["dtype"])
            shape = tuple(spec["shape"])
            count = int(np.prod(shape, dtype=np.int64))
            start = base + spec["offset"]
            if start + count * dtype.itemsize > size:
                raise ValueError(f"{path}: truncated index ({name})")
            out = np.frombuffer(buffer, dtype=dtype, count=count, offset=start).reshape(shape)
            out.flags.writeable = False
            return out

        names = header["arrays"]
        tables = [
            K.Table(start, bits, array(f"directory{k}"), array(f"perm{k}") if has_perm else None)
            for k, (start, bits, has_perm) in enumerate(header["tables"])
        ]
        return cls(
            array("hashes"),
            array("ids"),
            array("id_offsets") if "id_offsets" in names else None,
            tables,
            header["layout"],
            _keepalive=buffer,
        )

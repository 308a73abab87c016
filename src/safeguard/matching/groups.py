"""Near-duplicate grouping of an exhibit's new media, so a reviewer grades one card per group."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from safeguard.matching.pdq_index import PdqIndex


def _find(parent: list[int], i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


def near_duplicate_groups(
    hashes: Sequence[Sequence[str] | None], radius: int = 31
) -> list[list[int]]:
    """Group items whose PDQ hashes (any of their eight variants) lie within ``radius``.

    ``hashes[i]`` is the list of dihedral variants of item i (original first), or None for items
    without a usable hash; those end up alone. Grouping is transitive (single linkage).
    Returns the groups as lists of item positions, each sorted, ordered by first member.
    """
    n = len(hashes)
    parent = list(range(n))
    hashed = [i for i in range(n) if hashes[i]]
    if hashed:
        originals = np.frombuffer(
            b"".join(bytes.fromhex(hashes[i][0]) for i in hashed), dtype=np.uint8
        ).reshape(len(hashed), 32)
        index = PdqIndex.build(originals, np.array(hashed, dtype=np.int64))
        queries, owners = [], []
        for i in hashed:
            for variant in hashes[i]:
                queries.append(bytes.fromhex(variant))
                owners.append(i)
        query_array = np.frombuffer(b"".join(queries), dtype=np.uint8).reshape(-1, 32)
        result = index.search(query_array, radius)
        for q, other in zip(result.query_index.tolist(), result.ids.tolist(), strict=True):
            a, b = _find(parent, owners[q]), _find(parent, other)
            if a != b:
                parent[max(a, b)] = min(a, b)
    members: dict[int, list[int]] = {}
    for i in range(n):
        members.setdefault(_find(parent, i), []).append(i)
    return sorted(members.values(), key=lambda g: g[0])

"""Near-duplicate grouping of an exhibit's new media, so a reviewer grades one card per group."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from safeguard.matching.pdq_index import PdqIndex
from safeguard.matching.video_match import PackedFrames, match_video


def _find(parent: list[int], i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


def near_duplicate_groups(
    hashes: Sequence[Sequence[str] | None],
    radius: int = 31,
    links: Iterable[tuple[int, int]] = (),
) -> list[list[int]]:
    """Group items whose PDQ hashes (any of their eight variants) lie within ``radius``.

    ``hashes[i]`` is the list of dihedral variants of item i (original first), or None for items
    without a usable hash; those end up alone unless ``links`` (pairs of positions known to be
    near-duplicates by other means, e.g. :func:`video_links`) join them to others. Grouping is
    transitive (single linkage). Returns the groups as lists of item positions, each sorted,
    ordered by first member.
    """
    n = len(hashes)
    parent = list(range(n))
    for i, j in links:
        a, b = _find(parent, i), _find(parent, j)
        if a != b:
            parent[max(a, b)] = min(a, b)
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


def video_links(videos: Mapping[int, PackedFrames], distance: int = 31) -> list[tuple[int, int]]:
    """Pairs (a, b), a < b, of videos that are the same video, or one a clip of the other, by
    vPDQ (``match_video``'s defaults: 80 % of frames within ``distance``).

    Only pairs sharing at least one frame within ``distance`` are compared in full: one exact
    radius search of every frame against every other video's frames finds them.
    """
    keys = [k for k in sorted(videos) if len(videos[k])]
    if len(keys) < 2:
        return []
    hashes = np.concatenate([videos[k].hashes for k in keys]).view(np.uint8).reshape(-1, 32)
    owner = np.concatenate([np.full(len(videos[k]), n, dtype=np.int64) for n, k in enumerate(keys)])
    index = PdqIndex.build(hashes, owner)
    found = index.search(hashes, distance)
    pairs = {
        (min(a, b), max(a, b))
        for a, b in zip(owner[found.query_index].tolist(), found.ids.tolist(), strict=True)
        if a != b
    }
    links = []
    for a, b in sorted(pairs):
        if match_video(videos[keys[a]], videos[keys[b]], distance=distance).matched:
            links.append((keys[a], keys[b]))
    return links

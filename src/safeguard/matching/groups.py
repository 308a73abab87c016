"""Near-duplicate grouping of an exhibit's new media, so a reviewer grades one card per group."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from safeguard.domain.signals import PDQ_RADIUS, VPDQ_DISTANCE
from safeguard.matching.pdq_index import PdqIndex
from safeguard.matching.video_match import PackedFrames, match_video

#: Items whose eight hashes are searched at once when grouping.
_BLOCK = 20_000


def _find(parent: list[int], i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


def near_duplicate_groups(
    dihedral: np.ndarray,
    usable: np.ndarray,
    radius: int = PDQ_RADIUS,
    links: Iterable[tuple[int, int]] = (),
) -> list[list[int]]:
    """Group items whose PDQ hashes (any of their eight variants) lie within ``radius``.

    ``dihedral[i]`` holds item i's eight dihedral variants (``uint8[n, 8, 32]``, the original
    first); items whose ``usable[i]`` is false end up alone unless ``links`` (pairs of positions
    known to be near-duplicates by other means, e.g. :func:`video_links`) join them to others.
    Grouping is transitive (single linkage). Returns the groups as lists of item positions, each
    sorted, ordered by first member.
    """
    n = int(dihedral.shape[0])
    parent = list(range(n))
    for i, j in links:
        a, b = _find(parent, i), _find(parent, j)
        if a != b:
            parent[max(a, b)] = min(a, b)
    hashed = np.flatnonzero(usable)
    if hashed.size:
        index = PdqIndex.build(np.ascontiguousarray(dihedral[hashed, 0]), hashed.astype(np.int64))
        # In blocks of items: the search's working memory stays bounded however many there are.
        for start in range(0, hashed.size, _BLOCK):
            block = hashed[start : start + _BLOCK]
            result = index.search(np.ascontiguousarray(dihedral[block]).reshape(-1, 32), radius)
            owners = block[result.query_index // 8]
            pairs = np.unique(np.stack([owners, result.ids], axis=1)[owners != result.ids], axis=0)
            for owner, other in pairs.tolist():
                a, b = _find(parent, owner), _find(parent, other)
                if a != b:
                    parent[max(a, b)] = min(a, b)
    members: dict[int, list[int]] = {}
    for i in range(n):
        members.setdefault(_find(parent, i), []).append(i)
    return sorted(members.values(), key=lambda g: g[0])


def video_links(
    videos: Mapping[int, PackedFrames], distance: int = VPDQ_DISTANCE
) -> list[tuple[int, int]]:
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

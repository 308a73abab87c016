"""Near-duplicate grouping equals single linkage by brute force, whatever the search blocks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safeguard.matching import groups as groups_module
from safeguard.matching.groups import near_duplicate_groups


def _distance(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.unpackbits(a ^ b).sum())


def _brute_force(dihedral: np.ndarray, usable: np.ndarray, radius: int, links) -> list[list[int]]:
    n = len(dihedral)
    label = list(range(n))

    def join(i: int, j: int) -> None:
        old, new = max(label[i], label[j]), min(label[i], label[j])
        for k in range(n):
            if label[k] == old:
                label[k] = new

    for i, j in links:
        join(i, j)
    for i in range(n):
        for j in range(n):
            near = any(_distance(dihedral[i, v], dihedral[j, 0]) <= radius for v in range(8))
            if i != j and usable[i] and usable[j] and near:
                join(i, j)
    out: dict[int, list[int]] = {}
    for k in range(n):
        out.setdefault(label[k], []).append(k)
    return sorted(out.values(), key=lambda g: g[0])


@st.composite
def exhibits(draw):  # noqa: ANN201
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n = draw(st.integers(1, 30))
    bases = rng.integers(0, 256, size=(draw(st.integers(1, 6)), 32), dtype=np.uint8)
    dihedral = rng.integers(0, 256, size=(n, 8, 32), dtype=np.uint8)
    for i in range(n):
        original = bases[rng.integers(len(bases))].copy()
        for bit in rng.choice(256, size=int(rng.integers(0, 40)), replace=False):
            original[bit // 8] ^= np.uint8(1 << (bit % 8))
        dihedral[i, int(rng.integers(8))] = original  # a near-duplicate under some variant
        dihedral[i, 0] = original if rng.random() < 0.7 else dihedral[i, 0]
    usable = rng.random(n) < 0.9
    links = [tuple(sorted(rng.choice(n, 2, replace=False).tolist())) for _ in range(n // 10)]
    return dihedral, usable, links


@settings(max_examples=60, deadline=None)
@given(case=exhibits(), block=st.sampled_from([1, 3, 20_000]))
def test_groups_are_single_linkage_over_the_eight_variants(case, block: int) -> None:
    dihedral, usable, links = case
    expected = _brute_force(dihedral, usable, 31, links)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(groups_module, "_BLOCK", block)
        assert near_duplicate_groups(dihedral, usable, 31, links) == expected


def test_a_variant_of_one_item_joins_it_to_another() -> None:
    rng = np.random.default_rng(7)
    dihedral = rng.integers(0, 256, size=(12, 8, 32), dtype=np.uint8)
    dihedral[5] = dihedral[2]
    dihedral[9, 3] = dihedral[2, 0]
    usable = np.ones(12, bool)
    usable[7] = False
    groups = near_duplicate_groups(dihedral, usable)
    assert [2, 5, 9] in groups
    assert [7] in groups and sum(len(g) for g in groups) == 12

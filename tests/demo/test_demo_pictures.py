"""render_picture: deterministic, varied, and far apart under PDQ (dihedral-aware)."""

from __future__ import annotations

import numpy as np
import pdqhash
import pytest

from safeguard.demo import render_picture


def test_same_seed_same_pixels_other_seed_differs() -> None:
    a = np.asarray(render_picture(7))
    assert np.array_equal(a, np.asarray(render_picture(7)))
    assert not np.array_equal(a, np.asarray(render_picture(8)))


def test_size_and_mode() -> None:
    img = render_picture(3, (600, 800))
    assert img.size == (600, 800)
    assert img.mode == "RGB"


@pytest.mark.slow
def test_pictures_are_far_apart_with_good_quality() -> None:
    """Across 300 seeds: min PDQ distance over all pairs and 8 dihedral variants > 50 bits."""
    plain, dihedral, qualities = [], [], []
    for seed in range(300):
        pixels = np.asarray(render_picture(seed))
        bits, quality = pdqhash.compute(pixels)
        variants, _ = pdqhash.compute_dihedral(pixels)
        plain.append(bits.astype(bool))
        dihedral.append(np.asarray(variants, dtype=bool))
        qualities.append(quality)
    base = np.array(plain)  # (300, 256)
    variants = np.array(dihedral)  # (300, 8, 256)
    smallest = min(
        int((variants[i + 1 :] != base[i][None, None, :]).sum(-1).min())
        for i in range(len(base) - 1)
    )
    assert smallest > 50
    assert min(qualities) >= 80

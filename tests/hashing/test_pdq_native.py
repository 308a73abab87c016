"""The direct call into pdqhash's C++ gives exactly what ``pdqhash.compute_dihedral`` gives."""

from __future__ import annotations

import numpy as np
import pytest

from safeguard.hashing import pdq

from .conftest import textured

SHAPES = [(1, 1), (4, 9), (5, 5), (33, 17), (64, 64), (480, 640), (600, 800), (768, 1024)]


@pytest.fixture(scope="module")
def native() -> pdq._NativeDihedral:
    found = pdq._native()
    if found is None:
        pytest.skip("pdqhash's C++ entry point is not available here: the wrapper is used")
    return found


@pytest.mark.parametrize("shape", SHAPES)
def test_native_equals_pdqhash_on_noise_and_pictures(
    native: pdq._NativeDihedral, shape: tuple[int, int]
) -> None:
    rng = np.random.default_rng(shape[0] * 1000 + shape[1])
    noise = rng.integers(0, 256, size=(*shape, 3), dtype=np.uint8)
    picture = np.asarray(textured(shape[1], shape[0]).convert("RGB"))
    for rgb in (noise, picture):
        assert native(rgb) == pdq._reference_dihedral(rgb)


def test_native_handles_views_and_one_off_large_buffers(native: pdq._NativeDihedral) -> None:
    picture = np.asarray(textured(1200, 900).convert("RGB"))
    for rgb in (picture[::2, ::3], picture[:, ::-1], picture[100:700, 50:]):
        assert native(rgb) == pdq._reference_dihedral(np.ascontiguousarray(rgb))
    big = np.asarray(textured(2400, 1800).convert("RGB"))  # over the kept-buffer size
    assert native(big) == pdq._reference_dihedral(big)
    assert native(picture) == pdq._reference_dihedral(picture)  # small buffers still fine


def test_pdq_from_array_is_the_reference(native: pdq._NativeDihedral) -> None:
    rgb = np.asarray(textured(300, 200).convert("RGB"))
    hex_, quality, dihedral = pdq.pdq_from_array(rgb)
    assert (dihedral, quality) == pdq._reference_dihedral(rgb)
    assert hex_ == dihedral[0]

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safeguard.hashing import hamming_hex, hex_to_bytes, pdq_from_array, pdq_from_image
from safeguard.hashing.pdq import _reference_dihedral, bits_to_hex

from .conftest import textured


def test_hamming() -> None:
    zero = "0" * 64
    assert hamming_hex(zero, zero) == 0
    assert hamming_hex(zero, "f" * 64) == 256
    assert hamming_hex("0f", "F0") == 8
    assert hamming_hex(" 01 ", "03") == 1


@pytest.mark.parametrize(("a", "b"), [("00", "0000"), ("0g", "00"), ("abc", "abc")])
def test_hamming_rejects_bad_input(a: str, b: str) -> None:
    with pytest.raises(ValueError):
        hamming_hex(a, b)


def test_hex_to_bytes() -> None:
    assert hex_to_bytes("00ff") == b"\x00\xff"
    with pytest.raises(ValueError):
        hex_to_bytes("00 ff")


def test_bits_to_hex_is_msb_first() -> None:
    bits = np.zeros(256, dtype=np.int64)
    bits[0] = 1
    bits[255] = 1
    assert bits_to_hex(bits) == "80" + "00" * 30 + "01"


def test_pdq_from_image_and_array_agree() -> None:
    img = textured(200, 150)
    a = pdq_from_image(img)
    b = pdq_from_array(np.asarray(img))
    assert a == b
    assert a.hex == a.dihedral[0] and len(a.dihedral) == 8 and a.quality > 50
    hex_, quality, dihedral = a  # it is a plain tuple too
    assert len(hex_) == 64 and isinstance(quality, int) and len(dihedral) == 8


def test_pdq_from_array_rejects_wrong_shapes() -> None:
    with pytest.raises(ValueError):
        pdq_from_array(np.zeros((10, 10, 4), dtype=np.uint8))
    with pytest.raises(ValueError):
        pdq_from_array(np.zeros((10, 10), dtype=np.float32))
    with pytest.raises(ValueError):
        pdq_from_array(np.zeros((0, 10), dtype=np.uint8))
    with pytest.raises(ValueError):
        pdq_from_array(np.zeros((0, 10, 3), dtype=np.uint8))


@settings(max_examples=25, deadline=None)
@given(
    height=st.integers(1, 90),
    width=st.integers(1, 90),
    seed=st.integers(0, 2**32 - 1),
)
def test_a_luma_array_hashes_exactly_as_its_rgb_expansion(
    height: int, width: int, seed: int
) -> None:
    grey = np.random.default_rng(seed).integers(0, 256, size=(height, width), dtype=np.uint8)
    rgb = np.repeat(grey[:, :, None], 3, axis=2)
    hashed = pdq_from_array(grey)
    assert hashed == pdq_from_array(rgb)
    # and as pdqhash's own wrapper hashes the RGB expansion (the direct path's reference)
    assert (hashed.dihedral, hashed.quality) == _reference_dihedral(rgb)
    assert _reference_dihedral(grey) == _reference_dihedral(rgb)

"""PDQ hashes of decoded pixels, and Hamming distance between hex hashes."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pdqhash
from PIL import Image

from safeguard.hashing.pixels import rgb_array

PDQ_HEX_LENGTH = 64
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")

#: Order of ``PdqHash.dihedral`` (that of ``pdqhash.compute_dihedral``).
DIHEDRAL_ORDER: tuple[str, ...] = (
    "original",
    "rotate90",
    "rotate180",
    "rotate270",
    "flipx",
    "flipy",
    "flip_plus1",
    "flip_minus1",
)


class PdqHash(NamedTuple):
    """A PDQ hash, its quality (0-100) and the hashes of the eight rotations/flips."""

    hex: str
    quality: int
    dihedral: tuple[str, ...]


def bits_to_hex(bits: np.ndarray) -> str:
    """pdqhash's 256-element bit vector as 64 hex characters, in the reference bit order."""
    return np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes().hex()


def pdq_from_array(rgb: np.ndarray) -> PdqHash:
    """PDQ of an (height, width, 3) ``uint8`` RGB array, with its dihedral variants."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected a (h, w, 3) uint8 array, got {rgb.shape} {rgb.dtype}")
    if rgb.shape[0] == 0 or rgb.shape[1] == 0:
        raise ValueError("cannot hash an empty image")
    # compute_dihedral's first hash is exactly compute()'s, so one call gives all nine facts.
    variants, quality = pdqhash.compute_dihedral(np.ascontiguousarray(rgb))
    dihedral = tuple(bits_to_hex(v) for v in variants)
    return PdqHash(dihedral[0], int(quality), dihedral)


def pdq_from_image(img: Image.Image) -> PdqHash:
    """PDQ of a Pillow image as it is (any mode; no resizing, no EXIF rotation)."""
    return pdq_from_array(rgb_array(img))


def hex_to_bytes(value: str) -> bytes:
    """Hex (any case, surrounding whitespace allowed) to bytes; ValueError if it is not hex."""
    text = value.strip()
    if len(text) % 2:
        raise ValueError(f"hex string has an odd length: {len(text)}")
    if not all(c in _HEX_DIGITS for c in text):
        raise ValueError(f"not a hex string: {value!r}")
    return bytes.fromhex(text)


def hamming_hex(a: str, b: str) -> int:
    """Number of differing bits between two hex hashes of the same length."""
    x, y = hex_to_bytes(a), hex_to_bytes(b)
    if len(x) != len(y):
        raise ValueError(f"hash lengths differ: {len(x) * 2} and {len(y) * 2} hex characters")
    return (int.from_bytes(x, "big") ^ int.from_bytes(y, "big")).bit_count()

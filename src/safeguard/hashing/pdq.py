"""PDQ hashes of decoded pixels, and Hamming distance between hex hashes.

PDQ is computed by the PDQ reference C++ code that the ``pdqhash`` package compiles. Its Python
wrapper, ``pdqhash.compute_dihedral``, spends about a third of its time outside that code on a
12 MP JPEG decoded at reduced scale (float64 luma temporaries, a zeroed scratch image per call,
and 8 x 256 Python ints for the bits). ``pdq_from_array`` calls the same exported C++ function
(``pdqDihedralHash256esFromFloatLuma``) directly through ``ctypes`` with the same float32 luma,
computed the same way in row blocks into reused buffers, and reads the hashes' words directly.
The results are bit for bit those of ``pdqhash.compute_dihedral``: a self-check compares both
on first use and falls back to ``pdqhash`` if they ever differ (or if the symbol is missing, or
``SAFEGUARD_PDQ_NATIVE=0``).
"""

from __future__ import annotations

import ctypes
import os
import threading
from typing import NamedTuple

import numpy as np
import pdqhash
from PIL import Image

from safeguard.domain.orientation import DIHEDRAL_LABELS  # noqa: F401 - re-exported
from safeguard.hashing.pixels import pdq_array

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
    """PDQ of an (height, width, 3) ``uint8`` RGB array, with its dihedral variants.

    A (height, width) ``uint8`` array is taken as luma (greyscale) and hashes exactly as the
    RGB image with that value in every channel.
    """
    grey = rgb.ndim == 2 and rgb.dtype == np.uint8
    if not grey and (rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8):
        raise ValueError(f"expected a (h, w, 3) or (h, w) uint8 array, got {rgb.shape} {rgb.dtype}")
    if rgb.shape[0] == 0 or rgb.shape[1] == 0:
        raise ValueError("cannot hash an empty image")
    native = _native()
    if native is not None:
        dihedral, quality = native(rgb)
    else:
        dihedral, quality = _reference_dihedral(rgb)
    return PdqHash(dihedral[0], quality, dihedral)


def _reference_dihedral(rgb: np.ndarray) -> tuple[tuple[str, ...], int]:
    """The eight hashes and quality through pdqhash's own wrapper."""
    if rgb.ndim == 2:
        rgb = np.repeat(rgb[:, :, None], 3, axis=2)
    # compute_dihedral's first hash is exactly compute()'s, so one call gives all nine facts.
    variants, quality = pdqhash.compute_dihedral(np.ascontiguousarray(rgb))
    return tuple(bits_to_hex(v) for v in variants), int(quality)


#: ``facebook::pdq::hashing::pdqDihedralHash256esFromFloatLuma`` (Itanium C++ ABI name).
_DIHEDRAL_SYMBOL = (
    "_ZN8facebook3pdq7hashing33pdqDihedralHash256esFromFloatLuma"
    "EPfS2_iiPA64_fS4_PA16_fS6_PNS1_7Hash256ES8_S8_S8_S8_S8_S8_S8_Ri"
)
#: Luma weights and expression of ``pdqhash.compute*``: ``r*0.299 + g*0.587 + b*0.114`` in
#: numpy's promotion of uint8 by a Python float (float64), then cast to float32.
_LUMA = (0.299, 0.587, 0.114)
_LUMA_DTYPE = (np.zeros(1, np.uint8) * _LUMA[0]).dtype
#: Rows of luma computed per step (keeps the float64 temporaries in cache).
_BLOCK_ROWS = 32
#: Full-size float32 buffers up to this many pixels are kept between calls (per thread).
_KEEP_PIXELS = 4_000_000


class _NativeDihedral:
    """``pdqhash.compute_dihedral`` through the C++ function it wraps, minus the wrapper."""

    def __init__(self, function: ctypes._CFuncPtr) -> None:
        function.restype = ctypes.c_bool
        function.argtypes = [ctypes.c_void_p] * 2 + [ctypes.c_int] * 2 + [ctypes.c_void_p] * 13
        self._function = function
        self._local = threading.local()

    def _scratch(self, pixels: int, width: int) -> dict[str, np.ndarray]:
        local = self._local
        buffers: dict[str, np.ndarray] | None = getattr(local, "buffers", None)
        if buffers is None:
            buffers = {
                "b64x64": np.empty((64, 64), np.float32),
                "b16x64": np.empty((16, 64), np.float32),
                "b16x16": np.empty((16, 16), np.float32),
                "b16x16aux": np.empty((16, 16), np.float32),
                "hashes": np.empty((8, 16), np.uint16),
                "quality": np.empty(1, np.intc),
                "luma": np.empty(0, np.float32),
                "spare": np.empty(0, np.float32),
                "acc": np.empty(0, _LUMA_DTYPE),
                "term": np.empty(0, _LUMA_DTYPE),
            }
            local.buffers = buffers
        if buffers["acc"].size < _BLOCK_ROWS * width:
            buffers["acc"] = np.empty(_BLOCK_ROWS * width, _LUMA_DTYPE)
            buffers["term"] = np.empty(_BLOCK_ROWS * width, _LUMA_DTYPE)
        if buffers["luma"].size < pixels:
            full = {"luma": np.empty(pixels, np.float32), "spare": np.empty(pixels, np.float32)}
            if pixels > _KEEP_PIXELS:
                return {**buffers, **full}  # a one-off: not kept
            buffers.update(full)
        return buffers

    def __call__(self, rgb: np.ndarray) -> tuple[tuple[str, ...], int]:
        rows, cols = rgb.shape[0], rgb.shape[1]
        b = self._scratch(rows * cols, cols)
        luma = b["luma"][: rows * cols].reshape(rows, cols)
        if rgb.ndim == 2:  # already luma: r*0.299 + g*0.587 + b*0.114 with r = g = b
            luma[...] = rgb
        else:
            _rgb_to_luma(rgb, luma, b["acc"], b["term"])
        hashes = b["hashes"]
        base = hashes.ctypes.data
        self._function(
            luma.ctypes.data,
            b["spare"].ctypes.data,
            rows,
            cols,
            b["b64x64"].ctypes.data,
            b["b16x64"].ctypes.data,
            b["b16x16"].ctypes.data,
            b["b16x16aux"].ctypes.data,
            *(base + 32 * k for k in range(8)),
            b["quality"].ctypes.data,
        )
        # Hash256 holds 16 little-endian words, w[0] least significant; hex is w[15]..w[0].
        raw = hashes[:, ::-1].astype(">u2").tobytes().hex()
        return tuple(raw[64 * k : 64 * (k + 1)] for k in range(8)), int(b["quality"][0])


def _rgb_to_luma(rgb: np.ndarray, luma: np.ndarray, acc: np.ndarray, term: np.ndarray) -> None:
    """pdqhash's float32 luma of ``rgb`` into ``luma``, in row blocks through two scratch
    buffers (float64, at least ``_BLOCK_ROWS`` rows long) kept in cache."""
    rows, cols = rgb.shape[0], rgb.shape[1]
    for top in range(0, rows, _BLOCK_ROWS):
        bottom = min(rows, top + _BLOCK_ROWS)
        n = (bottom - top) * cols
        a = acc[:n].reshape(bottom - top, cols)
        t = term[:n].reshape(bottom - top, cols)
        block = rgb[top:bottom]
        np.multiply(block[:, :, 0], _LUMA[0], out=a, dtype=_LUMA_DTYPE)
        np.multiply(block[:, :, 1], _LUMA[1], out=t, dtype=_LUMA_DTYPE)
        np.add(a, t, out=a)
        np.multiply(block[:, :, 2], _LUMA[2], out=t, dtype=_LUMA_DTYPE)
        np.add(a, t, out=a)
        luma[top:bottom] = a


_native_lock = threading.Lock()
_native_state: list[_NativeDihedral | None] = []


def _native() -> _NativeDihedral | None:
    """The direct path, once it has been found and checked against pdqhash (None: fall back)."""
    if _native_state:
        return _native_state[0]
    with _native_lock:
        if not _native_state:
            _native_state.append(_load_native())
    return _native_state[0]


def _load_native() -> _NativeDihedral | None:
    if os.environ.get("SAFEGUARD_PDQ_NATIVE", "1") == "0":
        return None
    try:
        library = ctypes.CDLL(pdqhash.bindings.__file__)
        native = _NativeDihedral(getattr(library, _DIHEDRAL_SYMBOL))
    except (AttributeError, OSError):
        return None
    rng = np.random.default_rng(20240607)
    samples = []
    for shape in ((61, 97), (150, 40), (64, 64), (4, 9), (300, 257), (90, 70)):
        noise = rng.integers(0, 256, size=(*shape, 3), dtype=np.uint8)
        ramp = np.linspace(0, 255, shape[1], dtype=np.float64)[None, :, None]
        samples.append(np.clip(noise * 0.3 + ramp * 0.7, 0, 255).astype(np.uint8))
    samples[-1] = np.ascontiguousarray(samples[-1][:, :, 0])  # luma: as its RGB expansion
    for sample in samples:
        try:
            if native(sample) != _reference_dihedral(sample):
                return None
        except Exception:  # noqa: BLE001 - any doubt means the reference path
            return None
    return native


def pdq_from_image(img: Image.Image) -> PdqHash:
    """PDQ of a Pillow image as it is (any mode; no resizing, no EXIF rotation)."""
    return pdq_from_array(pdq_array(img))


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

"""Pixel preparation for PDQ: any Pillow mode to 8-bit RGB, and cheap size reduction."""

from __future__ import annotations

import numpy as np
from PIL import Image

#: PDQ reduces every image to 64x64 through a Jarosz (box) filter. Decoding or reducing so that
#: the shorter side stays at least this long keeps the hash within a few bits of a full decode
#: (measured on the bridge vectors: see tests/hashing/test_pdq_conformance.py).
PDQ_MIN_SIDE = 512

_SIXTEEN_BIT = {"I;16", "I;16L", "I;16B", "I;16N"}


def to_8bit(img: Image.Image) -> Image.Image:
    """The image as 8-bit ``L`` or ``RGB``; alpha is dropped (the stored colour is kept)."""
    mode = img.mode
    if mode in ("L", "RGB"):
        return img
    if mode in ("1", "LA"):
        return img.convert("L")
    if mode == "La":
        return img.convert("LA").convert("L")
    if mode in _SIXTEEN_BIT or mode.startswith("I;16"):
        return _array_to_l(scale_to_8bit(np.asarray(img).astype(np.int64)))
    if mode in ("I", "I;32", "I;32L", "I;32B"):
        return _array_to_l(scale_to_8bit(np.asarray(img.convert("I")).astype(np.int64)))
    if mode == "F":
        arr = np.nan_to_num(np.asarray(img, dtype=np.float64))
        if arr.size and float(arr.max()) <= 1.0:
            arr = arr * 255.0
        return _array_to_l(np.rint(arr))
    # P, PA, RGBA, RGBa, RGBX, CMYK, YCbCr, LAB, HSV...: Pillow's own conversion.
    return img.convert("RGB")


def scale_to_8bit(arr: np.ndarray) -> np.ndarray:
    """Integer greyscale of any depth as 0-255, scaled by the values actually present.

    Values already within 0-255 are kept as they are (a 16-bit PNG holding 8-bit values must not
    be shifted down to all zeros, which hashes to a constant); otherwise the range
    ``[min, max]`` is stretched linearly to 0-255 (for data using the whole 16-bit range this is
    the usual ``>> 8``; for 10- or 12-bit data it keeps the detail a fixed shift would lose).
    """
    if arr.size == 0:
        return arr
    low, high = int(arr.min()), int(arr.max())
    if low >= 0 and high <= 255:
        return arr
    if high == low:
        return np.zeros_like(arr)
    return (arr - low) * 255 // (high - low)


def _array_to_l(arr: np.ndarray) -> Image.Image:
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), mode="L")


def reduce_for_pdq(img: Image.Image, min_side: int = PDQ_MIN_SIDE) -> Image.Image:
    """Box-reduce by the largest integer factor that keeps both sides >= ``min_side``."""
    factor = min(img.width // min_side, img.height // min_side)
    return img.reduce(factor) if factor > 1 else img


def pdq_array(img: Image.Image) -> np.ndarray:
    """What PDQ needs of ``img``: (height, width) ``uint8`` luma for greyscale, else RGB.

    PDQ hashes luma only. A greyscale image (including a JPEG decoded straight to luma) gives
    the same hash as its RGB expansion, without three channels to build and fold back.
    """
    img = to_8bit(img)
    if img.mode == "L":
        return np.ascontiguousarray(np.asarray(img, dtype=np.uint8))
    return rgb_array(img)


def rgb_array(img: Image.Image) -> np.ndarray:
    """A C-contiguous ``uint8`` array of shape (height, width, 3) for pdqhash."""
    img = to_8bit(img)
    if img.mode != "RGB":
        img = img.convert("RGB")
    return np.ascontiguousarray(np.asarray(img, dtype=np.uint8))

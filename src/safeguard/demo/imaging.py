"""Encoding, transforms, EXIF and PDQ helpers for the demo corpus (Pillow, numpy, pdqhash)."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
import pdqhash
from PIL import Image

__all__ = [
    "FORMATS",
    "TRANSFORMS",
    "NEAR_DUP_TRANSFORMS",
    "Camera",
    "apply_transform",
    "decode",
    "decodes",
    "encode",
    "hex_to_bits",
    "pdq_dihedral_distance",
    "pdq_hex",
]

#: Picture formats the generator can write, with Pillow's format name and usual extensions.
FORMATS: dict[str, tuple[str, tuple[str, ...]]] = {
    "jpeg": ("JPEG", (".jpg", ".jpeg", ".JPG")),
    "png": ("PNG", (".png",)),
    "gif": ("GIF", (".gif",)),
    "webp": ("WEBP", (".webp",)),
    "bmp": ("BMP", (".bmp",)),
    "tiff": ("TIFF", (".tif", ".tiff")),
}

TRANSFORMS: tuple[str, ...] = (
    "resize",
    "recompress",
    "crop",
    "rotate90",
    "rotate180",
    "rotate270",
    "flip_h",
    "flip_v",
)
NEAR_DUP_TRANSFORMS: tuple[str, ...] = ("resize", "recompress", "crop")

_TRANSPOSE: dict[str, Image.Transpose] = {
    # Pillow rotates counter-clockwise; "rotate90" here means a quarter turn clockwise.
    "rotate90": Image.Transpose.ROTATE_270,
    "rotate180": Image.Transpose.ROTATE_180,
    "rotate270": Image.Transpose.ROTATE_90,
    "flip_h": Image.Transpose.FLIP_LEFT_RIGHT,
    "flip_v": Image.Transpose.FLIP_TOP_BOTTOM,
}


@dataclass(frozen=True)
class Camera:
    """A made-up camera identity written to EXIF (Make, Model, BodySerialNumber)."""

    make: str
    model: str
    serial: str

    @property
    def label(self) -> str:
        return f"{self.make} {self.model} #{self.serial}"

    def exif(self, taken: str) -> Image.Exif:
        """EXIF with this camera and ``taken`` ("YYYY:MM:DD HH:MM:SS") as DateTimeOriginal."""
        exif = Image.Exif()
        exif[0x010F] = self.make  # Make
        exif[0x0110] = self.model  # Model
        ifd = exif.get_ifd(0x8769)  # Exif sub-IFD
        ifd[0x9003] = taken  # DateTimeOriginal
        ifd[0xA431] = self.serial  # BodySerialNumber
        return exif


def encode(
    image: Image.Image, fmt: str, *, quality: int = 90, exif: Image.Exif | None = None
) -> bytes:
    """Encode ``image`` (RGB) as ``fmt`` with fixed, deterministic settings."""
    buf = io.BytesIO()
    pil_format = FORMATS[fmt][0]
    if fmt == "jpeg":
        extra = {"exif": exif} if exif is not None else {}
        image.save(buf, pil_format, quality=quality, optimize=False, progressive=False, **extra)
    elif fmt == "webp":
        image.save(buf, pil_format, quality=quality, method=1)
    elif fmt == "gif":
        image.quantize(256, method=Image.Quantize.FASTOCTREE).save(buf, pil_format)
    elif fmt == "png":
        image.save(buf, pil_format, compress_level=1)
    elif fmt == "tiff":
        image.save(buf, pil_format, compression="tiff_deflate")
    else:
        image.save(buf, pil_format)
    return buf.getvalue()


def decode(data: bytes) -> Image.Image:
    """Fully decode ``data`` to an RGB image; raises on corrupt or truncated input."""
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        return img.convert("RGB")


def decodes(data: bytes) -> bool:
    """True when Pillow can fully decode ``data`` (with its default strictness)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            decode(data)
    except Exception:  # any failure means "does not decode"
        return False
    return True


def apply_transform(image: Image.Image, transform: str, amount: float | None = None) -> Image.Image:
    """Apply one named transform. ``amount``: resize scale or crop border fraction per side.

    "recompress" leaves the pixels alone (the caller re-encodes at a lower quality).
    """
    if transform == "recompress":
        return image.copy()
    if transform == "resize":
        scale = amount if amount is not None else 0.5
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        return image.resize(size, Image.Resampling.LANCZOS)
    if transform == "crop":
        frac = amount if amount is not None else 0.01
        dx, dy = max(1, round(image.width * frac)), max(1, round(image.height * frac))
        return image.crop((dx, dy, image.width - dx, image.height - dy))
    return image.transpose(_TRANSPOSE[transform])


def _bits(image: Image.Image) -> tuple[np.ndarray, int]:
    bits, quality = pdqhash.compute(np.asarray(image.convert("RGB")))
    return bits.astype(np.uint8), int(quality)


def pdq_hex(image: Image.Image) -> tuple[str, int]:
    """PDQ hash (64 hex characters) and quality of ``image``."""
    bits, quality = _bits(image)
    return np.packbits(bits).tobytes().hex(), quality


def hex_to_bits(value: str) -> np.ndarray:
    return np.unpackbits(np.frombuffer(bytes.fromhex(value), dtype=np.uint8))


def pdq_dihedral_distance(image: Image.Image, reference_hex: str) -> int:
    """Smallest Hamming distance between ``reference_hex`` and the 8 dihedral PDQs of ``image``."""
    hashes, _ = pdqhash.compute_dihedral(np.asarray(image.convert("RGB")))
    ref = hex_to_bits(reference_hex)
    return int(min(int((np.asarray(h, dtype=np.uint8) != ref).sum()) for h in hashes))

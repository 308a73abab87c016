"""Decoding policy: modes, frames, reduced-scale decode, and hostile or broken input."""

from __future__ import annotations

import io
import pickle
import random
import struct
import time
import tracemalloc
import zlib

import numpy as np
import pillow_heif
import pytest
from PIL import Image, ImageFile, features

from safeguard.hashing import (
    ImageDecodeError,
    ImageFacts,
    ImageRejected,
    analyse_image,
    hamming_hex,
    pdq_from_image,
)
from safeguard.hashing import images as images_module

from .conftest import encode, textured

PICTURE = textured(320, 240)
BASE = pdq_from_image(PICTURE).hex


def _close(data: bytes, bits: int = 24, **kwargs: object) -> ImageFacts:
    facts = analyse_image(data, **kwargs)  # type: ignore[arg-type]
    assert hamming_hex(facts.pdq, BASE) <= bits, (facts.format, hamming_hex(facts.pdq, BASE))
    return facts


@pytest.mark.parametrize(
    ("fmt", "params"),
    [
        ("PNG", {}),
        ("BMP", {}),
        ("TIFF", {}),
        ("WEBP", {"lossless": True}),
        ("JPEG", {"quality": 95}),
        ("JPEG2000", {}),
    ],
)
def test_formats_hash_like_the_source(fmt: str, params: dict) -> None:
    facts = _close(encode(PICTURE, fmt, **params), bits=16)
    assert (facts.width, facts.height, facts.frames) == (320, 240, 1)
    assert facts.pdq_quality >= 80


def test_heic() -> None:
    if not pillow_heif.libheif_info().get("HEIF"):
        pytest.skip("this libheif has no HEVC encoder")
    facts = _close(encode(PICTURE, "HEIF", quality=95), bits=24)
    assert facts.format == "HEIF" and (facts.width, facts.height) == (320, 240)


def test_avif() -> None:
    if not features.check("avif"):
        pytest.skip("Pillow built without AVIF")
    facts = _close(encode(PICTURE, "AVIF", quality=95), bits=24)
    assert facts.format == "AVIF"


@pytest.mark.parametrize(
    "convert",
    [
        lambda im: im.convert("RGBA"),
        lambda im: im.convert("P", palette=Image.Palette.ADAPTIVE, colors=256),
        lambda im: im.convert("RGBA").convert("P", palette=Image.Palette.ADAPTIVE),
        lambda im: im.convert("LA"),
        lambda im: im.convert("L"),
        lambda im: im.convert("1"),
        lambda im: im.convert("CMYK"),
    ],
    ids=["RGBA", "P", "P-transparent", "LA", "L", "1", "CMYK"],
)
def test_modes_become_rgb(convert) -> None:  # type: ignore[no-untyped-def]
    img = convert(PICTURE)
    fmt = "JPEG" if img.mode == "CMYK" else "TIFF" if img.mode == "1" else "PNG"
    if img.mode == "P":
        fmt = "GIF"
    facts = analyse_image(encode(img, fmt))
    assert facts.width == 320 and len(facts.pdq) == 64
    if img.mode in ("RGBA", "P", "CMYK"):  # colour kept: close to the original
        assert hamming_hex(facts.pdq, BASE) <= 40


def test_sixteen_bit_greyscale_is_scaled_not_clipped() -> None:
    grey = np.asarray(PICTURE.convert("L"), dtype=np.uint16) * 257  # full 16-bit range
    expected = pdq_from_image(PICTURE.convert("L")).hex
    cases = [
        (Image.fromarray(grey), "PNG"),  # I;16
        (Image.fromarray(grey.astype(np.int32)), "TIFF"),  # I holding 16-bit data
        (Image.fromarray(grey.astype(">u2")), "TIFF"),  # I;16B, a big-endian TIFF
    ]
    for img, fmt in cases:
        facts = analyse_image(encode(img, fmt))
        assert hamming_hex(facts.pdq, expected) <= 4, img.mode


def test_float_tiff() -> None:
    arr = np.asarray(PICTURE.convert("L"), dtype=np.float32) / 255.0
    facts = analyse_image(encode(Image.fromarray(arr, "F"), "TIFF"))
    assert hamming_hex(facts.pdq, pdq_from_image(PICTURE.convert("L")).hex) <= 4


@pytest.mark.parametrize("fmt", ["GIF", "WEBP", "PNG", "TIFF"])
def test_animated_first_frame_only(fmt: str) -> None:
    other = textured(320, 240, seed=9)
    data = encode(PICTURE, fmt, save_all=True, append_images=[other, PICTURE], duration=100)
    facts = analyse_image(data)
    assert facts.frames == 3
    assert hamming_hex(facts.pdq, BASE) < hamming_hex(facts.pdq, pdq_from_image(other).hex)
    assert hamming_hex(facts.pdq, BASE) <= 40


def test_exif_orientation_is_not_applied() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    facts = analyse_image(encode(PICTURE, "JPEG", quality=95, exif=exif))
    assert (facts.width, facts.height) == (320, 240)
    assert hamming_hex(facts.pdq, BASE) <= 16  # the stored pixels, unrotated


def test_large_jpeg_decodes_at_reduced_scale(monkeypatch: pytest.MonkeyPatch) -> None:
    shapes: list[tuple[int, ...]] = []
    real = images_module.pdq_from_array
    monkeypatch.setattr(
        images_module, "pdq_from_array", lambda a: shapes.append(a.shape) or real(a)
    )
    data = encode(PICTURE.resize((3000, 2100)), "JPEG", quality=85)
    facts = analyse_image(data)
    analyse_image(data, draft=False)
    assert (facts.width, facts.height) == (3000, 2100)
    drafted, full = shapes
    assert drafted[:2] == (525, 750)  # libjpeg 1/4 scale: both sides still >= 512
    assert full[:2] == (2100, 3000)


def test_small_images_are_not_reduced(monkeypatch: pytest.MonkeyPatch) -> None:
    shapes: list[tuple[int, ...]] = []
    real = images_module.pdq_from_array
    monkeypatch.setattr(
        images_module, "pdq_from_array", lambda a: shapes.append(a.shape) or real(a)
    )
    analyse_image(encode(PICTURE.resize((1000, 700)), "JPEG"))
    analyse_image(encode(PICTURE.resize((3000, 600)), "PNG", compress_level=1))
    assert [s[:2] for s in shapes] == [(700, 1000), (600, 3000)]


def test_accepts_a_stream_and_results_pickle() -> None:
    facts = analyse_image(io.BytesIO(encode(PICTURE, "PNG")))
    assert pickle.loads(pickle.dumps(facts)) == facts


# --- hostile and broken input ------------------------------------------------------------------


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def huge_png(width: int = 100_000, height: int = 100_000) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + _png_chunk(b"IEND", b"")
    )


def jpeg_declaring(width: int, height: int) -> bytes:
    """A real 16x16 baseline JPEG whose SOF0 header is patched to declare another size."""
    data = bytearray(encode(Image.new("RGB", (16, 16), (90, 120, 150)), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


@pytest.mark.parametrize(
    ("data", "dims"),
    [(huge_png(), "100000x100000"), (jpeg_declaring(65000, 65000), "65000x65000")],
    ids=["png-100000", "jpeg-65000"],
)
def test_enormous_declared_dimensions_are_rejected_before_decoding(data: bytes, dims: str) -> None:
    tracemalloc.start()
    try:
        started = time.perf_counter()
        with pytest.raises(ImageRejected, match=dims):
            analyse_image(data)
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert elapsed < 1.0
    assert peak < 1_000_000


def test_pillow_limit_is_restored() -> None:
    before = Image.MAX_IMAGE_PIXELS
    with pytest.raises(ImageRejected):
        analyse_image(huge_png())
    analyse_image(encode(PICTURE, "PNG"))
    assert before == Image.MAX_IMAGE_PIXELS


def test_max_pixels_is_the_callers_limit() -> None:
    data = encode(PICTURE, "PNG")
    with pytest.raises(ImageRejected, match="320x240"):
        analyse_image(data, max_pixels=320 * 240 - 1)
    assert analyse_image(data, max_pixels=320 * 240).width == 320


def test_big_declared_jpeg_under_the_limit_decodes_small() -> None:
    """15000x15000 (225 Mpx) is allowed; the 1/8 draft decode keeps memory small. The scan
    holds only 16x16 pixels, which libjpeg pads: Pillow does not call that truncated."""
    facts = analyse_image(jpeg_declaring(15000, 15000))
    assert (facts.width, facts.height) == (15000, 15000)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "WEBP", "TIFF", "BMP"])
@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_truncated_files_are_errors(fmt: str, keep: float) -> None:
    data = encode(Image.effect_noise((300, 200), 60).convert("RGB"), fmt)
    assert not ImageFile.LOAD_TRUNCATED_IMAGES
    with pytest.raises(ImageDecodeError):
        analyse_image(data[: int(len(data) * keep)])


def _noise(n: int) -> bytes:
    """Junk that is the same on every run (a test that fails must fail again)."""
    return random.Random(n).randbytes(n)


@pytest.mark.parametrize(
    "data",
    [
        b"\xff\xd8\xff" + _noise(4000),
        b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 8,
        b"\x89PNG\r\n\x1a\n" + _noise(200),
        b"GIF89a\x0a\x00\x0a\x00" + _noise(100),  # 10x10, then junk (not random sizes)
        b"RIFF\x00\x01\x00\x00WEBPVP8 " + _noise(300),
        b"II*\x00" + _noise(300),
        b"",
        b"not an image at all",
        b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n",  # never handed to Ghostscript
    ],
    ids=[
        "jpeg-random",
        "jpeg-jfif-junk",
        "png-random",
        "gif",
        "webp",
        "tiff",
        "empty",
        "text",
        "eps",
    ],
)
def test_garbage_is_a_decode_error(data: bytes) -> None:
    with pytest.raises(ImageDecodeError):
        analyse_image(data)


def test_errors_pickle_and_read_well() -> None:
    with pytest.raises(ImageDecodeError) as info:
        analyse_image(encode(PICTURE, "JPEG")[:400])
    error = pickle.loads(pickle.dumps(info.value))
    assert isinstance(error, ImageDecodeError)
    assert str(error) == str(info.value) and "JPEG" in str(error)


def test_non_seekable_stream() -> None:
    class OneWay(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self._io = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def,override]
            return self._io.readinto(buffer)

    data = encode(PICTURE, "PNG")
    assert analyse_image(OneWay(data)) == analyse_image(data)  # type: ignore[arg-type]

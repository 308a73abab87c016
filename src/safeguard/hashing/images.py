"""Decode one image safely and compute its PDQ hashes and EXIF facts.

Policy:

* The header is read first (``Image.open`` is lazy) and an image that declares more than
  ``max_pixels`` pixels is rejected before any pixel is decoded.
* JPEG (and MPO) decode at reduced scale through libjpeg's DCT scaling (``Image.draft``), at the
  smallest scale that keeps both sides >= 512 px. PDQ boxes the image down to 64x64 anyway;
  keeping 512 px keeps the hash within a few bits of a full decode while decoding up to 64 times
  fewer pixels. Other formats decode in full and are then box-reduced (``Image.reduce``) by the
  same rule before hashing.
* The stored pixels are hashed as decoded. EXIF orientation is NOT applied, like the PDQ
  reference hasher; matching checks the eight dihedral variants, which cover any orientation.
  (HEIF transforms, which are part of the HEIF image itself, are applied by the decoder.)
* A picture without detail gets no PDQ hash at all (``pdq`` None, quality 0): a constant hash
  (every bit equal) or one of quality 0 (the bits of a flat picture are rounding noise) can never
  be a meaningful match and is never stored silently.
* 16-bit and 32-bit greyscale is scaled to 8 bits by the values actually present
  (``pixels.scale_to_8bit``), so a 16-bit PNG holding 0-255 is not shifted to all zeros.
* Alpha is dropped, palette/greyscale/CMYK/16-bit pixels become 8-bit RGB, and only the first
  frame of an animated or multi-page image is hashed (``ImageFacts.frames`` says how many).
* A truncated or corrupt file is an error (``ImageDecodeError``), never silently padded:
  ``ImageFile.LOAD_TRUNCATED_IMAGES`` is left alone.
* Only the formats listed in ``ALLOWED_FORMATS`` are opened (no EPS/PostScript, which Pillow
  hands to Ghostscript).

Thread safety: ``analyse_image`` briefly sets ``Image.MAX_IMAGE_PIXELS`` and the warning filters,
which are process-wide. Ingest runs it in worker processes; do not run it from several threads
with different ``max_pixels``.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO

import pillow_heif
from PIL import Image

from safeguard.domain.kinds import MediaKind
from safeguard.hashing import timing
from safeguard.hashing.exif import read_exif
from safeguard.hashing.facts import ImageDecodeError, ImageFacts, ImageRejected
from safeguard.hashing.pdq import pdq_from_array
from safeguard.hashing.pixels import PDQ_MIN_SIDE, pdq_array, reduce_for_pdq, to_8bit
from safeguard.hashing.previews import exif_orientation, preview_jpegs
from safeguard.hashing.sniff import HEAD_SIZE, sniff

pillow_heif.register_heif_opener()

DEFAULT_MAX_PIXELS = 250_000_000

#: Pillow formats ``analyse_image`` will open (those this Pillow build has).
Image.init()
ALLOWED_FORMATS: tuple[str, ...] = tuple(
    f
    for f in ("JPEG", "MPO", "PNG", "GIF", "WEBP", "BMP", "DIB", "TIFF", "HEIF", "AVIF")
    + ("JPEG2000", "PSD")
    if f in Image.OPEN
)

_DRAFT_FORMATS = {"JPEG", "MPO"}
#: A JPEG held in memory is handed to libjpeg in one block of up to this many bytes, rather than
#: Pillow's 64 KiB ones: libjpeg's suspending source then never backs up to re-decode a partial
#: MCU row at a block boundary (about 9% of a 12 MP decode; the same pixels). A JPEG that fails
#: to decode so is decoded again in the usual blocks, so that even the error message is the
#: usual one (it counts the bytes left in the last block).
_JPEG_BLOCK_MAX = 64 * 1024 * 1024


class _DecodeAgainInSmallBlocks(Exception):
    """Decoding with one large block failed: redo it the usual way for the usual outcome."""


def analyse_image(
    data: bytes | bytearray | memoryview | BinaryIO,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    draft: bool = True,
    previews: bool = False,
) -> ImageFacts:
    """Decode one image and compute its PDQ hash, quality, dihedral hashes and EXIF facts.

    ``draft=False`` decodes JPEGs at full scale and skips the reduction (slower; used to check
    that the fast path stays within a few bits). Raises ``ImageRejected`` for an image that
    declares more than ``max_pixels`` pixels and ``ImageDecodeError`` for anything that cannot
    be decoded. ``previews=True`` also makes the review previews (``ImageFacts.previews``) from
    the same decode; JPEGs are then decoded in colour (at the same reduced scale).
    """
    block = 0
    if isinstance(data, bytes | bytearray | memoryview):
        stream: BinaryIO = io.BytesIO(data)
        block = len(data)
    elif not _seekable(data):
        stream = io.BytesIO(data.read())  # Pillow seeks while it reads headers
    else:
        stream = data
    try:
        return _analyse_stream(stream, max_pixels, draft, block, previews)
    except _DecodeAgainInSmallBlocks:  # only ever for data in memory (block > 0)
        return _analyse_stream(io.BytesIO(data), max_pixels, draft, 0, previews)  # type: ignore[arg-type]


def _analyse_stream(
    stream: BinaryIO, max_pixels: int, draft: bool, block: int, previews: bool = False
) -> ImageFacts:
    started = timing.now()
    with pixel_limit(None):
        img = _open(stream, _sniffed_format(stream))
    timing.add("decode", started)
    try:
        width, height = img.size
        fmt = img.format or "UNKNOWN"
        if width <= 0 or height <= 0:
            raise ImageDecodeError(f"{fmt} image declares an empty size {width}x{height}")
        if width * height > max_pixels:
            raise ImageRejected(
                f"{fmt} image declares {width}x{height} = {width * height:,} pixels, "
                f"over the limit of {max_pixels:,}; not decoded"
            )
        with pixel_limit(max_pixels):
            return _analyse_open(img, fmt, width, height, draft, block, previews)
    finally:
        img.close()


def _seekable(stream: BinaryIO) -> bool:
    try:
        return bool(stream.seekable())
    except Exception:
        return False


def _sniffed_format(stream: BinaryIO) -> str:
    """What the magic bytes say ("JPEG "), for error messages; the stream is left in place."""
    try:
        pos = stream.tell()
        head = stream.read(HEAD_SIZE)
        stream.seek(pos)
    except Exception:
        return ""
    found = sniff(head)
    return f"{found.format} " if found.kind is MediaKind.IMAGE else ""


def _open(stream: BinaryIO, sniffed: str) -> Image.Image:
    try:
        return Image.open(stream, formats=ALLOWED_FORMATS)
    except Image.UnidentifiedImageError as exc:
        raise ImageDecodeError(
            f"not a {sniffed}image Pillow can identify (corrupt or unsupported header)"
        ) from exc
    except Exception as exc:
        raise ImageDecodeError(f"cannot read {sniffed}image header: {_describe(exc)}") from exc


def uses_reduced_decode(fmt: str, width: int, height: int) -> bool:
    """Whether a picture is decoded at reduced scale (the fast path) rather than exactly.

    Only JPEGs large enough for libjpeg's DCT scaling to apply (shorter side >= 1024, so that
    the reduced picture keeps >= 512 px) take it. Smaller JPEGs decode in full and in colour, as
    the PDQ reference does: there the fast path saved little time and cost up to 8 bits (a
    straight-to-luma decode differs from RGB->luma on small, high-quality JPEGs; see
    docs/performance.md for the measured distribution).
    """
    return fmt in _DRAFT_FORMATS and min(width, height) >= 2 * PDQ_MIN_SIDE


def _analyse_open(
    img: Image.Image,
    fmt: str,
    width: int,
    height: int,
    draft: bool,
    block: int = 0,
    previews: bool = False,
) -> ImageFacts:
    started = timing.now()
    frames = _frames(img)  # before load: counting GIF frames seeks back to frame 0
    large_block = False
    try:
        if fmt in _DRAFT_FORMATS and min(block, _JPEG_BLOCK_MAX) > img.decodermaxblock:
            img.decodermaxblock = min(block, _JPEG_BLOCK_MAX)
            large_block = True
        if draft and uses_reduced_decode(fmt, width, height):
            # Luma only when no previews are wanted (PDQ needs no more): libjpeg skips the
            # chroma IDCT, upsampling and colour conversion; CMYK JPEGs stay CMYK. With
            # previews, colour at the same scale: one decode serves both.
            img.draft("RGB" if previews else "L", (PDQ_MIN_SIDE, PDQ_MIN_SIDE))
        img.load()
        pixels = to_8bit(img)
        if draft:
            pixels = reduce_for_pdq(pixels)
        started = timing.add("decode", started)
        made: tuple[bytes, bytes] | None = None
        if previews:
            made = preview_jpegs(pixels, exif_orientation(img))
            started = timing.add("previews", started)
        array = pdq_array(pixels)
        started = timing.add("pixels", started)
        del pixels
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected(f"{fmt} image rejected while decoding: {exc}") from exc
    except MemoryError as exc:
        raise ImageRejected(f"{fmt} image {width}x{height} does not fit in memory") from exc
    except Exception as exc:
        if large_block:
            raise _DecodeAgainInSmallBlocks from exc
        raise ImageDecodeError(f"cannot decode {fmt} image: {_describe(exc)}") from exc
    started = timing.now()
    exif = read_exif(img)  # after load: a PNG's eXIf chunk may follow its pixel data
    started = timing.add("exif", started)
    try:
        pdq = pdq_from_array(array)
    except Exception as exc:
        raise ImageDecodeError(f"cannot hash {fmt} image: {_describe(exc)}") from exc
    finally:
        timing.add("pdq", started)
    constant = is_constant_hash(pdq.hex) or pdq.quality == 0
    return ImageFacts(
        width=width,
        height=height,
        format=fmt,
        pdq=None if constant else pdq.hex,
        pdq_quality=0 if constant else pdq.quality,
        pdq_dihedral=() if constant else pdq.dihedral,
        exif=exif,
        frames=frames,
        previews=made,
    )


def is_constant_hash(pdq: str) -> bool:
    """A PDQ hash whose bits are all equal: what a picture without detail (one flat value) gives.

    Such a hash says nothing about the picture and would match every other flat picture, so it
    is never stored (the item is then "not perceptually matchable" in the report).
    """
    return pdq.strip("0") == "" or pdq.strip("f") == ""


def _frames(img: Image.Image) -> int:
    try:
        return max(1, int(getattr(img, "n_frames", 1)))
    except Exception:
        return 1
    finally:
        try:
            if img.tell() != 0:
                img.seek(0)
        except Exception:
            pass


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@contextmanager
def pixel_limit(max_pixels: int | None) -> Iterator[None]:
    """Pillow's pixel limit set to ``max_pixels`` (None: off) with its bomb warning as an error.

    Other Pillow warnings (corrupt EXIF and the like) are silenced: the outcome is recorded
    through the result or the exception instead.
    """
    saved = Image.MAX_IMAGE_PIXELS
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        Image.MAX_IMAGE_PIXELS = max_pixels
        try:
            yield
        finally:
            Image.MAX_IMAGE_PIXELS = saved

"""Review previews made from the picture the ingest worker has already decoded.

The worker decodes each picture once (JPEGs in colour at the reduced scale PDQ uses, at least
512 px on the shorter side); the same pixels give the review previews, so nothing is read,
digested or decoded a second time: a colour "thumb" (at most 320 px) and "full" view (at most
1024 px), JPEG, upright as the file's EXIF orientation says. The blurred greyscale version is
derived from the thumb when a reviewer's page asks for it (``review.previews.blurred``).
"""

from __future__ import annotations

import io

from PIL import Image

THUMB_PX = 320
FULL_PX = 1024
#: JPEG quality of the previews. Pillow's ``optimize`` (a second Huffman pass) is left off: it
#: makes the files a few percent smaller for a noticeable share of the worker's time.
QUALITY = 85

#: EXIF orientation (1-8) -> the transposes that make the picture upright.
_UPRIGHT: dict[int, tuple[Image.Transpose, ...]] = {
    2: (Image.Transpose.FLIP_LEFT_RIGHT,),
    3: (Image.Transpose.ROTATE_180,),
    4: (Image.Transpose.FLIP_TOP_BOTTOM,),
    5: (Image.Transpose.TRANSPOSE,),
    6: (Image.Transpose.ROTATE_270,),
    7: (Image.Transpose.TRANSVERSE,),
    8: (Image.Transpose.ROTATE_90,),
}


def _jpeg(image: Image.Image, quality: int = QUALITY) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def exif_orientation(img: Image.Image) -> int:
    """The EXIF orientation tag of an opened picture (1, upright, when absent or unreadable)."""
    try:
        value = int(img.getexif().get(0x0112, 1))
    except Exception:  # noqa: BLE001 - a broken EXIF block only loses the rotation
        return 1
    return value if value in range(1, 9) else 1


def preview_jpegs(
    image: Image.Image,
    orientation: int = 1,
    thumb_px: int = THUMB_PX,
    full_px: int = FULL_PX,
) -> tuple[bytes, bytes]:
    """(thumb, full) colour JPEGs of an already decoded picture, turned upright."""
    if image.mode != "RGB":
        image = image.convert("RGB")
    for step in _UPRIGHT.get(orientation, ()):
        image = image.transpose(step)
    full = image.copy()  # thumbnail() works in place; the caller still hashes ``image``
    full.thumbnail((full_px, full_px), Image.Resampling.LANCZOS)
    full_jpeg = _jpeg(full)
    thumb = full.copy()
    thumb.thumbnail((thumb_px, thumb_px), Image.Resampling.LANCZOS)
    return _jpeg(thumb), full_jpeg

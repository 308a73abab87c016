"""Provenance metadata (camera, serial, time taken, GPS) from EXIF. Never raises."""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Any

from PIL import Image

from safeguard.hashing.facts import ExifFacts

# Tags (EXIF 2.32 / TIFF 6.0).
MAKE, MODEL, CAMERA_SERIAL_DNG = 0x010F, 0x0110, 0xC62F
EXIF_IFD, GPS_IFD = 0x8769, 0x8825
DATETIME_ORIGINAL, DATETIME_DIGITIZED = 0x9003, 0x9004
OFFSET_TIME_ORIGINAL, OFFSET_TIME_DIGITIZED = 0x9011, 0x9012
BODY_SERIAL = 0xA431
GPS_LAT_REF, GPS_LAT, GPS_LON_REF, GPS_LON = 1, 2, 3, 4

_MAX_TEXT = 256
_OFFSET = re.compile(r"^[+-]\d{2}:\d{2}$")


def read_exif(img: Image.Image) -> ExifFacts:
    """Camera make/model/serial, date taken and GPS position from an opened image.

    Reads IFD0, the Exif IFD (0x8769) and the GPS IFD (0x8825). Garbage, missing or out-of-range
    values give None for that field; nothing here raises.
    """
    try:
        exif = img.getexif()
    except Exception:
        return ExifFacts()
    ifd0 = _safe(lambda: dict(exif.items()), {})
    exif_ifd = _safe(lambda: dict(exif.get_ifd(EXIF_IFD)), {})
    gps_ifd = _safe(lambda: dict(exif.get_ifd(GPS_IFD)), {})
    lat, lon = _gps(gps_ifd)
    return ExifFacts(
        make=_text(ifd0.get(MAKE)),
        model=_text(ifd0.get(MODEL)),
        serial=_text(exif_ifd.get(BODY_SERIAL)) or _text(ifd0.get(CAMERA_SERIAL_DNG)),
        date_taken=_date(exif_ifd.get(DATETIME_ORIGINAL), exif_ifd.get(OFFSET_TIME_ORIGINAL))
        or _date(exif_ifd.get(DATETIME_DIGITIZED), exif_ifd.get(OFFSET_TIME_DIGITIZED)),
        gps_lat=lat,
        gps_lon=lon,
    )


def _safe(fn: Any, default: Any) -> Any:
    try:
        return fn()
    except Exception:
        return default


def _text(value: object) -> str | None:
    """A clean, printable string from an ASCII/UTF-8 tag value, or None."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    text = "".join(c for c in value.split("\x00", 1)[0] if c.isprintable()).strip()
    return text[:_MAX_TEXT] or None


def _date(value: object, offset: object = None) -> str | None:
    """EXIF "YYYY:MM:DD HH:MM:SS" as ISO 8601 ("YYYY-MM-DDTHH:MM:SS[+HH:MM]"), or None."""
    text = _text(value)
    if not text:
        return None
    try:
        when = datetime.strptime(text[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    iso = when.isoformat()
    zone = _text(offset)
    if zone and _OFFSET.match(zone):
        iso += zone
    return iso


def _gps(gps: dict) -> tuple[float | None, float | None]:
    lat = _coordinate(gps.get(GPS_LAT), gps.get(GPS_LAT_REF), "S", 90.0)
    lon = _coordinate(gps.get(GPS_LON), gps.get(GPS_LON_REF), "W", 180.0)
    if lat is None or lon is None:
        return None, None  # half a position is not a position
    return lat, lon


def _coordinate(value: object, ref: object, negative: str, limit: float) -> float | None:
    try:
        parts = [float(p) for p in value]  # type: ignore[union-attr]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if not 1 <= len(parts) <= 3 or not all(math.isfinite(p) and p >= 0 for p in parts):
        return None
    degrees = sum(p / 60**i for i, p in enumerate(parts))
    if degrees > limit:
        return None
    ref_text = (_text(ref) or "").upper()
    if ref_text.startswith(negative):
        degrees = -degrees
    return round(degrees, 7)

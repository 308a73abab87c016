"""EXIF provenance read back from images written here with Pillow's Exif object."""

from __future__ import annotations

import pillow_heif
import pytest
from PIL import Image
from PIL.TiffImagePlugin import IFDRational

from safeguard.hashing import ExifFacts, analyse_image, read_exif
from safeguard.hashing.exif import (
    BODY_SERIAL,
    CAMERA_SERIAL_DNG,
    DATETIME_DIGITIZED,
    DATETIME_ORIGINAL,
    EXIF_IFD,
    GPS_IFD,
    MAKE,
    MODEL,
    OFFSET_TIME_ORIGINAL,
)

from .conftest import encode, textured


def _exif(
    *,
    lat: tuple = (51, 30, 26.4),
    lat_ref: str = "N",
    lon: tuple = (0, 7, 39.0),
    lon_ref: str = "W",
    extra_exif: dict | None = None,
) -> Image.Exif:
    exif = Image.Exif()
    exif[MAKE] = "BenignCam"
    exif[MODEL] = "Model 7\x00\x00"
    sub = exif.get_ifd(EXIF_IFD)
    sub[BODY_SERIAL] = "SN-0042"
    sub[DATETIME_ORIGINAL] = "2021:06:01 10:20:30"
    sub.update(extra_exif or {})
    gps = exif.get_ifd(GPS_IFD)
    gps[1], gps[2] = lat_ref, tuple(IFDRational(v) for v in lat)
    gps[3], gps[4] = lon_ref, tuple(IFDRational(v) for v in lon)
    return exif


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "HEIF"])
def test_round_trip(fmt: str) -> None:
    if fmt == "HEIF" and not pillow_heif.libheif_info().get("HEIF"):
        pytest.skip("this libheif has no HEVC encoder")
    data = encode(textured(96, 64), fmt, exif=_exif())
    facts = analyse_image(data).exif
    assert facts == ExifFacts(
        make="BenignCam",
        model="Model 7",
        serial="SN-0042",
        date_taken="2021-06-01T10:20:30",
        gps_lat=pytest.approx(51.5073333, abs=1e-6),
        gps_lon=pytest.approx(-0.1275, abs=1e-6),
    )


def test_tiff_ifd0_tags() -> None:
    # Pillow's TIFF writer keeps only IFD0 of an Exif object, so only make/model survive.
    facts = analyse_image(encode(textured(96, 64), "TIFF", exif=_exif())).exif
    assert (facts.make, facts.model) == ("BenignCam", "Model 7")


def test_offset_and_southern_eastern_hemisphere() -> None:
    exif = _exif(
        lat=(33, 52, 4.0),
        lat_ref="S",
        lon=(151, 12, 36.0),
        lon_ref="E",
        extra_exif={OFFSET_TIME_ORIGINAL: "+10:00"},
    )
    facts = analyse_image(encode(textured(96, 64), "JPEG", exif=exif)).exif
    assert facts.date_taken == "2021-06-01T10:20:30+10:00"
    assert facts.gps_lat == pytest.approx(-33.8677778, abs=1e-6)
    assert facts.gps_lon == pytest.approx(151.21, abs=1e-6)


def test_digitized_time_and_dng_serial_are_fallbacks() -> None:
    exif = Image.Exif()
    exif[CAMERA_SERIAL_DNG] = "DNG-1"
    exif.get_ifd(EXIF_IFD)[DATETIME_DIGITIZED] = "2020:01:02 03:04:05"
    facts = analyse_image(encode(textured(64, 64), "JPEG", exif=exif)).exif
    assert (facts.serial, facts.date_taken) == ("DNG-1", "2020-01-02T03:04:05")


def test_no_exif_gives_nones() -> None:
    facts = analyse_image(encode(textured(64, 64), "PNG")).exif
    assert facts == ExifFacts() and facts.empty


@pytest.mark.parametrize(
    ("tag_values", "gps"),
    [
        ({DATETIME_ORIGINAL: "0000:00:00 00:00:00"}, {}),
        ({DATETIME_ORIGINAL: "yesterday"}, {}),
        ({DATETIME_ORIGINAL: 12345}, {}),
        (
            {},
            {
                1: "N",
                2: (IFDRational(95), IFDRational(0), IFDRational(0)),
                3: "E",
                4: (IFDRational(1), IFDRational(0), IFDRational(0)),
            },
        ),
        (
            {},
            {
                1: "N",
                2: (IFDRational(1, 0), IFDRational(0), IFDRational(0)),
                3: "E",
                4: (IFDRational(1), IFDRational(0), IFDRational(0)),
            },
        ),
        ({}, {1: "N", 2: (IFDRational(51), IFDRational(0), IFDRational(0))}),  # no longitude
    ],
)
def test_garbage_values_become_none(tag_values: dict, gps: dict) -> None:
    exif = Image.Exif()
    exif[MAKE] = "\x00\x00"
    exif.get_ifd(EXIF_IFD).update(tag_values)
    exif.get_ifd(GPS_IFD).update(gps)
    data = encode(textured(64, 64), "JPEG", exif=exif)
    facts = analyse_image(data).exif
    assert facts.make is None and facts.date_taken is None
    assert facts.gps_lat is None and facts.gps_lon is None


def test_corrupt_exif_block_never_raises() -> None:
    for blob in (
        b"Exif\x00\x00" + b"\xff" * 40,
        b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\xff\xff",
        b"garbage",
    ):
        data = encode(textured(64, 64), "JPEG", exif=blob)
        facts = analyse_image(data)
        assert facts.exif == ExifFacts()


class _Fake:
    def __init__(self, exif: Image.Exif) -> None:
        self._exif = exif

    def getexif(self) -> Image.Exif:
        return self._exif


def test_values_that_cannot_even_be_written_become_none() -> None:
    exif = Image.Exif()
    exif[MAKE] = b"Bytes\x00Cam"
    exif[MODEL] = ("not", "text")
    exif.get_ifd(EXIF_IFD)[BODY_SERIAL] = 42
    exif.get_ifd(EXIF_IFD)[DATETIME_ORIGINAL] = b"2021:06:01 10:20:30"
    gps = exif.get_ifd(GPS_IFD)
    gps.update({1: "N", 2: "fifty", 3: None, 4: (float("nan"), 1, 2)})
    facts = read_exif(_Fake(exif))  # type: ignore[arg-type]
    assert facts == ExifFacts(make="Bytes", date_taken="2021-06-01T10:20:30")


def test_read_exif_on_object_without_exif() -> None:
    class Broken:
        def getexif(self) -> None:
            raise RuntimeError("boom")

    assert read_exif(Broken()) == ExifFacts()  # type: ignore[arg-type]

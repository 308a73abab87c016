"""Type sniffing from magic bytes, on files generated here (Pillow, pillow-heif, PyAV)."""

from __future__ import annotations

import gzip
import io
import struct
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image, features

from safeguard.domain.kinds import MediaKind
from safeguard.hashing import HEAD_SIZE, analyse_file, sniff

from .conftest import encode, textured

IMAGE, VIDEO, OTHER = MediaKind.IMAGE, MediaKind.VIDEO, MediaKind.OTHER


@pytest.fixture(scope="module")
def small() -> Image.Image:
    return textured(64, 48)


@pytest.mark.parametrize(
    ("fmt", "params", "mime", "name"),
    [
        ("JPEG", {}, "image/jpeg", "JPEG"),
        ("PNG", {}, "image/png", "PNG"),
        ("GIF", {}, "image/gif", "GIF"),
        ("WEBP", {}, "image/webp", "WEBP"),
        ("WEBP", {"lossless": True}, "image/webp", "WEBP"),
        ("BMP", {}, "image/bmp", "BMP"),
        ("TIFF", {}, "image/tiff", "TIFF"),
        ("JPEG2000", {}, "image/jp2", "JPEG2000"),
    ],
)
def test_pillow_formats(small: Image.Image, fmt: str, params: dict, mime: str, name: str) -> None:
    got = sniff(encode(small, fmt, **params)[:HEAD_SIZE])
    assert (got.mime, got.kind, got.format) == (mime, IMAGE, name)


def test_tiff_both_byte_orders() -> None:
    little = encode(Image.new("L", (8, 8)), "TIFF")
    big = encode(Image.new("I;16B", (8, 8)), "TIFF")  # Pillow writes I;16B big-endian
    assert little[:4] == b"II*\x00" and big[:4] == b"MM\x00*"
    assert sniff(little).format == sniff(big).format == "TIFF"
    assert sniff(big).kind is IMAGE


def test_heic_written_by_pillow_heif(small: Image.Image) -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    if not pillow_heif.libheif_info().get("HEIF"):
        pytest.skip("this libheif has no HEVC encoder")
    pillow_heif.register_heif_opener()
    data = encode(small, "HEIF", quality=90)
    got = sniff(data)
    assert (got.mime, got.kind, got.format) == ("image/heic", IMAGE, "HEIC")


def test_avif_written_by_pillow(small: Image.Image) -> None:
    if not features.check("avif"):
        pytest.skip("Pillow built without AVIF")
    got = sniff(encode(small, "AVIF"))
    assert (got.mime, got.kind, got.format) == ("image/avif", IMAGE, "AVIF")


def _ftyp(major: bytes, *compatible: bytes) -> bytes:
    body = major + b"\x00\x00\x00\x00" + b"".join(compatible)
    return struct.pack(">I", 8 + len(body)) + b"ftyp" + body + b"\x00\x00\x00\x08free"


@pytest.mark.parametrize(
    ("head", "mime", "kind", "name"),
    [
        (_ftyp(b"heic", b"mif1", b"heic"), "image/heic", IMAGE, "HEIC"),
        (_ftyp(b"heix", b"mif1"), "image/heic", IMAGE, "HEIC"),
        (_ftyp(b"mif1", b"mif1", b"heic"), "image/heic", IMAGE, "HEIC"),
        (_ftyp(b"mif1", b"mif1", b"miaf"), "image/heif", IMAGE, "HEIF"),
        (_ftyp(b"msf1", b"msf1"), "image/heif-sequence", IMAGE, "HEIF"),
        (_ftyp(b"avif", b"avif", b"mif1", b"miaf"), "image/avif", IMAGE, "AVIF"),
        (_ftyp(b"mif1", b"avif", b"mif1"), "image/avif", IMAGE, "AVIF"),
        (_ftyp(b"isom", b"isom", b"iso2", b"avc1", b"mp41"), "video/mp4", VIDEO, "MP4"),
        (_ftyp(b"mp42", b"mp42", b"isom"), "video/mp4", VIDEO, "MP4"),
        (_ftyp(b"mp41"), "video/mp4", VIDEO, "MP4"),
        (_ftyp(b"qt  ", b"qt  "), "video/quicktime", VIDEO, "MOV"),
        (_ftyp(b"3gp5", b"3gp5", b"isom"), "video/3gpp", VIDEO, "3GP"),
        (_ftyp(b"3g2a", b"3g2a"), "video/3gpp2", VIDEO, "3G2"),
        (_ftyp(b"M4V ", b"M4V ", b"M4A ", b"mp42"), "video/x-m4v", VIDEO, "M4V"),
        (_ftyp(b"isom", b"M4V "), "video/x-m4v", VIDEO, "M4V"),
        (_ftyp(b"M4A ", b"M4A ", b"mp42", b"isom"), "audio/mp4", OTHER, "M4A"),
        (_ftyp(b"XAVC", b"XAVC", b"mp42"), "video/mp4", VIDEO, "MP4"),
        (b"\x00\x00\x00\x20moov" + b"\x00" * 24, "video/quicktime", VIDEO, "MOV"),
    ],
)
def test_iso_bmff_brands(head: bytes, mime: str, kind: MediaKind, name: str) -> None:
    got = sniff(head)
    assert (got.mime, got.kind, got.format) == (mime, kind, name)


def _ebml(doctype: bytes | None) -> bytes:
    body = b"\x42\x86\x81\x01\x42\xf7\x81\x01"
    if doctype is not None:
        body += b"\x42\x82" + bytes([0x80 | len(doctype)]) + doctype
    return b"\x1a\x45\xdf\xa3" + bytes([0x80 | len(body)]) + body + b"\x18\x53\x80\x67"


@pytest.mark.parametrize(
    ("head", "mime", "kind", "name"),
    [
        (b"RIFF\x24\x00\x00\x00AVI LIST", "video/x-msvideo", VIDEO, "AVI"),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", "audio/wav", OTHER, "WAV"),
        (_ebml(b"webm"), "video/webm", VIDEO, "WEBM"),
        (_ebml(b"matroska"), "video/x-matroska", VIDEO, "MKV"),
        (_ebml(None), "video/x-matroska", VIDEO, "MKV"),
        (
            bytes.fromhex("3026B2758E66CF11A6D900AA0062CE6C") + b"\0" * 30,
            "video/x-ms-asf",
            VIDEO,
            "ASF",
        ),
        (b"FLV\x01\x05\x00\x00\x00\x09", "video/x-flv", VIDEO, "FLV"),
        (b"\x00\x00\x01\xba\x44" + b"\0" * 20, "video/mpeg", VIDEO, "MPEG-PS"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "application/pdf", OTHER, "PDF"),
        (b"\x1f\x8b\x08\x00", "application/gzip", OTHER, "GZIP"),
        (b"7z\xbc\xaf\x27\x1c\x00\x04", "application/x-7z-compressed", OTHER, "7Z"),
        (b"EVF\x09\x0d\x0a\xff\x00\x01", "application/x-ewf", OTHER, "E01"),
        (
            b"MZ\x90\x00\x03\x00\x00\x00",
            "application/vnd.microsoft.portable-executable",
            OTHER,
            "PE",
        ),
        (b"", "application/x-empty", OTHER, "EMPTY"),
        (b"\x00\x01\x02\x03\xfe\xfd", "application/octet-stream", OTHER, "BINARY"),
        (b"BM but just text that starts with BM", "text/plain", OTHER, "TEXT"),
        (b"MZ is a text file too", "text/plain", OTHER, "TEXT"),
    ],
)
def test_magic_heads(head: bytes, mime: str, kind: MediaKind, name: str) -> None:
    got = sniff(head)
    assert (got.mime, got.kind, got.format) == (mime, kind, name)


def _video(container: str, codec: str) -> bytes:
    av = pytest.importorskip("av")
    buf = io.BytesIO()
    with av.open(buf, "w", format=container) as out:
        stream = out.add_stream(codec, rate=25)
        stream.width, stream.height, stream.pix_fmt = 128, 96, "yuv420p"
        for i in range(3):
            frame = av.VideoFrame.from_ndarray(
                np.full((96, 128, 3), i * 60, np.uint8), format="rgb24"
            )
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("container", "codec", "mime", "name"),
    [
        ("mp4", "mpeg4", "video/mp4", "MP4"),
        ("mov", "mpeg4", "video/quicktime", "MOV"),
        ("3gp", "h263", "video/3gpp", "3GP"),
        ("ipod", "mpeg4", "video/x-m4v", "M4V"),
        ("avi", "mpeg4", "video/x-msvideo", "AVI"),
        ("matroska", "mpeg4", "video/x-matroska", "MKV"),
        ("webm", "libvpx", "video/webm", "WEBM"),
        ("asf", "wmv2", "video/x-ms-wmv", "WMV"),
        ("flv", "flv", "video/x-flv", "FLV"),
        ("mpegts", "mpeg2video", "video/mp2t", "MPEG-TS"),
        ("mpeg", "mpeg1video", "video/mpeg", "MPEG-PS"),
    ],
)
def test_video_containers_written_by_pyav(container: str, codec: str, mime: str, name: str) -> None:
    try:
        data = _video(container, codec)
    except Exception as exc:  # an encoder missing from this FFmpeg build
        pytest.skip(f"cannot write {container}/{codec} here: {exc}")
    got = sniff(data[:HEAD_SIZE])
    assert (got.mime, got.kind, got.format) == (mime, VIDEO, name)


def test_other_files() -> None:
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w") as z:
        z.writestr("a.txt", "hello")
    tbuf = io.BytesIO()
    with tarfile.open(fileobj=tbuf, mode="w") as t:
        info = tarfile.TarInfo("a.txt")
        info.size = 5
        t.addfile(info, io.BytesIO(b"hello"))
    cases = {
        zbuf.getvalue(): ("application/zip", "ZIP"),
        tbuf.getvalue(): ("application/x-tar", "TAR"),
        gzip.compress(b"hello"): ("application/gzip", "GZIP"),
        b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n": ("application/pdf", "PDF"),
        "Plain text, café, 証拠\n".encode(): ("text/plain", "TEXT"),
        "\ufeffwith a BOM".encode(): ("text/plain", "TEXT"),
        "utf-16 text".encode("utf-16"): ("text/plain", "TEXT"),
    }
    for data, (mime, name) in cases.items():
        got = sniff(data)
        assert (got.mime, got.kind, got.format) == (mime, OTHER, name), data[:20]


def test_text_cut_inside_a_multibyte_character_is_still_text() -> None:
    data = b"a" + ("é" * 3000).encode()  # 1 + 2-byte characters: byte 4096 splits one
    assert data[:HEAD_SIZE].decode("utf-8", "replace").endswith("\ufffd")
    assert sniff(data[:HEAD_SIZE]).format == "TEXT"


def test_extension_is_ignored(tmp_path: Path, small: Image.Image) -> None:
    png_named_jpg = tmp_path / "holiday.jpg"
    png_named_jpg.write_bytes(encode(small, "PNG"))
    text_named_png = tmp_path / "photo.png"
    text_named_png.write_text("not a picture\n")
    facts = analyse_file(png_named_jpg)
    assert (facts.mime, facts.format, facts.image and facts.image.format) == (
        "image/png",
        "PNG",
        "PNG",
    )
    other = analyse_file(text_named_png)
    assert (other.kind, other.mime, other.image, other.error) == (OTHER, "text/plain", None, None)


@given(st.binary(max_size=600))
def test_sniff_never_raises(data: bytes) -> None:
    got = sniff(data)
    assert got.kind in MediaKind and got.mime and got.format

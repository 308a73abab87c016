"""File type from magic bytes (never from the name).

``sniff`` sees only the head of a file (the first ``HEAD_SIZE`` bytes). Images and videos get a
precise answer because the pipeline routes them to decoders; everything else is ``OTHER`` with a
best-effort MIME type.
"""

from __future__ import annotations

import codecs

from safeguard.domain.kinds import MediaKind
from safeguard.hashing.facts import Sniffed

HEAD_SIZE = 4096

IMAGE, VIDEO, OTHER = MediaKind.IMAGE, MediaKind.VIDEO, MediaKind.OTHER

# ISO base media file format (ftyp) brands -> (mime, kind, format).
_HEIC = ("image/heic", IMAGE, "HEIC")
_HEIF = ("image/heif", IMAGE, "HEIF")
_AVIF = ("image/avif", IMAGE, "AVIF")
_MP4 = ("video/mp4", VIDEO, "MP4")
_BRANDS: dict[bytes, tuple[str, MediaKind, str]] = {
    b"heic": _HEIC,
    b"heix": _HEIC,
    b"heim": _HEIC,
    b"heis": _HEIC,
    b"hevc": ("image/heic-sequence", IMAGE, "HEIC"),
    b"hevx": ("image/heic-sequence", IMAGE, "HEIC"),
    b"avif": _AVIF,
    b"avis": _AVIF,
    b"mif1": _HEIF,
    b"mif2": _HEIF,
    b"msf1": ("image/heif-sequence", IMAGE, "HEIF"),
    b"crx ": ("image/x-canon-cr3", IMAGE, "CR3"),
    b"qt  ": ("video/quicktime", VIDEO, "MOV"),
    b"M4V ": ("video/x-m4v", VIDEO, "M4V"),
    b"M4VH": ("video/x-m4v", VIDEO, "M4V"),
    b"M4VP": ("video/x-m4v", VIDEO, "M4V"),
    b"M4A ": ("audio/mp4", OTHER, "M4A"),
    b"M4B ": ("audio/mp4", OTHER, "M4A"),
    b"M4P ": ("audio/mp4", OTHER, "M4A"),
    b"F4V ": ("video/x-f4v", VIDEO, "F4V"),
    b"F4P ": ("video/x-f4v", VIDEO, "F4V"),
}
for _brand in (b"isom", b"mp41", b"mp42", b"mp4v", b"avc1", b"dash", b"MSNV", b"mmp4"):
    _BRANDS[_brand] = _MP4
for _n in range(2, 10):
    _BRANDS[b"iso%d" % _n] = _MP4
    for _prefix in (b"3gp", b"3ge", b"3gg", b"3gr", b"3gs"):
        _BRANDS[_prefix + b"%d" % _n] = ("video/3gpp", VIDEO, "3GP")
for _letter in b"abc":
    _BRANDS[b"3g2" + bytes([_letter])] = ("video/3gpp2", VIDEO, "3G2")
# Specific HEIF brands win over the generic structural ones when scanning compatible brands.
_GENERIC_BRANDS = {b"mif1", b"mif2", b"msf1", b"isom", b"iso2", b"iso3", b"iso4", b"iso5"}

# QuickTime files from before ftyp existed start with one of these atoms.
_QT_ATOMS = {b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}

_ASF_HEADER = bytes.fromhex("3026B2758E66CF11A6D900AA0062CE6C")
_ASF_VIDEO_MEDIA = bytes.fromhex("C0EF19BC4D5BCF11A8FD00805F5C442B")
_ASF_AUDIO_MEDIA = bytes.fromhex("409E69F84D5BCF11A8FD00805F5C442B")

_BMP_DIB_SIZES = {12, 16, 40, 52, 56, 64, 108, 124}

# Simple prefix magics for non-media files, checked after the media ones.
_OTHER_MAGIC: tuple[tuple[bytes, str, str], ...] = (
    (b"%PDF-", "application/pdf", "PDF"),
    (b"PK\x03\x04", "application/zip", "ZIP"),
    (b"PK\x05\x06", "application/zip", "ZIP"),
    (b"PK\x07\x08", "application/zip", "ZIP"),
    (b"\x1f\x8b", "application/gzip", "GZIP"),
    (b"BZh", "application/x-bzip2", "BZIP2"),
    (b"\xfd7zXZ\x00", "application/x-xz", "XZ"),
    (b"(\xb5/\xfd", "application/zstd", "ZSTD"),
    (b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed", "7Z"),
    (b"Rar!\x1a\x07", "application/vnd.rar", "RAR"),
    (b"EVF\x09\x0d\x0a\xff\x00", "application/x-ewf", "E01"),
    (b"EVF2\x0d\x0a\x81\x00", "application/x-ewf", "EX01"),
    (b"SQLite format 3\x00", "application/vnd.sqlite3", "SQLITE"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/x-ole-storage", "OLE2"),
    (b"\x7fELF", "application/x-executable", "ELF"),
    (b"ID3", "audio/mpeg", "MP3"),
    (b"fLaC", "audio/flac", "FLAC"),
    (b"OggS", "application/ogg", "OGG"),
)


def sniff(head: bytes) -> Sniffed:
    """Identify a file from its first bytes (normally the first ``HEAD_SIZE`` of them)."""
    head = bytes(head[:HEAD_SIZE])
    return _image(head) or _video(head) or _other(head)


def _image(h: bytes) -> Sniffed | None:
    if h.startswith(b"\xff\xd8\xff"):
        return Sniffed("image/jpeg", IMAGE, "JPEG")
    if h.startswith(b"\x89PNG\r\n\x1a\n"):
        return Sniffed("image/png", IMAGE, "PNG")
    if h.startswith((b"GIF87a", b"GIF89a")):
        return Sniffed("image/gif", IMAGE, "GIF")
    if h.startswith(b"RIFF") and h[8:12] == b"WEBP":
        return Sniffed("image/webp", IMAGE, "WEBP")
    if h.startswith((b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")):
        return Sniffed("image/tiff", IMAGE, "TIFF")
    if (
        h.startswith(b"BM")
        and len(h) >= 18
        and int.from_bytes(h[14:18], "little") in _BMP_DIB_SIZES
    ):
        return Sniffed("image/bmp", IMAGE, "BMP")
    if h.startswith(b"\x00\x00\x00\x0cjP  \x0d\x0a\x87\x0a"):
        return Sniffed("image/jp2", IMAGE, "JPEG2000")
    if h.startswith(b"\xff\x4f\xff\x51"):
        return Sniffed("image/jp2", IMAGE, "JPEG2000")
    if h.startswith(b"8BPS"):
        return Sniffed("image/vnd.adobe.photoshop", IMAGE, "PSD")
    if h.startswith((b"\xff\x0a", b"\x00\x00\x00\x0cJXL \x0d\x0a\x87\x0a")):
        return Sniffed("image/jxl", IMAGE, "JXL")
    return None


def _video(h: bytes) -> Sniffed | None:
    if h[4:8] == b"ftyp":
        return _ftyp(h)
    if h.startswith(b"RIFF") and h[8:12] in (b"AVI ", b"AVIX"):
        return Sniffed("video/x-msvideo", VIDEO, "AVI")
    if h.startswith(b"\x1a\x45\xdf\xa3"):
        if _ebml_doctype(h) == "webm":
            return Sniffed("video/webm", VIDEO, "WEBM")
        return Sniffed("video/x-matroska", VIDEO, "MKV")
    if h.startswith(_ASF_HEADER):
        if _ASF_VIDEO_MEDIA in h:
            return Sniffed("video/x-ms-wmv", VIDEO, "WMV")
        if _ASF_AUDIO_MEDIA in h:
            return Sniffed("audio/x-ms-wma", OTHER, "WMA")
        return Sniffed("video/x-ms-asf", VIDEO, "ASF")
    if h.startswith(b"FLV\x01"):
        return Sniffed("video/x-flv", VIDEO, "FLV")
    if h.startswith(b"\x00\x00\x01\xba"):
        return Sniffed("video/mpeg", VIDEO, "MPEG-PS")
    if h.startswith(b"\x00\x00\x01\xb3"):
        return Sniffed("video/mpeg", VIDEO, "MPEG")
    if _sync_every(h, 0, 188) or _sync_every(h, 4, 192):
        return Sniffed("video/mp2t", VIDEO, "MPEG-TS")
    if len(h) >= 8 and h[4:8] in _QT_ATOMS and int.from_bytes(h[:4], "big") in range(8, 1 << 31):
        return Sniffed("video/quicktime", VIDEO, "MOV")
    return None


def _ftyp(h: bytes) -> Sniffed:
    box_size = int.from_bytes(h[:4], "big")
    end = min(len(h), box_size if box_size >= 16 else 16, 4096)
    major = h[8:12]
    compatible = [h[i : i + 4] for i in range(16, end - 3, 4)]
    if major in _BRANDS and major not in _GENERIC_BRANDS:
        return Sniffed(*_BRANDS[major])
    # Generic or unknown major brand: a specific compatible brand says more (mif1 + heic).
    for brand in compatible:
        if brand in _BRANDS and brand not in _GENERIC_BRANDS:
            mime, kind, fmt = _BRANDS[brand]
            if kind is not OTHER or major not in _BRANDS:
                return Sniffed(mime, kind, fmt)
    if major in _BRANDS:
        return Sniffed(*_BRANDS[major])
    for brand in compatible:
        if brand in _BRANDS:
            return Sniffed(*_BRANDS[brand])
    # An ISO-BMFF file with brands we do not know: nearly always an MP4-family video. Routing
    # it to video analysis records an error if it is not, instead of hiding it as OTHER.
    return Sniffed("video/mp4", VIDEO, "MP4")


def _ebml_doctype(h: bytes) -> str | None:
    """The DocType string of an EBML header ("webm", "matroska"), if it is in ``h``."""
    pos = h.find(b"\x42\x82", 4, 128)
    if pos < 0 or pos + 2 >= len(h):
        return None
    first = h[pos + 2]
    length = 1
    while length <= 8 and not first & (0x80 >> (length - 1)):
        length += 1
    if length > 8 or pos + 2 + length > len(h):
        return None
    size = first & (0xFF >> length)
    for b in h[pos + 3 : pos + 2 + length]:
        size = (size << 8) | b
    start = pos + 2 + length
    value = h[start : start + min(size, 64)]
    return value.rstrip(b"\x00").decode("ascii", "replace").lower()


def _sync_every(h: bytes, offset: int, stride: int) -> bool:
    """True if ``h`` has MPEG-TS sync bytes (0x47) every ``stride`` bytes from ``offset``."""
    positions = range(offset, len(h), stride)
    return len(positions) >= 3 and all(h[p] == 0x47 for p in positions)


def _other(h: bytes) -> Sniffed:
    if not h:
        return Sniffed("application/x-empty", OTHER, "EMPTY")
    if h.startswith(b"RIFF") and h[8:12] == b"WAVE":
        return Sniffed("audio/wav", OTHER, "WAV")
    if len(h) > 262 and h[257:262] == b"ustar":
        return Sniffed("application/x-tar", OTHER, "TAR")
    for magic, mime, fmt in _OTHER_MAGIC:
        if h.startswith(magic):
            return Sniffed(mime, OTHER, fmt)
    if _is_text(h):
        return Sniffed("text/plain", OTHER, "TEXT")
    if h.startswith(b"MZ"):  # weak magic: checked only once the head is known not to be text
        return Sniffed("application/vnd.microsoft.portable-executable", OTHER, "PE")
    return Sniffed("application/octet-stream", OTHER, "BINARY")


_TEXT_CONTROLS = frozenset("\t\n\r\f\b\x1b")


def _is_text(h: bytes) -> bool:
    """Printable UTF-8 (a multi-byte character cut off at the end of the head is allowed)."""
    encoding = "utf-16" if h.startswith((b"\xff\xfe", b"\xfe\xff")) else "utf-8-sig"
    try:
        text = codecs.getincrementaldecoder(encoding)().decode(h, final=False)
    except UnicodeDecodeError:
        return False
    return all(c.isprintable() or c in _TEXT_CONTROLS or c == " " for c in text)

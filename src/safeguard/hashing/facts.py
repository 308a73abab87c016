"""The small, picklable facts the hashing layer computes from one file's bytes.

Workers are processes: everything here crosses a process boundary, so it holds only strings,
numbers, tuples and enums.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from safeguard.domain.kinds import MediaKind

if TYPE_CHECKING:
    from safeguard.hashing.video import VideoFacts


class ImageError(Exception):
    """An image could not be turned into facts; ``str(error)`` is the message to record."""


class ImageDecodeError(ImageError):
    """The bytes are not a decodable image: corrupt, truncated or an unsupported variant."""


class ImageRejected(ImageError):
    """The image was refused before decoding, e.g. it declares more pixels than allowed."""


@dataclass(frozen=True, slots=True)
class Digests:
    """Cryptographic digests of a whole file, lower-case hex, and its size in bytes."""

    md5: str
    sha1: str
    sha256: str
    size: int


@dataclass(frozen=True, slots=True)
class Sniffed:
    """What the first bytes of a file say it is (magic bytes, never the extension)."""

    mime: str
    kind: MediaKind
    #: Short upper-case name: "JPEG", "HEIC", "MP4", "WEBM", "PDF", "TEXT", "BINARY"...
    format: str


@dataclass(frozen=True, slots=True)
class ExifFacts:
    """Provenance metadata from EXIF. Every field is None when absent or unreadable."""

    make: str | None = None
    model: str | None = None
    serial: str | None = None
    #: ISO 8601 local time as the camera recorded it, with an offset only when EXIF has one.
    date_taken: str | None = None
    #: Decimal degrees, negative for S and W.
    gps_lat: float | None = None
    gps_lon: float | None = None

    @property
    def empty(self) -> bool:
        return all(
            v is None
            for v in (
                self.make,
                self.model,
                self.serial,
                self.date_taken,
                self.gps_lat,
                self.gps_lon,
            )
        )


@dataclass(frozen=True, slots=True)
class ImageFacts:
    """What decoding one image gives: its stored size, PDQ hashes and EXIF."""

    #: Dimensions as stored (declared in the header), before any reduced-scale decode.
    width: int
    height: int
    #: Pillow's format name ("JPEG", "PNG", "HEIF", "MPO"...).
    format: str
    #: PDQ of the stored pixels (no EXIF rotation applied), 64 lower-case hex characters; None
    #: when the picture has no detail to hash (a constant hash, every bit equal, or quality 0:
    #: such bits mean nothing and are never stored). ``pdq_quality`` is then 0.
    pdq: str | None
    pdq_quality: int
    #: Eight PDQ hashes in ``pdqhash.compute_dihedral`` order: original, rotate 90, rotate 180,
    #: rotate 270, flip x, flip y, flip +1, flip -1. ``pdq_dihedral[0] == pdq``.
    pdq_dihedral: tuple[str, ...]
    exif: ExifFacts = field(default_factory=ExifFacts)
    #: Frames or pages in the file; only the first is hashed.
    frames: int = 1
    #: Review previews (thumb, full) made from the same decode, when asked for (the ingest).
    previews: tuple[bytes, bytes] | None = None


@dataclass(frozen=True, slots=True)
class FileFacts:
    """Everything the ingest workers learn from one file's bytes."""

    digests: Digests
    mime: str
    kind: MediaKind
    format: str
    image: ImageFacts | None = None
    #: Why image (or video) facts are missing although the kind says there should be some.
    error: str | None = None
    #: Duration, size, codec, frame rate, vPDQ frames and keyframe strip of a decodable video.
    video: VideoFacts | None = None

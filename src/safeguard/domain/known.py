"""A known item as it travels between bank files and the store."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class VideoFrameHash:
    """One vPDQ feature of a known video: a sampled frame's PDQ (64 hex) and quality (0-100)."""

    frame_number: int
    quality: int
    pdq: str
    timestamp_s: float


@dataclass(frozen=True)
class Segment:
    """A category that applies to part of a video, from ``start_s`` to ``end_s`` (seconds)."""

    start_s: float
    end_s: float
    category: str

    def overlap_s(self, start_s: float, end_s: float) -> float:
        """Seconds of [start_s, end_s] inside this segment (0 when apart)."""
        return max(0.0, min(self.end_s, end_s) - max(self.start_s, start_s))


@dataclass(frozen=True)
class ExtraHash:
    """A hash Safeguard keeps but does not compute (PhotoDNA, NetClean, TMK, ...).

    ``name`` is spelled as the bank file spelled it; ``placement`` records where it stood so an
    export writes it back in the same place: ``"field"`` for an entry field of its own (VICS
    ``PhotoDNA``), ``"alternative"`` for an ``AlternativeHashes`` item.
    """

    name: str
    value: str
    placement: str = "alternative"


@dataclass(frozen=True)
class MediaFileFacts:
    """One occurrence of an item on an exhibit, as VICS MediaFiles carry it: path, file-system
    times (ISO 8601) and the Deleted / Unallocated / PhysicalLocation of a disk image's file."""

    path: str
    created: str | None = None
    written: str | None = None
    accessed: str | None = None
    deleted: bool = False
    unallocated: bool = False
    #: Byte offset in the disk image of the file's first byte (carved files: where carved).
    physical_location: int | None = None


@dataclass(frozen=True)
class BankRecord:
    """One known item: any of its hashes, its category and its flags.

    A VICS entry may carry several hashes of the same item; a hash list line carries one.
    ``category`` is a code of the bank's category scheme (e.g. "A").
    """

    category: str
    md5: str | None = None
    sha1: str | None = None
    sha256: str | None = None
    pdq: str | None = None
    pdq_quality: int | None = None
    victim_identified: bool = False
    series: str | None = None
    self_generated: bool = False
    #: A reviewer suspected the item is AI-generated (written to VICS as "AIGenerated").
    ai_generated: bool = False
    source: str | None = None
    external_id: str | None = None
    #: A known video's vPDQ frame hashes (empty for anything else).
    vpdq: tuple[VideoFrameHash, ...] = ()
    #: Parts of a known video to which a category applies (VICS Segments).
    segments: tuple[Segment, ...] = ()
    #: Hashes of kinds Safeguard cannot compute, kept for a faithful export.
    extra_hashes: tuple[ExtraHash, ...] = ()
    #: Where the item was found (case exports); written as VICS MediaFiles.
    files: tuple[MediaFileFacts, ...] = ()

    def hashes(self) -> dict[str, str]:
        return {
            k: v
            for k, v in (
                ("md5", self.md5),
                ("sha1", self.sha1),
                ("sha256", self.sha256),
                ("pdq", self.pdq),
            )
            if v
        }


@dataclass(frozen=True)
class RecordError:
    """A line or entry of a bank file that could not be read; the rest of the file still imports."""

    line: int
    message: str
    #: What ``line`` counts: "line" for text formats, "entry" for VICS (whose files may be one
    #: long line).
    unit: str = "line"
    #: The reader gave up here: nothing after this point of the file was read.
    stopped: bool = False

    def __str__(self) -> str:
        return f"{self.unit} {self.line}: {self.message}"

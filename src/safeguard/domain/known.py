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

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"

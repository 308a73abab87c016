"""Limits that keep a walk over hostile evidence bounded in memory, disk and time."""

from __future__ import annotations

from dataclasses import dataclass

#: A member must expand to more than this before its compression ratio can mark it as a bomb:
#: small members (a few MiB of zeros, a blank disk sector run) legitimately compress far better
#: than 200:1. Below it only the absolute caps apply.
RATIO_FLOOR_BYTES = 16 << 20
#: A compressed tar stream as a whole must expand to more than this before its ratio stops the
#: archive: a member that is a bomb is refused on its own ratio first, and skipping it inflates
#: at most this much before the stream is given up.
STREAM_RATIO_FLOOR_BYTES = 256 << 20


@dataclass(frozen=True)
class EvidenceLimits:
    #: How many archives deep the walk descends (an archive on the exhibit is depth 1).
    max_depth: int = 8
    #: One archive member, uncompressed (declared in its header or actually read).
    max_member_bytes: int = 4 << 30
    #: All member bytes expanded out of one top-level archive, nested archives included.
    max_total_bytes: int = 64 << 30
    #: Compression ratio above which a member (of more than 1 MiB) is taken for a bomb.
    max_ratio: float = 200.0
    #: Archive members above this size are spilled to a temporary file, not held in memory.
    spill_bytes: int = 64 << 20
    #: Entries (of any type) in one top-level archive, nested archives included.
    max_members: int = 1_000_000

    def __post_init__(self) -> None:
        for name in (
            "max_depth",
            "max_member_bytes",
            "max_total_bytes",
            "spill_bytes",
            "max_members",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"EvidenceLimits.{name} must not be negative")
        if not self.max_ratio > 0:
            raise ValueError("EvidenceLimits.max_ratio must be positive")

"""Where the analysis time goes: per-process running totals of seconds per phase.

``analyse_file`` adds to these as it works (a ``perf_counter`` pair per phase, well under a
microsecond per file); the ingest pipeline takes a snapshot before and after each chunk of files
in a worker and sums the differences, so an ingest can say how much of its time went into
reading, digesting, decoding and hashing. Totals only grow; nothing here is ever reset.
"""

from __future__ import annotations

from time import perf_counter

#: read: bytes from the file; digest: MD5 + SHA-1 + SHA-256; decode: image header and pixels
#: (reduced-scale for JPEG), conversion to 8-bit RGB and reduction; pixels: the RGB array for
#: PDQ; pdq: PDQ and its 8 dihedral variants; exif: EXIF facts. (Video analysis is not split.)
PHASES: tuple[str, ...] = (
    "read", "digest", "decode", "pixels", "pdq", "exif", "previews", "video"
)  # fmt: skip

_totals: dict[str, float] = dict.fromkeys(PHASES, 0.0)

now = perf_counter


def add(phase: str, started: float) -> float:
    """Add the time since ``started`` (a ``now()`` value) to ``phase``; returns ``now()``."""
    end = perf_counter()
    _totals[phase] += end - started
    return end


def snapshot() -> dict[str, float]:
    """The running totals of this process."""
    return dict(_totals)


def since(before: dict[str, float]) -> dict[str, float]:
    """Seconds per phase since ``before`` (a ``snapshot()``)."""
    return {phase: _totals[phase] - before.get(phase, 0.0) for phase in PHASES}

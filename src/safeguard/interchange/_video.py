"""Lenient parsing and writing of the video parts of a bank record: vPDQ frames and segments.

A vPDQ frame is written as Meta's reference text layout does, ``frame number, quality, PDQ hex,
timestamp in seconds``: in VICS as a JSON list ``[frame, quality, "hex", seconds]``, in the
``vpdq`` format as a text line. Readers also accept objects (``{"FrameNumber": ...,
"Quality": ..., "Hash": ..., "Timestamp": ...}``) and ``"frame,quality,hex,seconds"`` strings.
Segment times are seconds, as numbers or ``[h:]mm:ss[.fff]`` strings.
"""

from __future__ import annotations

import math
import re
from typing import Any

from safeguard.domain.categories import VicsProfile
from safeguard.domain.kinds import HashKind
from safeguard.domain.known import Segment, VideoFrameHash
from safeguard.interchange._values import parse_hash, parse_int, parse_quality
from safeguard.interchange.formats import VPDQ_LINE

_CLOCK = re.compile(r"^(?:(?P<h>\d+):)?(?P<m>\d+):(?P<s>\d+(?:\.\d*)?)$")

_FRAME_KEYS = ("framenumber", "frame_number", "frame", "number")
_HASH_KEYS = ("hash", "pdq", "hashvalue", "value")
_TIME_KEYS = ("timestamp", "timestamp_s", "time", "seconds", "ts")
_START_KEYS = ("start", "starttime", "start_s", "startseconds", "begin", "from")
_END_KEYS = ("end", "endtime", "end_s", "endseconds", "stop", "to")


def parse_seconds(value: object, field: str) -> float:
    """A non-negative time in seconds: a JSON number, a decimal string or ``[h:]mm:ss[.fff]``."""
    seconds: float | None = None
    if isinstance(value, bool) or value is None:
        seconds = None
    elif isinstance(value, int | float):
        seconds = float(value)
    elif hasattr(value, "as_integer_ratio"):  # Decimal from ijson
        seconds = float(value)  # type: ignore[arg-type]
    elif isinstance(value, str):
        text = value.strip()
        clock = _CLOCK.match(text)
        try:
            if clock:
                seconds = int(clock["h"] or 0) * 3600 + int(clock["m"]) * 60 + float(clock["s"])
            else:
                seconds = float(text)
        except ValueError:
            seconds = None
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"{field} is not a time in seconds: {value!r}")
    return seconds


def _lower(value: dict) -> dict[str, Any]:
    return {str(k).lower(): v for k, v in value.items()}


def _pick(fields: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        if fields.get(key) not in (None, ""):
            return fields[key]
    return None


def parse_frame(value: object) -> VideoFrameHash:
    """One vPDQ frame from a list, an object or a reference text line; ValueError if invalid."""
    if isinstance(value, str):
        line = VPDQ_LINE.match(value)
        if not line:
            raise ValueError(f"not a vPDQ line 'frame,quality,hash,timestamp': {value!r}")
        parts: list[Any] = [line["frame"], line["quality"], line["hash"], line["timestamp"]]
    elif isinstance(value, list | tuple):
        if len(value) != 4:
            raise ValueError(f"a vPDQ frame is [frame, quality, hash, timestamp], got {value!r}")
        parts = list(value)
    elif isinstance(value, dict):
        fields = _lower(value)
        parts = [
            _pick(fields, _FRAME_KEYS),
            fields.get("quality"),
            _pick(fields, _HASH_KEYS),
            _pick(fields, _TIME_KEYS),
        ]
    else:
        raise ValueError(f"not a vPDQ frame: {value!r}")
    frame = parse_int(parts[0], "vPDQ frame number")
    if frame < 0:
        raise ValueError(f"vPDQ frame number is negative: {frame}")
    quality = parse_quality(parts[1], "vPDQ quality")
    if quality is None:
        raise ValueError("vPDQ frame has no quality")
    return VideoFrameHash(
        frame_number=frame,
        quality=quality,
        pdq=parse_hash(parts[2], HashKind.PDQ),
        timestamp_s=parse_seconds(parts[3], "vPDQ timestamp"),
    )


def parse_frames(value: object) -> tuple[VideoFrameHash, ...]:
    """A video's vPDQ frames: a list of frames, or reference text (one frame per line)."""
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        items: list[Any] = [line for line in value.splitlines() if line.strip()]
    elif isinstance(value, list):
        items = value
    else:
        raise ValueError(f"VPDQ is not a list of frames: {value!r}")
    return tuple(parse_frame(item) for item in items)


def parse_segment(value: object, profile: VicsProfile) -> Segment:
    """One VICS segment ``{"Start": s, "End": e, "Category": n}`` (n through the profile)."""
    if not isinstance(value, dict):
        raise ValueError(f"a segment is an object with Start, End and Category: {value!r}")
    fields = _lower(value)
    start = parse_seconds(_pick(fields, _START_KEYS), "segment start")
    end_value = _pick(fields, _END_KEYS)
    if end_value is None and fields.get("duration") not in (None, ""):
        end = start + parse_seconds(fields["duration"], "segment duration")
    else:
        end = parse_seconds(end_value, "segment end")
    if end <= start:
        raise ValueError(f"segment ends ({end:g} s) at or before it starts ({start:g} s)")
    raw = fields.get("category")
    number = 0 if raw in (None, "") else parse_int(raw, "segment Category")
    return Segment(start_s=start, end_s=end, category=profile.code_for(number))


def parse_segments(value: object, profile: VicsProfile) -> tuple[Segment, ...]:
    if value is None or value == "":
        return ()
    if not isinstance(value, list):
        raise ValueError(f"Segments is not a list: {value!r}")
    return tuple(parse_segment(item, profile) for item in value)


def frame_json(frame: VideoFrameHash) -> list[Any]:
    """A frame as VICS carries it: ``[frame, quality, "hex", seconds]``."""
    return [frame.frame_number, frame.quality, frame.pdq, frame.timestamp_s]


def frame_line(frame: VideoFrameHash) -> str:
    """A frame as a line of the reference text layout (timestamp to the millisecond)."""
    return f"{frame.frame_number},{frame.quality},{frame.pdq},{frame.timestamp_s:.3f}"


def segment_json(segment: Segment, profile: VicsProfile) -> dict[str, Any]:
    return {
        "Start": segment.start_s,
        "End": segment.end_s,
        "Category": profile.number_for(segment.category),
    }

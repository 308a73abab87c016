"""Video facts for ``analyse_file``: probe, vPDQ and keyframe strip of a file sniffed as video.

Decoding problems never raise: an undecodable video (empty, corrupt, truncated past its index,
not really video) gets ``FileFacts.error`` and no video facts; a damaged one from which some
frames decode keeps its facts and gets an error saying so. The digests stay either way.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import re
from pathlib import PurePath
from typing import BinaryIO

from safeguard.domain.kinds import MediaKind
from safeguard.hashing import timing
from safeguard.hashing.facts import FileFacts
from safeguard.hashing.video import Source, VideoDecodeError, analyse_video

#: File name endings of the video containers Safeguard decodes (for empty files only: a type is
#: otherwise always sniffed from content).
VIDEO_SUFFIXES = frozenset(
    {".mp4", ".m4v", ".mov", ".qt", ".3gp", ".3g2", ".avi", ".mkv", ".webm", ".wmv", ".asf",
     ".flv", ".f4v", ".mpg", ".mpeg", ".ts", ".mts", ".m2ts", ".vob"}
)  # fmt: skip


_INPUT_NAME = re.compile(r" when processing input: '[^']*'\)$")


def decoder_threads() -> int:
    """1 inside a worker process (the pool already uses every core), else 0 (automatic)."""
    return 1 if multiprocessing.parent_process() is not None else 0


def add_video_facts(
    facts: FileFacts, source: Source, *, start: int | None = 0, threads: int | None = None
) -> FileFacts:
    """``facts`` with ``video`` filled in from ``source`` when the content is video.

    ``source`` is the file's path, its bytes, or the binary stream it was read from, whose
    position before reading was ``start`` (see :func:`stream_start`): the stream is sought back
    to read it again, which needs a seekable stream that started at 0. ``threads`` is the
    decoder's thread count (default: :func:`decoder_threads`).
    """
    if facts.kind is not MediaKind.VIDEO:
        return facts
    if not isinstance(source, PurePath | str | bytes | bytearray | memoryview):
        try:
            if start != 0:
                raise OSError("the stream did not start at its beginning")
            source.seek(0)
        except (OSError, ValueError, AttributeError) as exc:
            return dataclasses.replace(facts, error=f"video not decoded: cannot re-read ({exc})")
    started = timing.now()
    try:
        video = analyse_video(source, threads=decoder_threads() if threads is None else threads)
    except VideoDecodeError as exc:
        # FFmpeg names the input at the end ("...: '17'" for an open file): not worth keeping.
        return dataclasses.replace(facts, error=_INPUT_NAME.sub(")", str(exc)))
    except Exception as exc:  # noqa: BLE001 - a decoder bug must not stop an exhibit's ingest
        return dataclasses.replace(
            facts, error=f"video analysis failed: {type(exc).__name__}: {exc}"
        )
    finally:
        timing.add("video", started)
    error = None
    if video.partial:
        error = (
            f"video damaged or truncated: {len(video.frames)} vPDQ frame(s) hashed from the part "
            "that decodes"
        )
    return dataclasses.replace(facts, video=video, error=error)


def stream_start(stream: BinaryIO) -> int | None:
    """Where a stream stands before it is read (None when it cannot tell)."""
    try:
        return stream.tell()
    except (OSError, ValueError, AttributeError):
        return None


def empty_video_error(facts: FileFacts | None, name: str) -> str | None:
    """An error for a zero-length file named like a video (content cannot say it is one)."""
    if facts is None or facts.digests.size != 0:
        return None
    if PurePath(name.rsplit("!/", 1)[-1]).suffix.lower() in VIDEO_SUFFIXES:
        return "empty video file (0 bytes): nothing to decode"
    return None

"""The vPDQ reference text layout: one known video per file, one sampled frame per line.

Lines are ``frame number, quality, PDQ hex, timestamp in seconds``, as Meta's reference
``vpdq`` tools print them (and ``../shared/testdata/vpdq/*.txt`` holds). The layout carries no
category, so the whole file reads as one ``BankRecord`` of the category given on import. Blank
lines and ``#`` comments are skipped; Safeguard writes the video's digests as ``# md5 <hex>``
(``sha1``, ``sha256``) comments, and reads them back.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TextIO

from safeguard.domain.kinds import HashKind
from safeguard.domain.known import BankRecord, RecordError, VideoFrameHash
from safeguard.interchange._values import parse_hash
from safeguard.interchange._video import frame_line, parse_frame
from safeguard.interchange.hashlists import MAX_LINE_BYTES, iter_raw_lines

#: Most frames one vPDQ file may hold (every frame of a 9-hour video at 30 fps): the frames are
#: held in memory to make one record.
MAX_FRAMES = 1_000_000

_DIGEST_COMMENTS = {"md5": HashKind.MD5, "sha1": HashKind.SHA1, "sha256": HashKind.SHA256}


def read_vpdq(path: Path, category: str) -> Iterator[BankRecord | RecordError]:
    """The file as one video record of ``category`` (bad lines are RecordErrors, then skipped).

    Raises ValueError at once when no line is a vPDQ frame, or when the file holds more than
    ``MAX_FRAMES`` frames. Lines longer than ``MAX_LINE_BYTES`` are reported, never held.
    """
    frames: list[VideoFrameHash] = []
    digests: dict[str, str] = {}
    errors: list[RecordError] = []
    for number, raw in iter_raw_lines(Path(path)):
        if raw is None:
            if len(errors) < MAX_FRAMES:
                errors.append(RecordError(number, f"line is longer than {MAX_LINE_BYTES} bytes"))
            continue
        line = raw.decode("utf-8", errors="replace").strip()
        if not line:
            continue
        if len(frames) >= MAX_FRAMES:
            raise ValueError(f"{path}: more than {MAX_FRAMES} vPDQ frames (MAX_FRAMES)")
        if line.startswith("#"):
            words = line[1:].split()
            kind = _DIGEST_COMMENTS.get(words[0].lower()) if len(words) == 2 else None
            if kind is not None:
                try:
                    digests[kind.value] = parse_hash(words[1], kind)
                except ValueError as exc:
                    errors.append(RecordError(number, str(exc)))
            continue
        try:
            frames.append(parse_frame(line))
        except ValueError as exc:
            if len(errors) < MAX_FRAMES:
                errors.append(RecordError(number, str(exc)))
    if not frames:
        raise ValueError(f"{path}: no vPDQ lines 'frame,quality,hash,timestamp'")
    return iter([*errors, BankRecord(category=category, **digests, vpdq=tuple(frames))])


def write_vpdq(records: Iterable[BankRecord], out: TextIO) -> int:
    """Write the one video record of a bank as reference text; returns 1.

    Raises ValueError when the bank holds no video, or more than one record (the layout holds
    one video: export such banks as VICS).
    """
    written = 0
    for record in records:
        if written or not record.vpdq:
            raise ValueError(
                "the vpdq format holds exactly one video with vPDQ frames; use vics for this bank"
            )
        for name in ("md5", "sha1", "sha256"):
            value = getattr(record, name)
            if value:
                out.write(f"# {name} {value}\n")
        for frame in record.vpdq:
            out.write(frame_line(frame) + "\n")
        written = 1
    if not written:
        raise ValueError("the bank is empty: nothing to write as vpdq")
    return written

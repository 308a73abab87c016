"""Carving pictures and videos out of a disk image's free space with PhotoRec (Debian testdisk).

Free space is every byte of the image that no allocated file's data holds (partition gaps,
unallocated clusters, slack between partitions; file-system metadata areas too, where no picture
header can be). Those ranges are copied, sparse, into one temporary file, PhotoRec carves it
with only JPEG, PNG, GIF and MOV/MP4 enabled and no partition table (``partition_none``), and
each file it writes is named by its sector in that temporary file, which maps back to the byte
offset in the image. PhotoRec reads only the temporary copy, so it works for E01 as for raw
images, and the exhibit is never handed to it.
"""

from __future__ import annotations

import bisect
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from safeguard.evidence.items import EvidenceError, FileOrigin

#: PhotoRec's file-type families enabled; "mov" covers MP4/MOV/3GP (ISO base media files).
PHOTOREC_TYPES = ("jpg", "png", "gif", "mov")
#: Free space beyond this is not carved (an error says so); the copy needs as much temp space.
MAX_CARVE_BYTES = 64 << 30
_CARVED_NAME = re.compile(r"^f(?P<sector>\d+)(?:_[^.]*)?\.(?P<ext>[a-z0-9]{1,8})$")
_SECTOR = 512
_CHUNK = 1 << 20


def free_ranges(allocated: list[tuple[int, int]], size: int) -> list[tuple[int, int]]:
    """``[0, size)`` less the ``(start, length)`` ranges in ``allocated``, sector aligned.

    The rule: a byte is free unless an allocated range covers it; free ranges are shrunk to whole
    sectors, since carvers work in sectors.
    """
    merged: list[list[int]] = []
    for start, length in sorted(allocated):
        if length <= 0:
            continue
        end = start + length
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    free: list[tuple[int, int]] = []
    cursor = 0
    for start, end in [*merged, [size, size]]:
        lo = -(-cursor // _SECTOR) * _SECTOR
        hi = min(start, size) // _SECTOR * _SECTOR
        if hi > lo:
            free.append((lo, hi - lo))
        cursor = max(cursor, end)
    return free


def photorec_available() -> bool:
    return shutil.which("photorec") is not None or Path("/usr/bin/photorec").exists()


def carve_free_space(walk, expander) -> Iterator:  # noqa: ANN001 - images.ImageWalk, Expander
    """Items for each picture or video PhotoRec finds in the free space, flagged carved."""
    from safeguard.evidence.images import _read_content

    if not photorec_available():
        yield EvidenceError(
            "$Carved", "carving needs PhotoRec (Debian package testdisk); nothing carved"
        )
        return
    reader = walk.reader
    ranges = free_ranges(walk.allocated, reader.size)
    work = Path(tempfile.mkdtemp(prefix="sg-carve-", dir=expander.temp_dir))
    try:
        blob = work / "free.bin"
        starts: list[int] = []  # offset in the blob of each range
        origins: list[int] = []  # offset in the image of each range
        position = 0
        truncated = False
        with open(blob, "wb") as out:
            for start, length in ranges:
                if position + length > MAX_CARVE_BYTES:
                    length = MAX_CARVE_BYTES - position
                    truncated = True
                if length <= 0:
                    break
                starts.append(position)
                origins.append(start)
                done = 0
                while done < length:
                    piece = reader.read(start + done, min(_CHUNK, length - done))
                    if not piece:
                        break
                    if any(piece):
                        out.seek(position + done)
                        out.write(piece)
                    done += len(piece)
                position += length
                if truncated:
                    break
            out.truncate(position)
        if truncated:
            yield EvidenceError(
                "$Carved", f"free space larger than {MAX_CARVE_BYTES} bytes; the rest not carved"
            )
        if position == 0:
            return
        found = work / "recup"
        command = [
            shutil.which("photorec") or "/usr/bin/photorec",
            "/d",
            str(found),
            "/cmd",
            str(blob),
            "partition_none,options,mode_ext2,fileopt,everything,disable,"
            + ",".join(f"{kind},enable" for kind in PHOTOREC_TYPES)
            + ",search",
        ]
        done_run = subprocess.run(
            command, cwd=work, capture_output=True, check=False, timeout=24 * 3600
        )
        if done_run.returncode != 0:
            yield EvidenceError("$Carved", f"PhotoRec failed (exit {done_run.returncode})")
            return
        carved: list[tuple[int, str, Path]] = []
        for folder in sorted(work.glob("recup.*")):
            for file in folder.iterdir():
                match = _CARVED_NAME.match(file.name)
                if match is None:
                    continue
                blob_offset = int(match["sector"]) * _SECTOR
                index = bisect.bisect_right(starts, blob_offset) - 1
                if index < 0:
                    continue
                offset = origins[index] + blob_offset - starts[index]
                carved.append((offset, match["ext"], file))
        for offset, ext, file in sorted(carved):
            data = file.read_bytes()
            origin = FileOrigin(unallocated=True, physical_offset=offset, carved=True)
            path = f"$Carved/{offset:014d}.{ext}"

            def read(at: int, length: int, data: bytes = data) -> bytes:
                return data[at : at + length]

            yield from _read_content(path, len(data), read, origin, expander)
            file.unlink()
    finally:
        shutil.rmtree(work, ignore_errors=True)

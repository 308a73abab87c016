"""One archive entry on its way to becoming an item: limits, budgets and spilling to disk."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import BinaryIO

from safeguard.evidence.items import EvidenceItem
from safeguard.evidence.limits import RATIO_FLOOR_BYTES, EvidenceLimits
from safeguard.evidence.sniff import HEAD_BYTES

#: Bytes read from a decompressor at a time: bounds what one member costs in memory.
CHUNK_BYTES = 1 << 20


class EntryKind(Enum):
    FILE = "file"
    DIRECTORY = "directory"
    SYMLINK = "symbolic link"
    HARDLINK = "hard link"
    SPECIAL = "special file"


@dataclass
class Member:
    """An archive entry as its reader sees it, before any check has been made."""

    #: "zip" or "tar": used in messages.
    archive: str
    name: str
    kind: EntryKind
    modified: datetime | None = None
    #: Uncompressed size from the header; headers lie, so reads are metered too.
    declared_size: int | None = None
    #: Bytes the entry takes in the archive, where the format says (zip); for the ratio check.
    compressed_size: int | None = None
    encrypted: bool = False
    #: Link target, or what kind of special file (e.g. "character device").
    detail: str = ""
    #: Iterator over the entry's bytes; only called for entries that pass every check.
    chunks: Callable[[], Iterator[bytes]] | None = None
    #: Compressed bytes the reader has actually consumed for this entry so far, where the
    #: format does not say its compressed size up front (a zip member behind a data
    #: descriptor, a member of a compressed tar stream); for the ratio check.
    consumed: Callable[[], int] | None = None


class Stop(Exception):
    """Abandons an archive. ``owner`` names the archive it stops; None means the top-level one."""

    def __init__(self, logical_path: str, message: str, owner: object | None = None) -> None:
        super().__init__(message)
        self.logical_path = logical_path
        self.message = message
        self.owner = owner


class Rejected(Exception):
    """One member broke a limit while being read; the archive goes on."""


class Budget:
    """What one top-level archive may still expand into, across all its nested archives."""

    def __init__(self, limits: EvidenceLimits) -> None:
        self.limits = limits
        self.bytes_left = limits.max_total_bytes
        self.members_left = limits.max_members

    def take_member(self, logical_path: str) -> None:
        self.members_left -= 1
        if self.members_left < 0:
            raise Stop(
                logical_path,
                f"more than {self.limits.max_members} entries in one archive "
                "(max_members); the rest of the archive is skipped",
            )

    def take_bytes(self, count: int, logical_path: str) -> None:
        self.bytes_left -= count
        if self.bytes_left < 0:
            raise Stop(logical_path, self.exceeded())

    def exceeded(self) -> str:
        return (
            f"archive expands beyond {self.limits.max_total_bytes} bytes in all "
            "(max_total_bytes); the rest of the archive is skipped"
        )


def bomb_message(
    archive: str, size: int, compressed: int, limits: EvidenceLimits, declared: bool
) -> str:
    verb = "declares" if declared else "expands to more than"
    return (
        f"{archive} member looks like a compression bomb: {verb} {size} bytes from "
        f"{compressed} compressed (ratio over {limits.max_ratio:g})"
    )


def read_member(
    member: Member, logical_path: str, limits: EvidenceLimits, budget: Budget, temp_dir: str | None
) -> tuple[EvidenceItem, bytes]:
    """Read a member through every limit into memory or a spill file; returns it and its head.

    Sizes are counted on the bytes actually produced, chunk by chunk, so a header that
    understates a member cannot smuggle a bomb past the limits.
    """
    assert member.chunks is not None
    chunks = member.chunks()
    parts: list[bytes] = []
    head = b""
    size = 0
    spill: BinaryIO | None = None
    spill_path = ""
    try:
        if member.declared_size is not None and member.declared_size > limits.spill_bytes:
            spill, spill_path = _spill_file(temp_dir)
        for chunk in chunks:
            size += len(chunk)
            if size > limits.max_member_bytes:
                raise Rejected(
                    f"{member.archive} member expands beyond "
                    f"{limits.max_member_bytes} bytes (max_member_bytes)"
                )
            compressed = member.compressed_size
            if compressed is None and member.consumed is not None:
                compressed = member.consumed()
            if (
                compressed is not None
                and size > RATIO_FLOOR_BYTES
                and size > limits.max_ratio * max(compressed, 1)
            ):
                raise Rejected(bomb_message(member.archive, size, compressed, limits, False))
            budget.take_bytes(len(chunk), logical_path)
            if len(head) < HEAD_BYTES:
                head += chunk[: HEAD_BYTES - len(head)]
            if spill is None and size > limits.spill_bytes:
                spill, spill_path = _spill_file(temp_dir)
                spill.writelines(parts)
                parts = []
            if spill is not None:
                spill.write(chunk)
            else:
                parts.append(chunk)
        if spill is not None:
            spill.close()
            item = EvidenceItem(
                logical_path, size, member.modified, Path(spill_path), None, temporary=True
            )
        else:
            item = EvidenceItem(logical_path, size, member.modified, None, b"".join(parts))
        return item, head
    except BaseException:
        if spill is not None:
            spill.close()
            Path(spill_path).unlink(missing_ok=True)
        raise
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()


def describe(error: BaseException) -> str:
    """An exception as a short phrase for an error message."""
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__


def _spill_file(temp_dir: str | None) -> tuple[BinaryIO, str]:
    fd, path = tempfile.mkstemp(prefix="safeguard-member-", suffix=".spill", dir=temp_dir)
    return os.fdopen(fd, "wb"), path


def stream_chunks(stream: BinaryIO) -> Iterator[bytes]:
    with stream:
        while chunk := stream.read(CHUNK_BYTES):
            yield chunk

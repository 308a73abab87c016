"""What a walk over an exhibit yields: one item per file, one error per thing it could not read."""

from __future__ import annotations

import errno
import io
import os
import stat
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

_O_NOATIME = getattr(os, "O_NOATIME", 0)
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def open_readonly(
    path: str | os.PathLike[str], *, dir_fd: int | None = None, extra: int = 0
) -> int:
    """Open without following a final symbolic link and, where allowed, without touching atime.

    O_NOATIME is refused (EPERM) unless we own the file or hold CAP_FOWNER; then we open without
    it rather than fail, since a read-only mount or a ``noatime`` mount protects atime anyway.
    """
    flags = os.O_RDONLY | _O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0) | extra
    if _O_NOATIME:
        try:
            return os.open(path, flags | _O_NOATIME, dir_fd=dir_fd)
        except OSError as error:
            if error.errno != errno.EPERM:
                raise
    return os.open(path, flags, dir_fd=dir_fd)


def utc_from_timestamp(seconds: float) -> datetime | None:
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


@dataclass(frozen=True)
class FileOrigin:
    """Where a file of a disk image came from: its file-system record, or the carver.

    The flags are VICS MediaFile's: ``deleted`` (the directory entry or metadata entry is
    unallocated), ``unallocated`` (the content lies in unallocated space: a deleted file whose
    metadata was freed, or a carved file), ``physical_offset`` (byte offset in the image of the
    file's first byte, when it is stored outside the metadata record).
    """

    created: datetime | None = None
    modified: datetime | None = None
    accessed: datetime | None = None
    #: Metadata change time (ext ctime, NTFS MFT-entry modified); FAT has none.
    changed: datetime | None = None
    #: Inode or MFT entry number.
    inode: int | None = None
    deleted: bool = False
    unallocated: bool = False
    physical_offset: int | None = None
    carved: bool = False


@dataclass(frozen=True)
class EvidenceItem:
    """One file of the exhibit: a plain file, or a member expanded out of an archive.

    Exactly one of ``fs_path`` and ``data`` is set. ``data`` holds small archive members;
    ``fs_path`` is the file itself, or (``temporary=True``) a spill of a large member that the
    consumer must remove with :meth:`discard` once it has read it.
    """

    #: Posix path relative to the exhibit root; archive members as "dir/outer.zip!/inner/x.jpg".
    logical_path: str
    size: int
    #: Last modification, in UTC, from the file system or the archive header.
    modified: datetime | None
    fs_path: Path | None
    data: bytes | None = field(repr=False)
    temporary: bool = False
    #: File-system facts of a file inside a disk image (None for folders and archives).
    origin: FileOrigin | None = None

    def __post_init__(self) -> None:
        if (self.fs_path is None) == (self.data is None):
            raise ValueError("an evidence item has exactly one of fs_path and data")
        if self.temporary and self.fs_path is None:
            raise ValueError("only an item backed by a file can be temporary")

    def open(self) -> BinaryIO:
        """A read-only binary stream over the item's bytes."""
        if self.data is not None:
            return io.BufferedReader(io.BytesIO(self.data))  # type: ignore[arg-type]
        assert self.fs_path is not None
        fd = open_readonly(self.fs_path)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise OSError(errno.EINVAL, "not a regular file", str(self.fs_path))
            return os.fdopen(fd, "rb")
        except BaseException:
            os.close(fd)
            raise

    def discard(self) -> None:
        """Remove the spilled temporary file, if this item has one; never touches the exhibit."""
        if self.temporary and self.fs_path is not None:
            self.fs_path.unlink(missing_ok=True)


@dataclass(frozen=True)
class EvidenceError:
    """Something on the exhibit that was not read, or not read fully; the walk went on."""

    logical_path: str
    #: Human readable, e.g. "zip entry escapes the archive: ../../etc/passwd".
    message: str

    def __str__(self) -> str:
        return f"{self.logical_path}: {self.message}"

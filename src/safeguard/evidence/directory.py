"""Walk a directory tree read-only: sorted, without following links, one open file at a time."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

from safeguard.evidence.archives import Expander, Found
from safeguard.evidence.items import (
    EvidenceError,
    EvidenceItem,
    open_readonly,
    utc_from_timestamp,
)
from safeguard.evidence.members import describe
from safeguard.evidence.names import show
from safeguard.evidence.sniff import HEAD_BYTES, sniff

_SPECIAL = (
    (stat.S_ISCHR, "character device"),
    (stat.S_ISBLK, "block device"),
    (stat.S_ISFIFO, "FIFO"),
    (stat.S_ISSOCK, "socket"),
)


def text_name(name: str) -> str:
    """A file name as text: bytes that are not UTF-8 become ``\\xNN``, so paths store cleanly."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def special_kind(mode: int) -> str:
    for test, label in _SPECIAL:
        if test(mode):
            return label
    return "special file"


def link_error(logical_path: str, name: str, dir_fd: int | None) -> EvidenceError:
    try:
        target = f" to {show(text_name(os.readlink(name, dir_fd=dir_fd)))}"
    except OSError:
        target = ""
    return EvidenceError(logical_path, f"symbolic link{target}; not followed")


def read_file(
    name: str,
    dir_fd: int | None,
    logical_path: str,
    fs_path: Path,
    seen: os.stat_result,
    expander: Expander,
) -> Iterator[Found]:
    """One regular file: the item, then, if its content is an archive, what it holds."""
    try:
        fd = open_readonly(name, dir_fd=dir_fd, extra=os.O_NONBLOCK)
    except OSError as error:
        yield EvidenceError(logical_path, f"cannot open file: {describe(error)}")
        return
    handle = os.fdopen(fd, "rb")
    try:
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode) or (status.st_dev, status.st_ino) != (
            seen.st_dev,
            seen.st_ino,
        ):
            handle.close()
            yield EvidenceError(
                logical_path, "file was replaced while the exhibit was walked; not read"
            )
            return
        head = handle.read(HEAD_BYTES)
    except OSError as error:
        handle.close()
        yield EvidenceError(logical_path, f"cannot read file: {describe(error)}")
        return
    item = EvidenceItem(
        logical_path, status.st_size, utc_from_timestamp(status.st_mtime), fs_path, None
    )
    if sniff(head) is None:
        handle.close()  # hold no descriptor while the consumer works on the item
        yield item
        return
    with handle:
        yield item
        yield from expander.expand(handle, logical_path, head)


def walk_directory(root: Path, expander: Expander) -> Iterator[Found]:
    """Every entry under ``root``, depth first, each directory's entries sorted by name.

    Directories are opened with O_NOFOLLOW and their entries reached relative to the open
    descriptor, so a link swapped in mid-walk can lead nowhere outside the exhibit.
    """
    stack: list[tuple[int, str, Path, Iterator[str]]] = []
    try:
        frame = _open_directory(None, str(root), "", root)
        if isinstance(frame, EvidenceError):
            yield EvidenceError(".", frame.message)
            return
        stack.append(frame)
        while stack:
            dir_fd, prefix, fs_dir, names = stack[-1]
            name = next(names, None)
            if name is None:
                os.close(dir_fd)
                stack.pop()
                continue
            logical_path = prefix + text_name(name)
            fs_path = fs_dir / name
            try:
                status = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
            except OSError as error:
                yield EvidenceError(logical_path, f"cannot inspect: {describe(error)}")
                continue
            mode = status.st_mode
            if stat.S_ISLNK(mode):
                yield link_error(logical_path, name, dir_fd)
            elif stat.S_ISDIR(mode):
                frame = _open_directory(dir_fd, name, logical_path + "/", fs_path)
                if isinstance(frame, EvidenceError):
                    yield EvidenceError(logical_path, frame.message)
                else:
                    stack.append(frame)
            elif stat.S_ISREG(mode):
                yield from read_file(name, dir_fd, logical_path, fs_path, status, expander)
            else:
                yield EvidenceError(logical_path, f"{special_kind(mode)}; skipped")
    finally:
        for dir_fd, *_ in stack:
            os.close(dir_fd)


def _open_directory(
    parent_fd: int | None, name: str, prefix: str, fs_path: Path
) -> tuple[int, str, Path, Iterator[str]] | EvidenceError:
    try:
        fd = open_readonly(name, dir_fd=parent_fd, extra=os.O_DIRECTORY)
    except OSError as error:
        return EvidenceError(prefix, f"cannot open directory: {describe(error)}")
    try:
        with os.scandir(fd) as entries:
            names = sorted((entry.name for entry in entries), key=os.fsencode)
    except OSError as error:
        os.close(fd)
        return EvidenceError(prefix, f"cannot list directory: {describe(error)}")
    return fd, prefix, fs_path, iter(names)

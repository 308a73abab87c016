"""The entry point: every file of an exhibit, whatever shape the exhibit takes."""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from safeguard.evidence.archives import Expander, Found
from safeguard.evidence.directory import (
    link_error,
    read_file,
    special_kind,
    text_name,
    walk_directory,
)
from safeguard.evidence.images import image_kind, recognised, walk_image
from safeguard.evidence.items import EvidenceError, open_readonly
from safeguard.evidence.limits import EvidenceLimits
from safeguard.evidence.sniff import HEAD_BYTES

DEFAULT_LIMITS = EvidenceLimits()


def iter_evidence(
    root: Path,
    limits: EvidenceLimits = DEFAULT_LIMITS,
    *,
    temp_dir: Path | None = None,
    carve: bool = False,
) -> Iterator[Found]:
    """Every file of the exhibit at ``root`` (a directory, a file, an archive), read-only.

    Yields an :class:`EvidenceItem` per file, archive members included (and each archive itself),
    and an :class:`EvidenceError` per thing not read; it never stops at a bad file. The order and
    the logical paths are the same on every run, which is what lets an ingest resume.
    A disk image given as ``root`` (E01, raw/dd, split raw ``.001``; see
    :mod:`safeguard.evidence.images`) is walked partition by partition, file system by file
    system, deleted files included; ``carve`` adds what PhotoRec carves from its free space.
    Large archive members are spilled into ``temp_dir`` (default: the system's), which must not
    lie inside the exhibit. Raises FileNotFoundError, eagerly, if ``root`` does not exist.
    """
    root = Path(os.path.abspath(root))
    status = os.lstat(root)
    scratch = Path(temp_dir if temp_dir is not None else tempfile.gettempdir()).resolve()
    if stat.S_ISDIR(status.st_mode) and scratch.is_relative_to(root.resolve()):
        raise ValueError(
            f"temporary directory {scratch} is inside the exhibit {root}; pass a temp_dir elsewhere"
        )
    expander = Expander(limits, str(temp_dir) if temp_dir is not None else None)
    return _walk(root, status, expander, carve)


def disk_image_kind(root: Path) -> str | None:
    """The kind of disk image ``root`` is (see :func:`images.image_kind`), or None."""
    try:
        if not stat.S_ISREG(os.lstat(root).st_mode):
            return None
        fd = open_readonly(root)
        with os.fdopen(fd, "rb") as handle:
            head = handle.read(HEAD_BYTES)
            size = os.fstat(fd).st_size
            tail = b""
            if size >= 2 * HEAD_BYTES:
                handle.seek(size - HEAD_BYTES)
                tail = handle.read(HEAD_BYTES)
    except OSError:
        return None
    kind = image_kind(Path(root), head, tail)
    if kind in ("raw", "split") and not recognised(Path(root), kind):
        return None  # named like a raw disk, but no partition table or file system: a file
    return kind


def _walk(root: Path, status: os.stat_result, expander: Expander, carve: bool) -> Iterator[Found]:
    mode = status.st_mode
    kind = disk_image_kind(root) if stat.S_ISREG(mode) else None
    if kind is not None:
        yield from walk_image(root, kind, expander, carve=carve)
        return
    name = text_name(root.name) or "."
    if stat.S_ISDIR(mode):
        yield from walk_directory(root, expander)
    elif stat.S_ISLNK(mode):
        yield link_error(name, str(root), None)
    elif stat.S_ISREG(mode):
        yield from read_file(str(root), None, name, root, status, expander)
    else:
        yield EvidenceError(name, f"{special_kind(mode)}; skipped")

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
from safeguard.evidence.items import EvidenceError
from safeguard.evidence.limits import EvidenceLimits

DEFAULT_LIMITS = EvidenceLimits()


def iter_evidence(
    root: Path,
    limits: EvidenceLimits = DEFAULT_LIMITS,
    *,
    temp_dir: Path | None = None,
) -> Iterator[Found]:
    """Every file of the exhibit at ``root`` (a directory, a file, an archive), read-only.

    Yields an :class:`EvidenceItem` per file, archive members included (and each archive itself),
    and an :class:`EvidenceError` per thing not read; it never stops at a bad file. The order and
    the logical paths are the same on every run, which is what lets an ingest resume.
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
    return _walk(root, status, expander)


def _walk(root: Path, status: os.stat_result, expander: Expander) -> Iterator[Found]:
    mode = status.st_mode
    name = text_name(root.name) or "."
    if stat.S_ISDIR(mode):
        yield from walk_directory(root, expander)
    elif stat.S_ISLNK(mode):
        yield link_error(name, str(root), None)
    elif stat.S_ISREG(mode):
        yield from read_file(str(root), None, name, root, status, expander)
    else:
        yield EvidenceError(name, f"{special_kind(mode)}; skipped")

"""Archive member names: refuse the hostile ones, normalise the rest into logical paths."""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[\\/]")
_DRIVE = re.compile(r"^[A-Za-z]:")


def show(name: str) -> str:
    """The name as given, with control characters escaped so a message stays on one line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in name)


def member_path(name: str, kind: str) -> tuple[str, None] | tuple[None, str]:
    """``(logical name, None)`` for a safe member name, ``(None, message)`` for a hostile one.

    Backslashes count as separators when looking for ``..`` and absolute paths (Windows tools
    write them), but a safe name keeps its characters: only empty and ``.`` components go.
    """
    shown = show(name)
    if "\x00" in name:
        return None, f"{kind} entry name contains a NUL byte: {shown}"
    if name.startswith(("\\\\", "//")):
        return None, f"{kind} entry has a network (UNC) path: {shown}"
    if name.startswith(("/", "\\")):
        return None, f"{kind} entry has an absolute path: {shown}"
    if _DRIVE.match(name):
        return None, f"{kind} entry has a Windows drive path: {shown}"
    if ".." in _SEPARATORS.split(name):
        return None, f"{kind} entry escapes the archive: {shown}"
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if not parts:
        return None, f"{kind} entry has an empty name: {shown!r}"
    return "/".join(parts), None


#: Put between a repeated path and its ordinal. No logical path of a file contains "//" (empty
#: name components are dropped, file names cannot hold "/"), so a later member can never be
#: named like an earlier duplicate, whatever its name: ``dup.jpg``, ``dup.jpg`` and
#: ``dup.jpg [duplicate 2]`` keep distinct paths, each its own.
DUPLICATE_MARK = " // duplicate "


def unique_logical_path(path: str, taken: set[str]) -> str:
    """``path``, or ``path // duplicate N`` when it is already taken: archives may hold two
    members of one name, and both are kept, named the same way by every walk of the exhibit."""
    if path not in taken:
        return path
    n = 2
    while f"{path}{DUPLICATE_MARK}{n}" in taken:
        n += 1
    return f"{path}{DUPLICATE_MARK}{n}"

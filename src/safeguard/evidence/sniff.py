"""Recognise archives by their content, never by their name."""

from __future__ import annotations

from enum import StrEnum

#: Bytes of a file's start that :func:`sniff` needs to see.
HEAD_BYTES = 512


class Container(StrEnum):
    ZIP = "zip"
    TAR = "tar"
    GZIP = "gzip"
    BZIP2 = "bzip2"
    XZ = "xz"

    @property
    def compressed(self) -> bool:
        return self in (Container.GZIP, Container.BZIP2, Container.XZ)


def looks_like_tar(head: bytes) -> bool:
    """A ustar/GNU magic at 257, or failing that a valid v7 header checksum."""
    if len(head) < HEAD_BYTES:
        return False
    if head[257:262] == b"ustar":
        return True
    field = head[148:156].replace(b"\x00", b" ").strip()
    if not field or not head[0] or any(c not in b"01234567" for c in field):
        return False
    unsigned = sum(head[:148]) + 8 * 32 + sum(head[156:512])
    return int(field, 8) == unsigned


def sniff(head: bytes) -> Container | None:
    """The container format a file starts with; a compressed stream may or may not hold a tar."""
    if head.startswith(b"PK\x03\x04"):
        return Container.ZIP
    if head.startswith(b"\x1f\x8b\x08"):
        return Container.GZIP
    if head.startswith(b"BZh") and head[4:10] == b"1AY&SY":
        return Container.BZIP2
    if head.startswith(b"\xfd7zXZ\x00"):
        return Container.XZ
    if looks_like_tar(head):
        return Container.TAR
    return None

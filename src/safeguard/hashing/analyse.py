"""``analyse_file``: everything the ingest workers learn from one file, reading it once."""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

from safeguard.domain.kinds import MediaKind
from safeguard.hashing.digests import DEFAULT_CHUNK, MultiDigest, digest_bytes
from safeguard.hashing.facts import Digests, FileFacts, ImageError, ImageFacts, Sniffed
from safeguard.hashing.images import DEFAULT_MAX_PIXELS, analyse_image
from safeguard.hashing.sniff import HEAD_SIZE, sniff

#: Images up to this size are kept in memory for decoding; bigger ones are only digested.
MAX_IMAGE_BYTES = 512 * 1024 * 1024

Source = Path | str | os.PathLike[str] | bytes | bytearray | memoryview | BinaryIO


def analyse_file(
    source: Source,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_image_bytes: int = MAX_IMAGE_BYTES,
    chunk: int = DEFAULT_CHUNK,
) -> FileFacts:
    """Digests, type and (for images) PDQ and EXIF of one file, from a single read.

    ``source`` is a path (opened read-only, without updating its access time where the OS
    allows), the file's bytes, or a readable binary stream (read from its current position).
    Decoding problems never raise: they are recorded in ``FileFacts.error`` and the digests are
    still returned. A path that cannot be opened or read raises ``OSError``.
    """
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source) if not isinstance(source, bytes) else source
        return _facts(digest_bytes(data), sniff(data[:HEAD_SIZE]), data, max_pixels)
    if isinstance(source, str | os.PathLike):
        with _open_readonly(Path(source)) as stream:
            size = os.fstat(stream.fileno()).st_size
            return _from_stream(stream, size, max_pixels, max_image_bytes, chunk)
    return _from_stream(source, None, max_pixels, max_image_bytes, chunk)


def _from_stream(
    stream: BinaryIO, size_hint: int | None, max_pixels: int, max_image_bytes: int, chunk: int
) -> FileFacts:
    digest = MultiDigest()
    first = _read_at_least(stream, max(chunk, HEAD_SIZE))
    digest.update(first)
    sniffed = sniff(first[:HEAD_SIZE])
    keep = sniffed.kind is MediaKind.IMAGE and (size_hint is None or size_hint <= max_image_bytes)
    kept: list[bytes] | None = [first] if keep else None
    while True:
        if kept is not None and digest.size > max_image_bytes:
            kept = None  # the size hint was wrong, or there was none: stop keeping
        data = stream.read(chunk)
        if not data:
            break
        digest.update(data)
        if kept is not None:
            kept.append(data)
    digests = digest.result()
    if sniffed.kind is MediaKind.IMAGE and kept is None:
        mib = max_image_bytes / (1024 * 1024)
        return FileFacts(
            digests,
            sniffed.mime,
            sniffed.kind,
            sniffed.format,
            error=f"image not decoded: {digests.size:,} bytes is over the {mib:g} MiB limit",
        )
    data = b"".join(kept) if kept else b""
    del kept
    return _facts(digests, sniffed, data, max_pixels)


def _facts(digests: Digests, sniffed: Sniffed, data: bytes, max_pixels: int) -> FileFacts:
    image: ImageFacts | None = None
    error: str | None = None
    if sniffed.kind is MediaKind.IMAGE:
        try:
            image = analyse_image(data, max_pixels=max_pixels)
        except ImageError as exc:
            error = str(exc)
        except Exception as exc:  # a decoder bug must not stop an exhibit's ingest
            error = f"image analysis failed: {type(exc).__name__}: {exc}"
    return FileFacts(
        digests=digests,
        mime=sniffed.mime,
        kind=sniffed.kind,
        format=sniffed.format,
        image=image,
        error=error,
    )


def _read_at_least(stream: BinaryIO, n: int) -> bytes:
    """Up to ``n`` bytes, fewer only at end of file (raw streams may return short reads)."""
    parts: list[bytes] = []
    got = 0
    while got < n:
        data = stream.read(n - got)
        if not data:
            break
        parts.append(data)
        got += len(data)
    return b"".join(parts)


def _open_readonly(path: Path) -> BinaryIO:
    """Open for reading only; on Linux try O_NOATIME so evidence access times stay untouched."""
    flags = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    noatime = getattr(os, "O_NOATIME", 0)
    fd: int | None = None
    if noatime:
        try:
            fd = os.open(path, flags | noatime)
        except PermissionError:
            fd = None  # O_NOATIME needs the file's owner (or CAP_FOWNER)
    if fd is None:
        fd = os.open(path, flags)
    return os.fdopen(fd, "rb")

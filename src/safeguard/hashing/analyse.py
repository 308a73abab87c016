"""``analyse_file``: everything the ingest workers learn from one file, reading it once."""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

from safeguard.domain.kinds import MediaKind
from safeguard.hashing import timing
from safeguard.hashing.digests import DEFAULT_CHUNK, MultiDigest, digest_bytes
from safeguard.hashing.facts import Digests, FileFacts, ImageError, ImageFacts, Sniffed
from safeguard.hashing.images import DEFAULT_MAX_PIXELS, analyse_image
from safeguard.hashing.sniff import HEAD_SIZE, sniff
from safeguard.hashing.video_analysis import add_video_facts, stream_start

#: Images up to this size are kept in memory for decoding; bigger ones are only digested.
MAX_IMAGE_BYTES = 512 * 1024 * 1024

Source = Path | str | os.PathLike[str] | bytes | bytearray | memoryview | BinaryIO


def analyse_file(
    source: Source,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_image_bytes: int = MAX_IMAGE_BYTES,
    chunk: int = DEFAULT_CHUNK,
    previews: bool = False,
) -> FileFacts:
    """Digests, type, (for images) PDQ and EXIF, and (for videos) vPDQ, of one file.

    Images come from a single read; a video is read a second time by the decoder.
    ``previews=True`` (the ingest) also makes a picture's review previews from the same decode.

    ``source`` is a path (opened read-only, without updating its access time where the OS
    allows), the file's bytes, or a readable binary stream (read from its current position).
    Decoding problems never raise: they are recorded in ``FileFacts.error`` and the digests are
    still returned. A path that cannot be opened or read raises ``OSError``.
    """
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source) if not isinstance(source, bytes) else source
        started = timing.now()
        digests = digest_bytes(data)
        timing.add("digest", started)
        facts = _facts(digests, sniff(data[:HEAD_SIZE]), data, max_pixels, previews)
        return add_video_facts(facts, data)  # videos: probe, vPDQ, keyframes
    if isinstance(source, str | os.PathLike):
        with _open_readonly(Path(source)) as stream:
            size = os.fstat(stream.fileno()).st_size
            whole = _read_whole_image(stream, size, max_image_bytes)
            if whole is not None:
                facts = _from_bytes(whole, max_pixels, max_image_bytes, previews)
                return add_video_facts(facts, whole)  # (only if it changed under us)
            facts = _from_stream(stream, size, max_pixels, max_image_bytes, chunk, previews)
            return add_video_facts(facts, stream)  # the same no-atime handle, read again
    start = stream_start(source)
    facts = _from_stream(source, None, max_pixels, max_image_bytes, chunk, previews)
    return add_video_facts(facts, source, start=start)


def _read_whole_image(stream: BinaryIO, size: int, max_image_bytes: int) -> bytes | None:
    """The whole file in one read when its head says it is an image that will be decoded.

    One allocation and one copy out of the page cache, where the chunked path reads, keeps and
    joins 1 MiB pieces. None (nothing read, the stream still at its start) otherwise:
    non-images and images over the limit are streamed in chunks by ``_from_stream``.
    """
    if size > max_image_bytes:
        return None
    try:
        head = os.pread(stream.fileno(), HEAD_SIZE, 0)
    except (AttributeError, OSError):
        return None  # no pread on this platform, or not a regular file
    if sniff(head).kind is not MediaKind.IMAGE:
        return None
    started = timing.now()
    raw = getattr(stream, "raw", None)
    data = raw.readall() if raw is not None else stream.read()  # nothing is buffered yet
    timing.add("read", started)
    return data or b""


def _from_bytes(
    data: bytes, max_pixels: int, max_image_bytes: int, previews: bool = False
) -> FileFacts:
    started = timing.now()
    digests = digest_bytes(data)
    timing.add("digest", started)
    sniffed = sniff(data[:HEAD_SIZE])
    if sniffed.kind is MediaKind.IMAGE and len(data) > max_image_bytes:
        return _too_big(digests, sniffed, max_image_bytes)  # it grew since its size was read
    return _facts(digests, sniffed, data, max_pixels, previews)


def _from_stream(
    stream: BinaryIO,
    size_hint: int | None,
    max_pixels: int,
    max_image_bytes: int,
    chunk: int,
    previews: bool = False,
) -> FileFacts:
    digest = MultiDigest()
    started = timing.now()
    first = _read_at_least(stream, max(chunk, HEAD_SIZE))
    started = timing.add("read", started)
    digest.update(first)
    timing.add("digest", started)
    sniffed = sniff(first[:HEAD_SIZE])
    keep = sniffed.kind is MediaKind.IMAGE and (size_hint is None or size_hint <= max_image_bytes)
    kept: list[bytes] | None = [first] if keep else None
    while True:
        if kept is not None and digest.size > max_image_bytes:
            kept = None  # the size hint was wrong, or there was none: stop keeping
        started = timing.now()
        data = stream.read(chunk)
        started = timing.add("read", started)
        if not data:
            break
        digest.update(data)
        timing.add("digest", started)
        if kept is not None:
            kept.append(data)
    digests = digest.result()
    if sniffed.kind is MediaKind.IMAGE and kept is None:
        return _too_big(digests, sniffed, max_image_bytes)
    data = b"".join(kept) if kept else b""
    del kept
    return _facts(digests, sniffed, data, max_pixels, previews)


def _too_big(digests: Digests, sniffed: Sniffed, max_image_bytes: int) -> FileFacts:
    mib = max_image_bytes / (1024 * 1024)
    return FileFacts(
        digests,
        sniffed.mime,
        sniffed.kind,
        sniffed.format,
        error=f"image not decoded: {digests.size:,} bytes is over the {mib:g} MiB limit",
    )


def _facts(
    digests: Digests, sniffed: Sniffed, data: bytes, max_pixels: int, previews: bool = False
) -> FileFacts:
    image: ImageFacts | None = None
    error: str | None = None
    if sniffed.kind is MediaKind.IMAGE:
        try:
            image = analyse_image(data, max_pixels=max_pixels, previews=previews)
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

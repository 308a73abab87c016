"""Tar archives, plain or compressed (gzip, bzip2, xz)."""

from __future__ import annotations

import bz2
import gzip
import lzma
import tarfile
from collections.abc import Iterator
from functools import partial
from typing import BinaryIO

from safeguard.evidence.items import EvidenceError, utc_from_timestamp
from safeguard.evidence.limits import STREAM_RATIO_FLOOR_BYTES, EvidenceLimits
from safeguard.evidence.members import (
    CHUNK_BYTES,
    EntryKind,
    Member,
    Stop,
    describe,
    stream_chunks,
)
from safeguard.evidence.names import show
from safeguard.evidence.sniff import Container


def open_decompressor(container: Container, raw: BinaryIO) -> BinaryIO:
    if container is Container.GZIP:
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    if container is Container.BZIP2:
        return bz2.BZ2File(raw, "rb")  # type: ignore[return-value]
    if container is Container.XZ:
        return lzma.LZMAFile(raw, "rb")  # type: ignore[return-value]
    raise ValueError(f"{container} is not a compression format")


class _Counted:
    """Counts the compressed bytes a decompressor takes in, for the ratio check."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.count += len(data)
        return data

    def readable(self) -> bool:
        return True


class _Meter:
    """The decompressed stream as tarfile reads it, stopped at the total and ratio limits.

    Everything tarfile decompresses passes here, including members it skips, so a compressed
    tar cannot make us inflate more than ``max_total_bytes`` whatever its headers say.
    """

    def __init__(
        self,
        container: Container,
        raw: BinaryIO,
        logical_path: str,
        limits: EvidenceLimits,
        owner: object,
    ) -> None:
        self.counted = _Counted(raw)
        self.inner = open_decompressor(container, self.counted)  # type: ignore[arg-type]
        self.container = container
        self.logical_path = logical_path
        self.limits = limits
        self.owner = owner
        self.produced = 0

    def read(self, size: int = -1) -> bytes:
        data = self.inner.read(size if size is not None and size >= 0 else CHUNK_BYTES)
        self.produced += len(data)
        limits = self.limits
        if self.produced > limits.max_total_bytes:
            raise Stop(
                self.logical_path,
                f"{self.container} stream expands beyond "
                f"{limits.max_total_bytes} bytes (max_total_bytes); the rest of the "
                "archive is skipped",
                self.owner,
            )
        if self.produced > STREAM_RATIO_FLOOR_BYTES and self.produced > limits.max_ratio * max(
            self.counted.count, 1
        ):
            raise Stop(
                self.logical_path,
                f"{self.container} stream looks like a compression "
                f"bomb: {self.produced} bytes from {self.counted.count} compressed (ratio "
                f"over {limits.max_ratio:g}); the rest of the archive is skipped",
                self.owner,
            )
        return data

    def since(self, start: int) -> int:
        """Compressed bytes taken in since the count was ``start``."""
        return self.counted.count - start

    def close(self) -> None:
        self.inner.close()


#: Largest pax or GNU long-name header read: tarfile holds such a header whole in memory.
EXTENDED_HEADER_BYTES = 4 << 20
_EXTENDED_TYPES = frozenset(
    {
        tarfile.XHDTYPE,
        tarfile.XGLTYPE,
        tarfile.SOLARIS_XHDTYPE,
        tarfile.GNUTYPE_LONGNAME,
        tarfile.GNUTYPE_LONGLINK,
    }
)


class _TarInfo(tarfile.TarInfo):
    """Refuses giant extended headers, and remembers why tarfile stopped: it ends silently on a
    damaged or missing header, which for evidence must be reported."""

    @classmethod
    def frombuf(cls, buf: bytes, encoding: str, errors: str) -> tarfile.TarInfo:
        info = super().frombuf(buf, encoding, errors)
        if info.type in _EXTENDED_TYPES and info.size > EXTENDED_HEADER_BYTES:
            raise tarfile.InvalidHeaderError(
                f"extended header of {info.size} bytes, more than {EXTENDED_HEADER_BYTES}"
            )
        return info

    @classmethod
    def fromtarfile(cls, tar: tarfile.TarFile) -> tarfile.TarInfo:
        try:
            return super().fromtarfile(tar)
        except tarfile.HeaderError as error:
            tar.safeguard_header_error = error  # type: ignore[attr-defined]
            raise


_SPECIAL = {
    tarfile.CHRTYPE: "character device",
    tarfile.BLKTYPE: "block device",
    tarfile.FIFOTYPE: "FIFO",
}


def tar_entries(
    handle: BinaryIO, logical_path: str, container: Container, limits: EvidenceLimits, owner: object
) -> Iterator[Member | EvidenceError]:
    """Entries in stored order. A compressed tar is read as a stream, never seeking back."""
    handle.seek(0)
    meter: _Meter | None = None
    try:
        if container is Container.TAR:
            archive = tarfile.open(fileobj=handle, mode="r:", tarinfo=_TarInfo)  # noqa: SIM115
        else:
            meter = _Meter(container, handle, logical_path, limits, owner)
            stream: BinaryIO = meter  # type: ignore[assignment]
            archive = tarfile.open(fileobj=stream, mode="r|", tarinfo=_TarInfo)  # noqa: SIM115
    except Stop:
        raise
    except Exception as error:  # hostile input: any parser failure is the archive's fault
        if meter is not None:
            meter.close()
        yield EvidenceError(logical_path, f"tar archive cannot be read: {describe(error)}")
        return
    try:
        last = ""
        while True:
            archive.safeguard_header_error = None  # type: ignore[attr-defined]
            try:
                info = archive.next()
            except Stop:
                raise
            except Exception as error:
                after = f" after {show(last)}" if last else ""
                yield EvidenceError(
                    logical_path,
                    f"tar archive is truncated or damaged{after} "
                    f"({describe(error)}); the rest is not read",
                )
                return
            if info is None:
                break
            archive.members.clear()  # a stream of a million entries must not pile up here
            last = info.name
            member = _member(archive, info)
            if meter is not None:
                member.consumed = partial(meter.since, meter.counted.count)
            yield member
        problem = _end_problem(getattr(archive, "safeguard_header_error", None), last)
        if problem:
            yield EvidenceError(logical_path, problem)
    finally:
        archive.close()
        if meter is not None:
            meter.close()


def _end_problem(error: BaseException | None, last: str) -> str | None:
    after = f" after {show(last)}" if last else ""
    if error is None or isinstance(error, tarfile.EOFHeaderError):
        return None
    if isinstance(error, tarfile.EmptyHeaderError):
        return f"tar archive ends{after} without its end-of-archive marker; it may be truncated"
    if isinstance(error, tarfile.TruncatedHeaderError):
        return f"tar archive is truncated inside a header{after}; the rest is lost"
    return f"tar header{after} is damaged ({error}); the rest of the archive is not read"


def _member(archive: tarfile.TarFile, info: tarfile.TarInfo) -> Member:
    entry = partial(Member, "tar", info.name, modified=utc_from_timestamp(info.mtime))
    if info.isreg():
        return entry(
            EntryKind.FILE, declared_size=info.size, chunks=partial(_chunks, archive, info)
        )
    if info.isdir():
        return entry(EntryKind.DIRECTORY)
    if info.issym():
        return entry(EntryKind.SYMLINK, detail=info.linkname)
    if info.islnk():
        return entry(EntryKind.HARDLINK, detail=info.linkname)
    detail = _SPECIAL.get(info.type, f"tar entry of type {info.type!r}")
    return entry(EntryKind.SPECIAL, detail=detail)


def _chunks(archive: tarfile.TarFile, info: tarfile.TarInfo) -> Iterator[bytes]:
    stream = archive.extractfile(info)
    if stream is None:
        raise ValueError("tar entry has no data")
    return stream_chunks(stream)  # type: ignore[arg-type]

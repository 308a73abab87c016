"""Zip archives: read through their central directory, or recovered from their local headers."""

from __future__ import annotations

import os
import stat
import struct
import zipfile
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import partial
from typing import BinaryIO

from safeguard.evidence.items import EvidenceError, utc_from_timestamp
from safeguard.evidence.limits import RATIO_FLOOR_BYTES, EvidenceLimits
from safeguard.evidence.members import (
    CHUNK_BYTES,
    Budget,
    EntryKind,
    Member,
    Stop,
    describe,
    stream_chunks,
)
from safeguard.evidence.names import show

_EOCD = struct.Struct("<4s4H2LH")
_ZIP64_LOCATOR = struct.Struct("<4sLQL")
_ZIP64_EOCD = struct.Struct("<4sQ2H2L4Q")
_UNIX = 3
_SPECIAL = {
    stat.S_IFCHR: "character device",
    stat.S_IFBLK: "block device",
    stat.S_IFIFO: "FIFO",
    stat.S_IFSOCK: "socket",
}


def declared_entries(handle: BinaryIO) -> int | None:
    """The entry count in the end-of-central-directory record (zip64 too), if it can be found.

    Read before :class:`zipfile.ZipFile` loads the whole directory into memory, so that a
    directory of millions of entries is refused without being built.
    """
    size = handle.seek(0, os.SEEK_END)
    tail_start = max(0, size - (_EOCD.size + 0xFFFF))
    handle.seek(tail_start)
    tail = handle.read(size - tail_start)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < _EOCD.size:
        return None
    total = _EOCD.unpack_from(tail, at)[4]
    if total != 0xFFFF:
        return total
    locator_at = tail_start + at - _ZIP64_LOCATOR.size
    if locator_at < 0:
        return total
    handle.seek(locator_at)
    locator = handle.read(_ZIP64_LOCATOR.size)
    if len(locator) < _ZIP64_LOCATOR.size or locator[:4] != b"PK\x06\x07":
        return total
    handle.seek(_ZIP64_LOCATOR.unpack(locator)[2])
    record = handle.read(_ZIP64_EOCD.size)
    if len(record) < _ZIP64_EOCD.size or record[:4] != b"PK\x06\x06":
        return total
    return _ZIP64_EOCD.unpack(record)[7]


def extended_mtime(extra: bytes) -> int | None:
    """The UTC mtime of an "extended timestamp" (0x5455) extra field, if there is one."""
    at = 0
    while at + 4 <= len(extra):
        tag, size = struct.unpack_from("<HH", extra, at)
        body = extra[at + 4 : at + 4 + size]
        if tag == 0x5455 and len(body) >= 5 and body[0] & 1:
            return struct.unpack_from("<i", body, 1)[0]
        at += 4 + size
    return None


def zip_mtime(date_time: tuple[int, ...], extra: bytes) -> datetime | None:
    """UTC from the extended timestamp; else the DOS time, which has no zone, read as UTC."""
    unix = extended_mtime(extra)
    if unix is not None:
        return utc_from_timestamp(unix)
    try:
        return datetime(*date_time, tzinfo=UTC)
    except (TypeError, ValueError):
        return None


def zip_entries(
    handle: BinaryIO, logical_path: str, budget: Budget
) -> Iterator[Member | EvidenceError]:
    limit = budget.limits.max_members
    count = declared_entries(handle)
    if count is not None and count > budget.members_left:
        raise Stop(
            logical_path,
            f"zip lists {count} entries, more than the {limit} allowed in "
            "one archive (max_members); not opened",
        )
    handle.seek(0)
    try:
        archive = zipfile.ZipFile(handle)
    except Exception as error:  # hostile input: any parser failure is the archive's fault
        yield EvidenceError(
            logical_path,
            f"zip directory cannot be read ({describe(error)}); "
            "recovering members from their local headers",
        )
        yield from recover_members(handle, logical_path, budget.limits)
        return
    with archive:
        for info in archive.infolist():
            yield _member(archive, info)


def _member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> Member:
    mode = info.external_attr >> 16 if info.create_system == _UNIX else 0
    # zipfile cuts a name at its first NUL; the name as stored is kept so the walk refuses it.
    name = info.orig_filename if "\x00" in info.orig_filename else info.filename
    kind, detail = EntryKind.FILE, ""
    if info.is_dir() or stat.S_ISDIR(mode):
        kind = EntryKind.DIRECTORY
    elif stat.S_ISLNK(mode):
        kind = EntryKind.SYMLINK
    elif stat.S_IFMT(mode) in _SPECIAL:
        kind, detail = EntryKind.SPECIAL, _SPECIAL[stat.S_IFMT(mode)]
    return Member(
        archive="zip",
        name=name,
        kind=kind,
        modified=zip_mtime(info.date_time, info.extra),
        declared_size=info.file_size,
        compressed_size=info.compress_size,
        encrypted=bool(info.flag_bits & 0x1),
        detail=detail,
        chunks=partial(_chunks, archive, info),
    )


def _chunks(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> Iterator[bytes]:
    return stream_chunks(archive.open(info))  # type: ignore[arg-type]


# Recovery: a zip whose central directory is missing (a truncated download, a carved file) still
# holds its members one after another, each behind a local header. Walk those headers from the
# start, as far as they go.

_LOCAL = struct.Struct("<4sHHHHHLLLHH")
_LOCAL_SIGNATURE = b"PK\x03\x04"
_DIRECTORY_SIGNATURES = (b"PK\x01\x02", b"PK\x05\x06", b"PK\x06\x06")
_STORED, _DEFLATED = 0, 8


def recover_members(
    handle: BinaryIO, logical_path: str, limits: EvidenceLimits
) -> Iterator[Member | EvidenceError]:
    offset = 0
    while True:
        handle.seek(offset)
        fixed = handle.read(_LOCAL.size)
        if fixed[:4] in _DIRECTORY_SIGNATURES:
            return
        if len(fixed) < _LOCAL.size or fixed[:4] != _LOCAL_SIGNATURE:
            yield EvidenceError(
                logical_path,
                f"zip archive is truncated or damaged at byte "
                f"{offset}; no later member can be recovered",
            )
            return
        (_, _, flags, method, dos_time, dos_date, crc, compressed, size, name_len, extra_len) = (
            _LOCAL.unpack(fixed)
        )
        raw_name = handle.read(name_len)
        extra = handle.read(extra_len)
        if len(raw_name) < name_len or len(extra) < extra_len:
            yield EvidenceError(
                logical_path,
                f"zip archive is truncated inside the header at "
                f"byte {offset}; no later member can be recovered",
            )
            return
        zip64 = _zip64_sizes(extra)
        if zip64 is not None:
            size = zip64[0] if size == 0xFFFFFFFF else size
            compressed = zip64[1] if compressed == 0xFFFFFFFF else compressed
        data = _LocalData(
            handle,
            offset + _LOCAL.size + name_len + extra_len,
            method,
            flags,
            None if flags & 0x08 else compressed,
            None if flags & 0x08 else crc,
            zip64 is not None,
            limits,
        )
        name = raw_name.decode("utf-8" if flags & 0x800 else "cp437", errors="replace")
        date_time = (
            (dos_date >> 9) + 1980,
            (dos_date >> 5) & 0xF,
            dos_date & 0x1F,
            dos_time >> 11,
            (dos_time >> 5) & 0x3F,
            (dos_time & 0x1F) * 2,
        )
        yield Member(
            archive="zip",
            name=name,
            kind=EntryKind.DIRECTORY if name.endswith("/") else EntryKind.FILE,
            modified=zip_mtime(date_time, extra),
            declared_size=None if flags & 0x08 else size,
            compressed_size=data.compressed,
            encrypted=bool(flags & 0x1),
            chunks=data.chunks,
            consumed=data.consumed,
        )
        try:
            following = data.following()
        except Exception as error:  # hostile input
            yield EvidenceError(
                logical_path,
                f"zip member {show(name)!r} cannot be followed "
                f"({describe(error)}); no later member can be recovered",
            )
            return
        if following is None:
            yield EvidenceError(
                logical_path,
                f"the end of zip member {show(name)!r} cannot be "
                "found; no later member can be recovered",
            )
            return
        offset = following


def _zip64_sizes(extra: bytes) -> tuple[int, int] | None:
    at = 0
    while at + 4 <= len(extra):
        tag, length = struct.unpack_from("<HH", extra, at)
        if tag == 0x0001 and length >= 16:
            size, compressed = struct.unpack_from("<QQ", extra, at + 4)
            return size, compressed
        at += 4 + length
    return None


class _LocalData:
    """The data of one locally-found member: its bytes, and where the next header starts.

    With a data descriptor (flag bit 3) the header holds no sizes; a deflate stream ends by
    itself, so inflating it finds its end; a stored one cannot be delimited and ends recovery.
    """

    def __init__(
        self,
        handle: BinaryIO,
        start: int,
        method: int,
        flags: int,
        compressed: int | None,
        crc: int | None,
        zip64: bool,
        limits: EvidenceLimits,
    ) -> None:
        self.handle = handle
        self.start = start
        self.method = method
        self.flags = flags
        self.compressed = compressed
        self.crc = crc
        self.zip64 = zip64
        self.limits = limits
        self.end: int | None = None if compressed is None else start + compressed
        #: Compressed bytes the inflater has taken so far (for the ratio check).
        self.taken = 0

    def consumed(self) -> int:
        return self.taken

    def chunks(self) -> Iterator[bytes]:
        if self.flags & 0x1:
            raise NotImplementedError("encrypted member")
        if self.method == _STORED:
            if self.compressed is None:
                raise NotImplementedError(
                    "a stored member with a data descriptor cannot be delimited"
                )
            produced = self._stored()
        elif self.method == _DEFLATED:
            produced = self._inflate(keep=True)
        else:
            raise NotImplementedError(f"compression method {self.method} cannot be recovered")
        crc = 0
        for chunk in produced:
            crc = zlib.crc32(chunk, crc)
            yield chunk
        expected = self.crc if self.crc is not None else self._descriptor()[0]
        if crc != expected:
            raise zipfile.BadZipFile(f"Bad CRC-32: {crc:08x} instead of {expected:08x}")

    def following(self) -> int | None:
        """Offset of the next local header, inflating (output discarded) when it must."""
        if self.end is None and self.method == _DEFLATED and not self.flags & 0x1:
            for _ in self._inflate(keep=False):
                pass
        if self.end is None:
            return None
        return self.end + (self._descriptor()[1] if self.flags & 0x08 else 0)

    def _stored(self) -> Iterator[bytes]:
        assert self.compressed is not None
        position, left = self.start, self.compressed
        while left:
            self.handle.seek(position)
            chunk = self.handle.read(min(left, CHUNK_BYTES))
            if not chunk:
                raise EOFError("zip member data is truncated")
            position += len(chunk)
            left -= len(chunk)
            yield chunk

    def _inflate(self, keep: bool) -> Iterator[bytes]:
        inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        position = self.start
        left = self.compressed
        produced = 0
        while not inflater.eof:
            data = inflater.unconsumed_tail
            if not data:
                if left == 0:
                    raise EOFError("zip member data ends before its deflate stream does")
                self.handle.seek(position)
                data = self.handle.read(CHUNK_BYTES if left is None else min(left, CHUNK_BYTES))
                if not data:
                    raise EOFError("zip member data is truncated")
                position += len(data)
                if left is not None:
                    left -= len(data)
            chunk = inflater.decompress(data, CHUNK_BYTES)
            self.taken = position - self.start - len(inflater.unconsumed_tail)
            produced += len(chunk)
            if not keep and (
                produced > self.limits.max_member_bytes
                or (
                    produced > RATIO_FLOOR_BYTES
                    and produced > self.limits.max_ratio * max(self.taken, 1)
                )
            ):
                return  # the end stays unknown: recovery stops here
            if chunk and keep:
                yield chunk
        if self.end is None:
            self.end = position - len(inflater.unused_data)

    def _descriptor(self) -> tuple[int, int]:
        """The CRC from the data descriptor after the member, and the descriptor's length."""
        assert self.end is not None
        self.handle.seek(self.end)
        raw = self.handle.read(24)
        signed = raw[:4] == b"PK\x07\x08"
        body = raw[4:] if signed else raw
        length = (4 if signed else 0) + (20 if self.zip64 else 12)
        if len(raw) < length:
            raise EOFError("zip data descriptor is truncated")
        return struct.unpack_from("<L", body)[0], length

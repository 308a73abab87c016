"""Build benign synthetic archives for the evidence tests: zips, tars, hostile ones included."""

from __future__ import annotations

import hashlib
import io
import os
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path

from safeguard.evidence import EvidenceError, EvidenceItem, EvidenceLimits, iter_evidence

MIB = 1 << 20


def make_zip(entries: Iterable[tuple[str, bytes]], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=(2021, 5, 6, 7, 8, 10))
            info.compress_type = method
            archive.writestr(info, data)
    return buffer.getvalue()


def make_tar(entries: Iterable[tuple[str, bytes]], mode: str = "w") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as archive:  # type: ignore[call-overload]
        for name, data in entries:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1_600_000_000
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def tar_special(entries: Iterable[tarfile.TarInfo | tuple[str, bytes]]) -> bytes:
    """A tar of regular files and hand-made entries (links, devices) that need no real file."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for entry in entries:
            if isinstance(entry, tarfile.TarInfo):
                archive.addfile(entry)
            else:
                info = tarfile.TarInfo(entry[0])
                info.size = len(entry[1])
                archive.addfile(info, io.BytesIO(entry[1]))
    return buffer.getvalue()


class _Unseekable(io.RawIOBase):
    """Makes zipfile write data descriptors, as a streaming zip writer does."""

    def __init__(self) -> None:
        self.buffer = io.BytesIO()

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        return self.buffer.write(data)


def make_streamed_zip(entries: Iterable[tuple[str, bytes]]) -> bytes:
    sink = _Unseekable()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            with archive.open(name, "w") as member:
                member.write(data)
    return sink.buffer.getvalue()


def zeros_zip(name: str, mebibytes: int, declared_size: int | None = None) -> bytes:
    """A deflated run of zeros, built without ever holding it: a zip bomb in ~1 KiB per MiB.

    ``declared_size`` writes a lie into both headers (the real size otherwise).
    """
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    block = compressor.compress(bytes(MIB)) + compressor.flush(zlib.Z_FULL_FLUSH)
    data = block * mebibytes + compressor.flush(zlib.Z_FINISH)
    crc = 0
    for _ in range(mebibytes):
        crc = zlib.crc32(bytes(MIB), crc)
    size = mebibytes * MIB if declared_size is None else declared_size
    raw_name = name.encode()
    local = struct.pack(
        "<4sHHHHHLLLHH", b"PK\x03\x04", 20, 0, 8, 0, 33, crc, len(data), size, len(raw_name), 0
    )
    central = struct.pack(
        "<4sHHHHHHLLLHHHHHLL",
        b"PK\x01\x02",
        20,
        20,
        0,
        8,
        0,
        33,
        crc,
        len(data),
        size,
        len(raw_name),
        0,
        0,
        0,
        0,
        0,
        0,
    )
    body = local + raw_name + data
    directory = central + raw_name
    end = struct.pack("<4sHHHHLLH", b"PK\x05\x06", 0, 0, 1, 1, len(directory), len(body), 0)
    return body + directory + end


def zeros_tar_gz(name: str, mebibytes: int, then: Iterable[tuple[str, bytes]] = ()) -> bytes:
    """A .tar.gz whose first member is a run of zeros, as concatenated gzip members."""
    import gzip

    header = tarfile.TarInfo(name)
    header.size = mebibytes * MIB
    one = gzip.compress(bytes(MIB))
    rest = make_tar(then)
    return gzip.compress(header.tobuf()) + one * mebibytes + gzip.compress(rest)


def patch_zip_flags(data: bytes, name: str, bits: int) -> bytes:
    """OR ``bits`` into the general purpose flags of ``name`` in its local and central headers."""
    out = bytearray(data)
    raw = name.encode()
    for signature, flags_at, name_at in ((b"PK\x03\x04", 6, 30), (b"PK\x01\x02", 8, 46)):
        at = out.find(signature)
        while at >= 0:
            length = struct.unpack_from("<H", out, at + (26 if name_at == 30 else 28))[0]
            if bytes(out[at + name_at : at + name_at + length]) == raw:
                flags = struct.unpack_from("<H", out, at + flags_at)[0]
                struct.pack_into("<H", out, at + flags_at, flags | bits)
            at = out.find(signature, at + 4)
    return bytes(out)


def walk(
    root: Path, limits: EvidenceLimits | None = None, temp_dir: Path | None = None
) -> list[EvidenceItem | EvidenceError]:
    return list(iter_evidence(root, limits or EvidenceLimits(), temp_dir=temp_dir))


def items(found: list[EvidenceItem | EvidenceError]) -> list[EvidenceItem]:
    return [f for f in found if isinstance(f, EvidenceItem)]


def errors(found: list[EvidenceItem | EvidenceError]) -> list[EvidenceError]:
    return [f for f in found if isinstance(f, EvidenceError)]


def paths(found: list[EvidenceItem | EvidenceError]) -> list[str]:
    return [f.logical_path for f in found if isinstance(f, EvidenceItem)]


def read(item: EvidenceItem) -> bytes:
    with item.open() as stream:
        return stream.read()


def error_for(found: list[EvidenceItem | EvidenceError], logical_path: str) -> str:
    messages = [e.message for e in errors(found) if e.logical_path == logical_path]
    assert messages, f"no error for {logical_path}; errors: {errors(found)}"
    return messages[0]


def snapshot(root: Path) -> dict[str, tuple[str, int, int]]:
    """Content hash, size and mtime of every file under root (links not followed)."""
    state: dict[str, tuple[str, int, int]] = {}
    for path in _all(root):
        status = path.lstat()
        digest = (
            hashlib.sha256(path.read_bytes()).hexdigest()
            if path.is_file() and not path.is_symlink()
            else ""
        )
        state[str(path.relative_to(root))] = (digest, status.st_size, status.st_mtime_ns)
    return state


def _all(root: Path) -> Iterator[Path]:
    for directory, names, files in os.walk(root):
        for name in sorted(names + files):
            yield Path(directory, name)

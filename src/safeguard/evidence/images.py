"""Forensic disk images: E01 (libewf), raw/dd and split raw, walked with The Sleuth Kit (pytsk3).

An image is opened read-only (every segment through :func:`open_readonly`); its partition table
(MBR, GPT, BSD, Mac; TSK's volume system code) gives the partitions, named ``p1``, ``p2``... in
table order, and each partition's file system (FAT12/16/32, exFAT, NTFS, ext2/3/4, HFS+, APFS,
ISO 9660, UFS: whatever TSK recognises) is walked depth first with each directory's entries
sorted by name, so the order and the logical paths (``p2/Users/sam/Pictures/x.jpg``) are the same
on every run. An image with no partition table is one file system and its paths have no prefix.

Deleted files are yielded where TSK still finds their content (FAT and exFAT entries, NTFS
MFT entries not yet reused, ext inodes that keep their block map), flagged ``deleted``; where the
content is gone (all zeros, or the metadata entry now belongs to another file) the walk yields an
error naming the path instead. File-system times, the inode/MFT number and the physical location
of the first data byte travel with every item (:class:`FileOrigin`).

What is not walked: alternate data streams, volume shadow copies (pytsk3 has no VSS support),
file-system metadata files (NTFS ``$MFT``..., exFAT bitmaps, TSK's virtual ``$FAT1``...), which
are not media; their clusters still count as allocated for carving.
"""

from __future__ import annotations

import bisect
import contextlib
import dataclasses
import errno
import hashlib
import io
import os
import re
import stat
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from safeguard.evidence.items import EvidenceError, EvidenceItem, FileOrigin, open_readonly
from safeguard.evidence.names import unique_logical_path
from safeguard.evidence.sniff import HEAD_BYTES, sniff

try:  # optional extra "images": the evidence walk still handles folders and archives without it
    import pyewf
    import pytsk3
except ImportError:  # pragma: no cover - exercised only where the extra is not installed
    pyewf = None
    pytsk3 = None

EWF_SIGNATURES = (b"EVF\x09\x0d\x0a\xff\x00", b"EVF2\x0d\x0a\x81\x00")
#: Names taken for raw disk images (content cannot tell a raw disk from any other file).
RAW_SUFFIXES = frozenset({".dd", ".raw", ".img", ".bin", ".dmg", ".iso", ".vhd", ".vmdk"})
_SPLIT_RAW = re.compile(r"^(?P<stem>.+)\.(?P<n>\d{3})$")
_EWF_SEGMENT = re.compile(r"^(?P<stem>.+)\.(?P<x>[EeLl]x?)(?P<n>\d\d|[A-Za-z]{2})$")
#: Directory depth beyond which a walk stops (hostile or corrupt file systems).
MAX_DEPTH = 128
#: Reads from the image in pieces of this size.
READ_CHUNK = 1 << 20
#: Items up to this size are held in memory; larger ones are spilled to a temporary file.
MEMORY_ITEM_BYTES = 16 << 20
#: Skipped metadata files at the root of exFAT (TSK names them).
_EXFAT_SYSTEM = frozenset({"$ALLOC_BITMAP", "$UPCASE_TABLE", "$VOLUME_GUID", "$TEXFAT"})
#: NTFS reserves MFT entries 0-26 for its own metadata files ($MFT, $Bitmap, $Extend...).
_NTFS_RESERVED = 27
_ORPHANS = "$OrphanFiles"


class ImageError(Exception):
    """The image cannot be opened at all (a missing or unreadable segment, an unknown format)."""


def images_supported() -> bool:
    return pytsk3 is not None and pyewf is not None


def image_kind(path: Path, head: bytes, tail: bytes = b"") -> str | None:
    """``"ewf"``, ``"vhd"``, ``"vhdx"``, ``"vmdk"``, ``"qcow"`` (by signature), ``"split"``
    (raw .001) or ``"raw"`` (by name) for a disk image; None for any other file.

    ``tail`` is the file's last 512 bytes (a fixed VHD has its footer only there).
    """
    if head.startswith(EWF_SIGNATURES):
        return "ewf"
    if head.startswith(b"vhdxfile"):
        return "vhdx"
    if head.startswith(b"conectix") or tail.startswith(b"conectix"):
        return "vhd"
    if head.startswith(b"KDMV"):
        return "vmdk"
    if head.startswith(b"QFI\xfb"):
        return "qcow"
    if _SPLIT_RAW.match(path.name) and path.name.endswith(".001"):
        return "split"
    if path.suffix.lower() in RAW_SUFFIXES:
        return "raw"
    return None


def segments_of(path: Path, kind: str) -> list[Path]:
    """Every segment of the set ``path`` starts (``x.E01, x.E02...``; ``x.001, x.002...``)."""
    if kind == "ewf":
        if pyewf is None:
            raise ImageError("E01 support needs libewf-python (pip install safeguard[images])")
        return [Path(p) for p in pyewf.glob(str(path))]
    if kind in _VIRTUAL:
        return [path]
    if kind == "split":
        stem = path.name[:-4]
        found, n = [], 1
        while (path.parent / f"{stem}.{n:03d}").is_file():
            found.append(path.parent / f"{stem}.{n:03d}")
            n += 1
        return found
    return [path]


class _Reader:
    """Random access to the image's bytes, whatever the container."""

    size: int

    def read(self, offset: int, length: int) -> bytes:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class _RawReader(_Reader):
    """Raw and split raw: segments concatenated, opened read-only, never written."""

    def __init__(self, segments: list[Path]) -> None:
        self._files = []
        self._starts: list[int] = []
        position = 0
        try:
            for segment in segments:
                fd = open_readonly(segment)
                handle = os.fdopen(fd, "rb", buffering=0)
                self._files.append(handle)
                if not stat.S_ISREG(os.fstat(fd).st_mode):
                    raise ImageError(f"{segment.name}: not a regular file")
                self._starts.append(position)
                position += os.fstat(fd).st_size
        except OSError as error:
            self.close()
            raise ImageError(f"cannot open image segment: {error.strerror or error}") from error
        self.size = position

    def read(self, offset: int, length: int) -> bytes:
        out = bytearray()
        end = min(offset + length, self.size)
        while offset < end:
            index = bisect.bisect_right(self._starts, offset) - 1
            handle = self._files[index]
            seg_end = self._starts[index + 1] if index + 1 < len(self._starts) else self.size
            want = min(end, seg_end) - offset
            chunk = os.pread(handle.fileno(), want, offset - self._starts[index])
            if not chunk:
                break
            out += chunk
            offset += len(chunk)
        return bytes(out)

    def close(self) -> None:
        for handle in self._files:
            handle.close()


class _EwfReader(_Reader):
    def __init__(self, segments: list[Path]) -> None:
        self._files = []
        try:
            for segment in segments:
                self._files.append(os.fdopen(open_readonly(segment), "rb"))
            self.handle = pyewf.handle()
            self.handle.open_file_objects(self._files, "r")
        except (OSError, ImportError) as error:
            self.close()
            raise ImageError(f"cannot open E01 image: {error}") from error
        self.size = self.handle.get_media_size()

    def read(self, offset: int, length: int) -> bytes:
        return self.handle.read_buffer_at_offset(min(length, max(self.size - offset, 0)), offset)

    def close(self) -> None:
        handle = getattr(self, "handle", None)
        if handle is not None:
            handle.close()
        for item in self._files:
            item.close()


class _VirtualDiskReader(_Reader):
    """VHD/VHDX (libvhdi), VMDK (libvmdk, single-file sparse), QCOW2 (libqcow): one file,
    opened read-only; differencing disks (a parent or backing file) are refused."""

    def __init__(self, path: Path, kind: str) -> None:
        module = _VIRTUAL[kind]
        try:
            library = __import__(module)
        except ImportError as error:
            raise ImageError(f"{_FORMATS[kind]} images need the {module} package") from error
        self._file = self._extent = None
        try:
            self._file = os.fdopen(open_readonly(path), "rb")
            self.handle = library.handle() if kind == "vmdk" else library.file()
            self.handle.open_file_object(self._file)
            if kind == "vmdk":  # a monolithic sparse VMDK is its own (single) extent file
                self._extent = os.fdopen(open_readonly(path), "rb")
                self.handle.open_extent_data_files_as_file_objects([self._extent])
            parent = getattr(self.handle, "parent_filename", None) or getattr(
                self.handle, "backing_filename", None
            )
        except (OSError, TypeError) as error:
            self.close()
            raise ImageError(f"cannot open {_FORMATS[kind]} image: {error}") from error
        if parent:
            self.close()
            raise ImageError(
                f"{_FORMATS[kind]} image is a differencing disk of {parent!r}; not supported"
            )
        self.size = self.handle.get_media_size()

    def read(self, offset: int, length: int) -> bytes:
        return self.handle.read_buffer_at_offset(min(length, max(self.size - offset, 0)), offset)

    def close(self) -> None:
        handle = getattr(self, "handle", None)
        if handle is not None:
            with contextlib.suppress(OSError):
                handle.close()
        for item in (self._file, self._extent):
            if item is not None:
                item.close()


#: Virtual disk format -> the libyal Python module that reads it.
_VIRTUAL = {"vhd": "pyvhdi", "vhdx": "pyvhdi", "vmdk": "pyvmdk", "qcow": "pyqcow"}


def open_reader(path: Path, kind: str) -> _Reader:
    if kind in _VIRTUAL:
        return _VirtualDiskReader(path, kind)
    segments = segments_of(path, kind)
    if not segments:
        raise ImageError(f"no segments found for {path.name}")
    if kind == "ewf":
        return _EwfReader(segments)
    return _RawReader(segments)


def _tsk_image(reader: _Reader):  # noqa: ANN202 - a pytsk3.Img_Info subclass instance
    class _Image(pytsk3.Img_Info):
        def __init__(self) -> None:
            super().__init__(url="", type=pytsk3.TSK_IMG_TYPE_EXTERNAL)

        def read(self, offset: int, size: int) -> bytes:
            return reader.read(offset, size)

        def get_size(self) -> int:
            return reader.size

        def close(self) -> None:
            pass

    return _Image()


@dataclass(frozen=True)
class Volume:
    name: str  # "p1"... or "" for an image without a partition table
    offset: int
    length: int


@dataclass
class ImageWalk:
    """State of one walk: the allocated byte ranges seen (for carving) and what was refused."""

    reader: _Reader
    allocated: list[tuple[int, int]] = field(default_factory=list)
    volumes: list[Volume] = field(default_factory=list)


def _time(seconds: int, nanos: int = 0) -> datetime | None:
    if not seconds:
        return None
    try:
        return datetime.fromtimestamp(seconds, tz=UTC).replace(microsecond=nanos // 1000)
    except (OverflowError, OSError, ValueError):
        return None


def recognised(path: Path, kind: str) -> bool:
    """Whether TSK finds a partition table or a file system in the image: a file named like a
    raw image (``x.bin``) that holds neither is an ordinary file."""
    if not images_supported():
        return False
    try:
        reader = open_reader(path, kind)
    except ImageError:
        return True  # let the walk report why it cannot be opened
    try:
        image = _tsk_image(reader)
        try:
            pytsk3.Volume_Info(image)
            return True
        except OSError:
            pass
        try:
            pytsk3.FS_Info(image, offset=0)
            return True
        except OSError:
            return False
    finally:
        reader.close()


def list_volumes(image, size: int) -> tuple[list[Volume], list[EvidenceError]]:  # noqa: ANN001
    """The allocated partitions in table order, or one volume at 0 when there is no table."""
    try:
        system = pytsk3.Volume_Info(image)
    except OSError:
        return [Volume("", 0, size)], []
    block = system.info.block_size
    volumes: list[Volume] = []
    errors: list[EvidenceError] = []
    for part in system:
        if not part.flags & pytsk3.TSK_VS_PART_FLAG_ALLOC:
            continue
        name = f"p{len(volumes) + 1}"
        offset, length = part.start * block, part.len * block
        if offset >= size or offset + length > size:
            errors.append(
                EvidenceError(
                    name,
                    f"partition table entry runs past the end of the image "
                    f"(sectors {part.start}-{part.start + part.len - 1}, image has "
                    f"{size // block}); read as far as the image goes",
                )
            )
        volumes.append(Volume(name, offset, length))
    return volumes, errors


def _is_system(fs_type: int, name: str, meta_addr: int, meta_type: int | None) -> bool:
    if meta_type in (pytsk3.TSK_FS_META_TYPE_VIRT,):
        return True
    if not name.startswith("$"):
        return False
    if fs_type & pytsk3.TSK_FS_TYPE_NTFS_DETECT:
        return meta_addr < _NTFS_RESERVED
    if fs_type & pytsk3.TSK_FS_TYPE_EXFAT:
        return name in _EXFAT_SYSTEM
    return False


def _is_volume_label(fs_type: int, name: str) -> bool:
    fat = fs_type & pytsk3.TSK_FS_TYPE_FAT_DETECT or fs_type & pytsk3.TSK_FS_TYPE_EXFAT
    return bool(fat) and name.endswith("(Volume Label Entry)")


def _data_runs(entry, fs_offset: int, block: int) -> list[tuple[int, int]]:  # noqa: ANN001
    """Byte ranges (absolute in the image) of the file's default data stream, in file order."""
    runs: list[tuple[int, int]] = []
    try:
        for attribute in entry:
            info = attribute.info
            if info.type not in (
                pytsk3.TSK_FS_ATTR_TYPE_DEFAULT,
                pytsk3.TSK_FS_ATTR_TYPE_NTFS_DATA,
            ) or (info.name not in (None, b"")):
                continue
            if not info.flags & pytsk3.TSK_FS_ATTR_NONRES:
                continue
            for run in attribute:
                if run.flags & pytsk3.TSK_FS_ATTR_RUN_FLAG_SPARSE or run.len == 0:
                    continue
                runs.append((fs_offset + run.addr * block, run.len * block))
            break
    except (OSError, RuntimeError):
        return runs
    return runs


def _name_text(raw: bytes) -> str:
    return raw.decode("utf-8", "backslashreplace")


@dataclass(frozen=True)
class _Entry:
    name: str
    deleted: bool
    meta_addr: int
    file: object  # pytsk3.File


class FileSystemWalker:
    """One file system of the image: its files depth first, sorted, deleted ones flagged."""

    def __init__(
        self,
        walk: ImageWalk,
        volume: Volume,
        fs,  # noqa: ANN001 - pytsk3.FS_Info
        content: Callable[[str, int, Callable[[int, int], bytes], FileOrigin], Iterator],
    ) -> None:
        self.walk, self.volume, self.fs, self.content = walk, volume, fs, content
        self.fs_type = fs.info.ftype
        self.block = fs.info.block_size
        self.prefix = f"{volume.name}/" if volume.name else ""
        #: Deleted metadata entries already yielded (a name and $OrphanFiles may share one).
        self.recovered: set[int] = set()

    def files(self) -> Iterator:
        root = self.fs.open_dir(path="/")
        yield from self._directory(root, self.prefix, (root.info.addr,), top=True)

    def _entries(self, directory, logical_dir: str) -> tuple[list[_Entry], str | None]:  # noqa: ANN001
        entries: list[_Entry] = []
        try:
            for entry in directory:
                name_info = entry.info.name
                raw = name_info.name
                if raw in (b".", b"..") or raw is None:
                    continue
                deleted = bool(name_info.flags & pytsk3.TSK_FS_NAME_FLAG_UNALLOC)
                entries.append(_Entry(_name_text(raw), deleted, name_info.meta_addr, entry))
                if len(entries) > 1_000_000:
                    return entries, "directory has more than 1,000,000 entries; the rest skipped"
        except (OSError, RuntimeError) as error:
            return entries, f"directory cannot be read further: {error}"
        entries.sort(
            key=lambda e: (e.name == _ORPHANS, os.fsencode(e.name), e.deleted, e.meta_addr)
        )
        return entries, None

    def _directory(self, directory, prefix: str, stack: tuple[int, ...], top: bool = False):  # noqa: ANN001, ANN202
        entries, problem = self._entries(directory, prefix)
        taken: set[str] = set()
        for entry in entries:
            meta = entry.file.info.meta
            meta_type = meta.type if meta is not None else None
            if top and _is_system(self.fs_type, entry.name, entry.meta_addr, meta_type):
                if meta is not None and not entry.deleted:
                    self.walk.allocated.extend(
                        _data_runs(entry.file, self.volume.offset, self.block)
                    )
                continue
            path = unique_logical_path(prefix + entry.name, taken)
            taken.add(path)
            if meta_type in (pytsk3.TSK_FS_META_TYPE_DIR, pytsk3.TSK_FS_META_TYPE_VIRT_DIR):
                if entry.deleted:
                    continue  # a deleted directory's entries are found by name if at all
                yield from self._subdirectory(entry, path, stack)
            else:
                yield from self._file(entry, path, orphan=prefix.endswith(f"/{_ORPHANS}/"))
        if problem:
            yield EvidenceError(prefix.rstrip("/") or ".", problem)

    def _subdirectory(self, entry: _Entry, path: str, stack: tuple[int, ...]):  # noqa: ANN202
        address = entry.meta_addr
        if address in stack:
            yield EvidenceError(
                path, "directory loop: this directory contains one of its own parents; not entered"
            )
            return
        if len(stack) > MAX_DEPTH:
            yield EvidenceError(path, f"directories nested more than {MAX_DEPTH} deep; not entered")
            return
        try:
            directory = entry.file.as_directory()
        except (OSError, RuntimeError) as error:
            yield EvidenceError(path, f"directory cannot be opened: {error}")
            return
        yield from self._directory(directory, path + "/", (*stack, address))

    def _file(self, entry: _Entry, path: str, orphan: bool):  # noqa: ANN202
        file = entry.file
        meta = file.info.meta
        if entry.deleted and (meta is None or meta.flags & pytsk3.TSK_FS_META_FLAG_ALLOC):
            # The name survives but its metadata entry was reused (or its sequence moved on):
            # look at the entry itself; only an unallocated one can still hold this file.
            try:
                file = self.fs.open_meta(inode=entry.meta_addr)
                meta = file.info.meta
            except (OSError, RuntimeError):
                meta = None
            if meta is None or meta.flags & pytsk3.TSK_FS_META_FLAG_ALLOC:
                yield EvidenceError(
                    path,
                    "deleted file: its metadata entry now belongs to another file; "
                    "content not recoverable",
                )
                return
        if meta is None:
            yield EvidenceError(path, "file has no metadata entry; not read")
            return
        if meta.type not in (pytsk3.TSK_FS_META_TYPE_REG, pytsk3.TSK_FS_META_TYPE_UNDEF):
            if meta.type == pytsk3.TSK_FS_META_TYPE_LNK:
                yield EvidenceError(path, "symbolic link; not followed")
            elif not entry.deleted:
                yield EvidenceError(path, "special file; skipped")
            return
        unallocated = bool(meta.flags & pytsk3.TSK_FS_META_FLAG_UNALLOC)
        deleted = entry.deleted or unallocated
        if deleted:
            if meta.addr in self.recovered:
                return
            self.recovered.add(meta.addr)
        runs = _data_runs(file, self.volume.offset, self.block)
        # A recovered deleted file is not carved again: its clusters count as taken too.
        self.walk.allocated.extend(runs)
        origin = FileOrigin(
            created=_time(meta.crtime, getattr(meta, "crtime_nano", 0)),
            modified=_time(meta.mtime, getattr(meta, "mtime_nano", 0)),
            accessed=_time(meta.atime, getattr(meta, "atime_nano", 0)),
            changed=_time(meta.ctime, getattr(meta, "ctime_nano", 0)),
            inode=int(meta.addr),
            deleted=deleted,
            unallocated=unallocated,
            physical_offset=runs[0][0] if runs else None,
        )
        size = int(meta.size)
        if size == 0 and (orphan or _is_volume_label(self.fs_type, entry.name)):
            return  # an unnamed empty metadata entry, or a FAT volume label: not files
        if deleted and size == 0:
            yield EvidenceError(path, "deleted file: no content left (size 0)")
            return

        def read(offset: int, length: int, file=file) -> bytes:  # noqa: ANN001
            return file.read_random(offset, length)

        yield from self.content(path, size, read, origin)


def _read_content(
    path: str,
    size: int,
    read: Callable[[int, int], bytes],
    origin: FileOrigin,
    expander,  # noqa: ANN001 - archives.Expander
) -> Iterator:
    """The item for one file read out of the image (in memory, or spilled when large), then the
    members of any archive it is; an error instead when its bytes cannot be read."""
    limits = expander.limits
    if size > limits.max_member_bytes:
        yield EvidenceError(
            path, f"file of {size} bytes is larger than the {limits.max_member_bytes} allowed"
        )
        return
    spill = None
    parts: list[bytes] = []
    nonzero = False
    first = b""
    try:
        offset = 0
        while offset < size:
            chunk = read(offset, min(READ_CHUNK, size - offset))
            if not chunk:
                raise OSError(errno.EIO, f"short read at byte {offset} of {size}")
            nonzero = nonzero or any(chunk)
            if not offset:
                first = chunk[:HEAD_BYTES]
            if spill is None and offset + len(chunk) > MEMORY_ITEM_BYTES:
                spill = tempfile.NamedTemporaryFile(  # noqa: SIM115 - handed on as the item
                    prefix="sg-image-", dir=expander.temp_dir, delete=False
                )
                spill.write(b"".join(parts))
                parts = []
            if spill is not None:
                spill.write(chunk)
            else:
                parts.append(chunk)
            offset += len(chunk)
    except (OSError, RuntimeError) as error:
        if spill is not None:
            spill.close()
            Path(spill.name).unlink(missing_ok=True)
        what = "deleted file" if origin.deleted else "file"
        yield EvidenceError(path, f"{what} cannot be read from the image: {error}")
        return
    if origin.deleted and not nonzero and size:
        if spill is not None:
            spill.close()
            Path(spill.name).unlink(missing_ok=True)
        yield EvidenceError(path, "deleted file: content not recoverable (reads as zeros)")
        return
    if spill is not None:
        spill.close()
        item = EvidenceItem(
            path, size, origin.modified, Path(spill.name), None, temporary=True, origin=origin
        )
        head = first
    else:
        data = b"".join(parts)
        item = EvidenceItem(path, size, origin.modified, None, data, origin=origin)
        head = data[:HEAD_BYTES]
    if sniff(head) is None:
        yield item
        return
    handle: BinaryIO = (
        io.BytesIO(item.data) if item.data is not None else item.fs_path.open("rb")  # type: ignore[union-attr]
    )
    # Members of an archive inside the image keep their archive's deleted/carved flags.
    inherited = FileOrigin(
        deleted=origin.deleted, unallocated=origin.unallocated, carved=origin.carved
    )
    with handle:
        yield item
        for member in expander.expand(handle, path, head):
            if isinstance(member, EvidenceItem):
                member = dataclasses.replace(member, origin=inherited)
            yield member


def walk_image(
    path: Path,
    kind: str,
    expander,
    *,
    carve: bool = False,  # noqa: ANN001
) -> Iterator:
    """Every file of the disk image at ``path`` (see the module's docstring), then, with
    ``carve``, the pictures and videos PhotoRec carves out of the space no file holds."""
    label = path.name
    if not images_supported():
        yield EvidenceError(label, "disk images need pytsk3 and libewf-python (extra 'images')")
        return
    try:
        reader = open_reader(path, kind)
    except ImageError as error:
        yield EvidenceError(label, str(error))
        return
    try:
        walk = ImageWalk(reader)
        image = _tsk_image(reader)
        volumes, problems = list_volumes(image, reader.size)
        yield from problems
        walk.volumes = volumes

        def content(name: str, size: int, read, origin: FileOrigin) -> Iterator:  # noqa: ANN001
            return _read_content(name, size, read, origin, expander)

        for volume in volumes:
            where = volume.name or label
            try:
                fs = pytsk3.FS_Info(image, offset=volume.offset)
            except OSError as error:
                message = str(error).splitlines()[0] if str(error) else "unknown"
                yield EvidenceError(
                    where,
                    f"no file system recognised at byte {volume.offset} "
                    f"(damaged or unsupported; TSK: {message})",
                )
                continue
            walker = FileSystemWalker(walk, volume, fs, content)
            try:
                yield from walker.files()
            except (OSError, RuntimeError) as error:
                yield EvidenceError(where, f"file system cannot be walked further: {error}")
        if carve:
            from safeguard.evidence.carving import carve_free_space

            yield from carve_free_space(walk, expander)
    finally:
        reader.close()


@dataclass(frozen=True)
class ImageFacts:
    """What a disk image says about itself: its format, size and, for E01, acquisition details."""

    format: str  # "E01", "raw", "split raw"
    segments: int
    media_size: int
    bytes_per_sector: int | None = None
    stored_md5: str | None = None
    stored_sha1: str | None = None
    #: E01 header values (case_number, examiner_name, acquiry_date, acquiry_software...).
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Verification:
    """The image's content hashed end to end, against the hashes stored at acquisition."""

    #: "verified", "mismatch", "unreadable" (a chunk failed its checksum or a segment is short),
    #: or "computed" (a raw image stores no hash: the computed ones are recorded).
    result: str
    md5: str | None
    sha1: str | None
    detail: str


_FORMATS = {
    "ewf": "E01",
    "split": "split raw",
    "raw": "raw",
    "vhd": "VHD",
    "vhdx": "VHDX",
    "vmdk": "VMDK",
    "qcow": "QCOW2",
}
#: Header values kept (bounded: an E01 header is attacker-controlled text).
_HEADER_KEYS = (
    "case_number",
    "evidence_number",
    "examiner_name",
    "description",
    "notes",
    "acquiry_date",
    "system_date",
    "acquiry_operating_system",
    "acquiry_software",
    "acquiry_software_version",
    "model",
    "serial_number",
)


def describe_image(path: Path, kind: str) -> ImageFacts:
    """The image's format, segments, size and stored acquisition metadata. Raises ImageError."""
    if not images_supported():
        raise ImageError("disk images need pytsk3 and libewf-python (extra 'images')")
    segments = segments_of(path, kind)
    reader = open_reader(path, kind)
    try:
        if isinstance(reader, _EwfReader):
            handle = reader.handle
            headers = {
                key: str(value)[:1000]
                for key, value in (handle.get_header_values() or {}).items()
                if key in _HEADER_KEYS and value
            }
            hashes = {k.upper(): str(v)[:128] for k, v in (handle.get_hash_values() or {}).items()}
            return ImageFacts(
                "E01",
                len(segments),
                reader.size,
                handle.get_bytes_per_sector(),
                hashes.get("MD5"),
                hashes.get("SHA1"),
                headers,
            )
        return ImageFacts(_FORMATS[kind], len(segments), reader.size)
    finally:
        reader.close()


def verify_image(
    path: Path, kind: str, advance: Callable[[int], None] | None = None
) -> Verification:
    """Hash every byte of the image's media and compare with the stored hashes.

    The rule: "verified" when every stored hash (MD5, SHA-1) equals the computed one; "mismatch"
    when any differs; "unreadable" when a read fails (a chunk whose checksum fails, a missing
    or short segment); "computed" when the image stores no hash (raw). Raises ImageError when the
    image cannot be opened at all.
    """
    facts = describe_image(path, kind)
    reader = open_reader(path, kind)
    md5, sha1 = hashlib.md5(usedforsecurity=False), hashlib.sha1(usedforsecurity=False)
    offset = 0
    try:
        while offset < reader.size:
            want = min(READ_CHUNK * 8, reader.size - offset)
            try:
                chunk = reader.read(offset, want)
            except (OSError, RuntimeError) as error:
                return Verification(
                    "unreadable", None, None, f"read failed at byte {offset}: {error}"
                )
            if len(chunk) != want:
                return Verification(
                    "unreadable",
                    None,
                    None,
                    f"image ends at byte {offset + len(chunk)} "
                    f"of {reader.size}: a segment is missing or short",
                )
            md5.update(chunk)
            sha1.update(chunk)
            offset += len(chunk)
            if advance is not None:
                advance(len(chunk))
    finally:
        reader.close()
    computed = {"MD5": md5.hexdigest(), "SHA1": sha1.hexdigest()}
    stored = {"MD5": facts.stored_md5, "SHA1": facts.stored_sha1}
    checked = {k: v for k, v in stored.items() if v}
    if not checked:
        return Verification("computed", computed["MD5"], computed["SHA1"], "no stored hash")
    wrong = [k for k, v in checked.items() if v.lower() != computed[k]]
    if wrong:
        detail = "; ".join(f"{k} stored {checked[k]} computed {computed[k]}" for k in sorted(wrong))
        return Verification("mismatch", computed["MD5"], computed["SHA1"], detail)
    names = " and ".join(sorted(checked))
    return Verification("verified", computed["MD5"], computed["SHA1"], f"{names} match")

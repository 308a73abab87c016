"""Benign test disk images built with Debian's own file-system tools, with their ground truth.

Tests and the images benchmark build FAT12/16/32, exFAT, NTFS and ext2/3/4 partitions holding a
folder of generated pictures, put them behind an MBR or GPT partition table, delete some files
after writing them, plant a picture in free space for carving, and convert the disk to a split
E01 (``ewfacquire``) or a split raw set. FAT uses mtools and ext uses ``mkfs.ext? -d`` and
``debugfs`` (no mount); NTFS and exFAT have no such tools, so they are written through a FUSE
mount (ntfs-3g, exfat-fuse on a loop device), which needs root.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

MIB = 1 << 20
SECTOR = 512
#: First partition at 1 MiB, as partitioning tools do.
FIRST_LBA = 2048

#: File system -> (Debian package, the commands it needs).
TOOLS: dict[str, tuple[tuple[str, str], ...]] = {
    "fat12": (("dosfstools", "mkfs.fat"), ("mtools", "mcopy")),
    "fat16": (("dosfstools", "mkfs.fat"), ("mtools", "mcopy")),
    "fat32": (("dosfstools", "mkfs.fat"), ("mtools", "mcopy")),
    "exfat": (("exfatprogs", "mkfs.exfat"), ("exfat-fuse", "mount.exfat-fuse")),
    "ntfs": (("ntfs-3g", "mkntfs"), ("ntfs-3g", "ntfs-3g")),
    "ext2": (("e2fsprogs", "mkfs.ext2"), ("e2fsprogs", "debugfs")),
    "ext3": (("e2fsprogs", "mkfs.ext3"), ("e2fsprogs", "debugfs")),
    "ext4": (("e2fsprogs", "mkfs.ext4"), ("e2fsprogs", "debugfs")),
    "table": (("fdisk", "sfdisk"),),
    "e01": (("ewf-tools", "ewfacquire"),),
    "virtual": (("qemu-utils", "qemu-img"),),
}

_MBR_TYPES = {
    "fat12": "01",
    "fat16": "06",
    "fat32": "0c",
    "exfat": "07",
    "ntfs": "07",
    "ext2": "83",
    "ext3": "83",
    "ext4": "83",
}
_GPT_BASIC = "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7"
_GPT_LINUX = "0FC63DAF-8483-4772-8E79-3D69D8477DE4"


def missing_tools(*needs: str) -> list[str]:
    """Debian packages missing for the named file systems (and "table", "e01")."""
    return sorted(
        {package for need in needs for package, command in TOOLS[need] if not _which(command)}
    )


def _which(command: str) -> str | None:
    return shutil.which(command) or shutil.which(command, path="/usr/sbin:/sbin:/usr/bin")


def _run(*args: str | os.PathLike[str], cwd: Path | None = None) -> str:
    command = [str(a) for a in args]
    command[0] = _which(command[0]) or command[0]
    done = subprocess.run(
        command,
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "TZ": "UTC", "MTOOLS_SKIP_CHECK": "1"},
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {done.stderr.strip() or done.stdout}")
    return done.stdout


@dataclass(frozen=True)
class PartitionPlan:
    fs: str
    #: The folder whose files the partition holds.
    source: Path
    size_bytes: int
    #: Relative paths (posix) of files deleted after the copy.
    delete: tuple[str, ...] = ()
    #: Bytes written into free space near the end of the partition, for carving.
    plant: bytes | None = None


@dataclass(frozen=True)
class Planted:
    offset: int
    data: bytes = field(repr=False)


@dataclass(frozen=True)
class BuiltDisk:
    path: Path
    #: Byte offset of each partition (in table order).
    offsets: tuple[int, ...]
    planted: tuple[Planted, ...]


def build_partition(plan: PartitionPlan, out: Path) -> Planted | None:
    """A file-system image at ``out``: ``plan.source``'s files, deletions done, bytes planted.

    Returns the planted bytes with their offset inside the partition image.
    """
    out.unlink(missing_ok=True)
    with open(out, "wb") as handle:
        handle.truncate(plan.size_bytes)
    fs = plan.fs
    files = sorted(p for p in plan.source.rglob("*") if p.is_file())
    if fs.startswith("fat"):
        bits = fs[3:]
        _run("mkfs.fat", "-F", bits, "-n", "SAFEGUARD", "-i", "5AFE6A4D", out)
        tops = sorted(plan.source.iterdir())
        if tops:
            _run("mcopy", "-s", "-m", "-i", out, *tops, "::/")
        for rel in plan.delete:
            _run("mdel", "-i", out, f"::/{rel}")
    elif fs.startswith("ext"):
        _run(
            f"mkfs.{fs}", "-q", "-F", "-b", "1024", "-U", "5afe6a4d-0000-4000-8000-000000000017",
            "-E", "hash_seed=5afe6a4d-0000-4000-8000-000000000017", "-d", plan.source, out,
        )  # fmt: skip
        for rel in plan.delete:
            _run("debugfs", "-w", "-R", f"rm /{rel}", out)
    elif fs == "ntfs":
        _run("mkntfs", "-F", "-Q", "-q", "-s", "512", "-c", "4096", "-L", "SAFEGUARD", out)
        with _fuse_mount(out, "ntfs") as mount:
            _copy_into(plan.source, files, mount, plan.delete)
    elif fs == "exfat":
        _run("mkfs.exfat", "-L", "SAFEGUARD", out)
        with _fuse_mount(out, "exfat") as mount:
            _copy_into(plan.source, files, mount, plan.delete)
    else:
        raise ValueError(f"unknown file system {fs!r}")
    if plan.plant is None:
        return None
    offset = (plan.size_bytes - 256 * 1024) // 4096 * 4096
    with open(out, "r+b") as handle:
        handle.seek(offset)
        if any(handle.read(len(plan.plant))):
            raise RuntimeError(f"the free space at {offset} of the {fs} image is not empty")
        handle.seek(offset)
        handle.write(plan.plant)
    return Planted(offset, plan.plant)


def _copy_into(source: Path, files: Sequence[Path], mount: Path, delete: Sequence[str]) -> None:
    for path in files:
        target = mount / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        stat = path.stat()
        os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    for rel in delete:
        (mount / rel).unlink()


@contextmanager
def _fuse_mount(image: Path, fs: str):  # noqa: ANN202
    mount = Path(tempfile.mkdtemp(prefix=f"sg-{fs}-"))
    loop = None
    try:
        if fs == "ntfs":
            _run("ntfs-3g", image, mount)
        else:
            loop = _run("losetup", "-f", "--show", image).strip()
            _run("mount.exfat-fuse", loop, mount)
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], capture_output=True, check=False)
        if loop:
            subprocess.run(["losetup", "-d", loop], capture_output=True, check=False)
        mount.rmdir()


def build_disk(
    out: Path, plans: Sequence[PartitionPlan], *, table: str | None = "mbr"
) -> BuiltDisk:
    """A whole disk at ``out``: ``plans`` as partitions behind ``table`` ("mbr", "gpt"), or, with
    ``table=None``, one file system with no partition table."""
    work = Path(tempfile.mkdtemp(prefix="sg-disk-", dir=out.parent))
    try:
        parts = [work / f"part{i}.img" for i in range(len(plans))]
        planted_in = [build_partition(plan, part) for plan, part in zip(plans, parts, strict=True)]
        if table is None:
            if len(plans) != 1:
                raise ValueError("a disk without a partition table holds one file system")
            shutil.move(parts[0], out)
            return BuiltDisk(out, (0,), tuple(p for p in planted_in if p))
        offsets, lba = [], FIRST_LBA
        for plan in plans:
            offsets.append(lba * SECTOR)
            lba += -(-plan.size_bytes // MIB) * (MIB // SECTOR)
        total = lba * SECTOR + MIB  # room for the GPT backup header
        out.unlink(missing_ok=True)
        with open(out, "wb") as handle:
            handle.truncate(total)
        lines = [f"label: {'gpt' if table == 'gpt' else 'dos'}"]
        for plan, offset in zip(plans, offsets, strict=True):
            kind = (
                (_GPT_LINUX if plan.fs.startswith("ext") else _GPT_BASIC)
                if table == "gpt"
                else _MBR_TYPES[plan.fs]
            )
            lines.append(f"start={offset // SECTOR}, size={plan.size_bytes // SECTOR}, type={kind}")
        script = work / "table.sfdisk"
        script.write_text("\n".join(lines) + "\n")
        with open(script) as stdin:
            done = subprocess.run(
                [_which("sfdisk") or "sfdisk", "--no-reread", "--no-tell-kernel", str(out)],
                stdin=stdin,
                capture_output=True,
                text=True,
                check=False,
            )
        if done.returncode != 0:
            raise RuntimeError(f"sfdisk failed: {done.stderr.strip()}")
        with open(out, "r+b") as disk:
            for part, offset in zip(parts, offsets, strict=True):
                _copy_sparse(part, disk, offset)
        planted = tuple(
            Planted(offset + p.offset, p.data)
            for p, offset in zip(planted_in, offsets, strict=True)
            if p is not None
        )
        return BuiltDisk(out, tuple(offsets), planted)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _copy_sparse(source: Path, disk, offset: int) -> None:  # noqa: ANN001
    with open(source, "rb") as part:
        position = offset
        while chunk := part.read(MIB):
            if any(chunk):
                disk.seek(position)
                disk.write(chunk)
            position += len(chunk)


def to_e01(
    raw: Path,
    target: Path,
    *,
    segment_bytes: int = 4 * MIB,
    case_number: str = "OP-DEMO",
    evidence_number: str = "EX-01",
    examiner: str = "Demo Examiner",
    description: str = "benign generated test disk",
    compression: str = "fast",
) -> list[Path]:
    """``raw`` acquired by ``ewfacquire`` into ``target``.E01, .E02... (MD5 and SHA-1 stored);
    ``compression`` is ewfacquire's: "none", "empty-block", "fast" or "best"."""
    _run(
        "ewfacquire", "-u", "-t", target, "-S", str(max(segment_bytes, MIB)),
        "-c", compression, "-C", case_number, "-D", description, "-e", examiner,
        "-E", evidence_number, "-N", "benign test data", "-d", "sha1", "-f", "encase6",
        "-m", "fixed", "-M", "logical", "-b", "64", "-g", "64", "-q", raw,
    )  # fmt: skip
    return sorted(target.parent.glob(target.name + ".E*"))


def split_raw(raw: Path, target: Path, segment_bytes: int) -> list[Path]:
    """``raw`` cut into ``target``.001, .002... of ``segment_bytes`` each."""
    segments = []
    with open(raw, "rb") as source:
        n = 1
        while chunk := source.read(segment_bytes):
            segment = target.parent / f"{target.name}.{n:03d}"
            segment.write_bytes(chunk)
            segments.append(segment)
            n += 1
    return segments


def to_virtual(raw: Path, target: Path, fmt: str) -> Path:
    """``raw`` converted by ``qemu-img`` to ``fmt``: "vpc" (VHD), "vhdx", "vmdk", "qcow2"."""
    _run("qemu-img", "convert", "-O", fmt, raw, target)
    return target

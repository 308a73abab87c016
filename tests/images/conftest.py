"""Test disks built once per session from benign generated pictures, with their ground truth."""

from __future__ import annotations

import io
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from safeguard.demo.disk_images import (
    MIB,
    BuiltDisk,
    PartitionPlan,
    build_disk,
    missing_tools,
    split_raw,
    to_e01,
)
from safeguard.demo.pictures import render_picture

#: Every file system the tests build, in partition order on the GPT disk (p1, p2...).
FILE_SYSTEMS = ("fat12", "fat16", "fat32", "exfat", "ntfs", "ext2", "ext3", "ext4")
SIZES = {"fat12": 8, "fat16": 20, "fat32": 40, "exfat": 12, "ntfs": 12}
DELETED = "Users/sam/Pictures/deleted.jpg"
MTIME = 1_700_000_000  # even seconds: FAT keeps 2-second times


def _jpeg(seed: int, size: tuple[int, int] = (160, 120)) -> bytes:
    out = io.BytesIO()
    render_picture(seed, size).save(out, "JPEG", quality=85)
    return out.getvalue()


def _png(seed: int) -> bytes:
    out = io.BytesIO()
    render_picture(seed, (96, 64)).save(out, "PNG")
    return out.getvalue()


def make_source(root: Path) -> Path:
    """The folder every partition holds: pictures in nested folders, a zip, a text file."""
    pictures = root / "Users" / "sam" / "Pictures"
    pictures.mkdir(parents=True)
    for n in range(3):
        (pictures / f"holiday-{n}.jpg").write_bytes(_jpeg(100 + n))
    (pictures / "DELETED.JPG").unlink(missing_ok=True)
    (pictures / "deleted.jpg").write_bytes(_jpeg(200))
    (root / "Users" / "sam" / "drawing.png").write_bytes(_png(300))
    with zipfile.ZipFile(root / "Users" / "archive.zip", "w") as archive:
        archive.writestr("inner/zipped.jpg", _jpeg(400))
    (root / "notes.txt").write_text("benign test notes\n")
    for path in root.rglob("*"):
        os.utime(path, (MTIME, MTIME))
    return root


@dataclass(frozen=True)
class BuiltDisks:
    source: Path
    gpt: BuiltDisk  # one partition per file system in FILE_SYSTEMS
    mbr: BuiltDisk  # fat16 + ext4, for the MBR table and the split raw set
    e01: list[Path]  # the GPT disk as a split E01
    split: list[Path]  # the MBR disk as .001, .002...
    planted: bytes  # the picture written only into free space (fat16 partition of the GPT disk)


def _require(*needs: str) -> None:
    missing = missing_tools(*needs)
    if missing:
        pytest.skip(f"Debian packages missing: {', '.join(missing)} (./run test installs them)")
    if os.geteuid() != 0:
        pytest.skip("NTFS and exFAT test partitions are written through FUSE mounts: needs root")


@pytest.fixture(scope="session")
def disks(tmp_path_factory: pytest.TempPathFactory) -> BuiltDisks:
    _require(*FILE_SYSTEMS, "table", "e01")
    base = tmp_path_factory.mktemp("disks")
    source = make_source(base / "source")
    planted = _jpeg(999, (64, 48))
    plans = [
        PartitionPlan(
            fs,
            source,
            SIZES.get(fs, 8) * MIB,
            delete=(DELETED,),
            plant=planted if fs == "fat16" else None,
        )
        for fs in FILE_SYSTEMS
    ]
    gpt = build_disk(base / "gpt.img", plans, table="gpt")
    mbr = build_disk(
        base / "mbr.dd",
        [PartitionPlan("fat16", source, 20 * MIB), PartitionPlan("ext4", source, 8 * MIB)],
        table="mbr",
    )
    e01 = to_e01(gpt.path, base / "gpt", segment_bytes=MIB)
    split = split_raw(mbr.path, base / "mbr", 8 * MIB)
    return BuiltDisks(source, gpt, mbr, e01, split, planted)


@dataclass(frozen=True)
class DemoDisk:
    corpus: object  # safeguard.demo.corpus.DemoCorpus
    e01: list[Path]


@pytest.fixture(scope="session")
def demo_disk(tmp_path_factory: pytest.TempPathFactory) -> DemoDisk:
    """The demo exhibit (with its bank) on an NTFS + ext4 GPT disk, acquired as E01."""
    from safeguard.demo.corpus import generate_demo

    _require("ntfs", "ext4", "table", "e01")
    base = tmp_path_factory.mktemp("demo-disk")
    corpus = generate_demo(base / "demo", seed=7, n_base=40)
    size = sum(p.stat().st_size for p in corpus.exhibit_dir.rglob("*") if p.is_file())
    room = (size * 2 // MIB + 16) * MIB
    disk = build_disk(
        base / "demo.img",
        [
            PartitionPlan("ntfs", corpus.exhibit_dir, room),
            PartitionPlan("ext4", corpus.exhibit_dir, room),
        ],
        table="gpt",
    )
    return DemoDisk(corpus, to_e01(disk.path, base / "demo", segment_bytes=4 * MIB))

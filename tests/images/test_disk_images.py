"""Disk images walk like the folder they hold: every file system, E01, split raw; deleted and
carved files flagged; damaged images give errors naming what failed and the rest is read."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

from safeguard.evidence import EvidenceError, EvidenceItem, iter_evidence
from safeguard.evidence.images import verify_image
from tests.images.conftest import DELETED, FILE_SYSTEMS, MTIME, BuiltDisks


def _folder(root: Path) -> dict[str, tuple[str, int]]:
    found = {}
    for item in iter_evidence(root):
        assert isinstance(item, EvidenceItem), item
        with item.open() as stream:
            found[item.logical_path] = (hashlib.sha256(stream.read()).hexdigest(), item.size)
        item.discard()
    return found


def _walk(path: Path, carve: bool = False) -> tuple[list[EvidenceItem], list[EvidenceError]]:
    items, errors = [], []
    for found in iter_evidence(path, carve=carve):
        if isinstance(found, EvidenceError):
            errors.append(found)
        else:
            items.append(found)
    return items, errors


def _digest(item: EvidenceItem) -> str:
    with item.open() as stream:
        return hashlib.sha256(stream.read()).hexdigest()


def _partition(items: list[EvidenceItem], name: str) -> dict[str, EvidenceItem]:
    prefix = f"{name}/"
    return {i.logical_path[len(prefix) :]: i for i in items if i.logical_path.startswith(prefix)}


@pytest.fixture(scope="module")
def gpt_walk(disks: BuiltDisks) -> tuple[list[EvidenceItem], list[EvidenceError]]:
    return _walk(disks.gpt.path)


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(FILE_SYSTEMS)), ids=FILE_SYSTEMS)
def test_each_file_system_holds_what_the_folder_holds(
    disks: BuiltDisks, gpt_walk: tuple, index: int
) -> None:
    items, errors = gpt_walk
    assert errors == []
    expected = {p: v for p, v in _folder(disks.source).items() if p != DELETED}
    partition = _partition(items, f"p{index + 1}")
    live = {p: i for p, i in partition.items() if not i.origin.deleted}
    assert {p: (_digest(i), i.size) for p, i in live.items()} == expected
    for path, item in live.items():
        origin = item.origin
        assert origin is not None and not origin.deleted and not origin.unallocated
        if "!/" not in path:  # archive members carry the archive's times and no inode
            assert origin.inode is not None and origin.inode > 0
            assert item.modified is not None and item.modified.timestamp() == MTIME, path
    # Files stored in clusters know where: their first byte is at physical_offset.
    start = disks.gpt.offsets[index]
    with open(disks.gpt.path, "rb") as raw:
        for item in live.values():
            offset = item.origin.physical_offset
            if offset is None or "!/" in item.logical_path:
                continue  # resident in the NTFS MFT entry
            assert offset >= start
            raw.seek(offset)
            with item.open() as stream:
                head = stream.read(64)
            assert raw.read(len(head)) == head, item.logical_path


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(FILE_SYSTEMS)), ids=FILE_SYSTEMS)
def test_a_deleted_file_is_recovered_and_flagged(
    disks: BuiltDisks, gpt_walk: tuple, index: int
) -> None:
    items, _ = gpt_walk
    original = hashlib.sha256((disks.source / DELETED).read_bytes()).hexdigest()
    partition = _partition(items, f"p{index + 1}")
    deleted = [i for i in partition.values() if i.origin.deleted]
    assert [_digest(i) for i in deleted] == [original]
    assert deleted[0].origin.unallocated
    assert deleted[0].logical_path.startswith(f"p{index + 1}/Users/sam/Pictures/")


@pytest.mark.slow
def test_carving_finds_the_planted_picture_at_its_offset(disks: BuiltDisks) -> None:
    items, errors = _walk(disks.gpt.path, carve=True)
    assert errors == []
    carved = [i for i in items if i.origin and i.origin.carved]
    (planted,) = disks.gpt.planted
    assert [(i.origin.physical_offset, _digest(i)) for i in carved] == [
        (planted.offset, hashlib.sha256(disks.planted).hexdigest())
    ], "only the planted picture: allocated and recovered deleted files are not carved again"
    assert carved[0].origin.unallocated and not carved[0].origin.deleted
    assert carved[0].logical_path == f"$Carved/{planted.offset:014d}.jpg"


def _facts(items: list[EvidenceItem]) -> list[tuple]:
    return [(i.logical_path, i.size, _digest(i), i.modified, i.origin) for i in items]


@pytest.mark.slow
def test_split_e01_walks_exactly_as_the_raw_disk(disks: BuiltDisks, gpt_walk: tuple) -> None:
    assert len(disks.e01) >= 2, "the E01 set must be split into segments"
    items, errors = _walk(disks.e01[0])
    assert errors == []
    assert _facts(items) == _facts(gpt_walk[0])


@pytest.mark.slow
def test_split_raw_and_mbr_walk_as_the_folder(disks: BuiltDisks) -> None:
    assert len(disks.split) >= 2
    items, errors = _walk(disks.split[0])
    assert errors == []
    assert _facts(items) == _facts(_walk(disks.mbr.path)[0])
    expected = _folder(disks.source)
    for name in ("p1", "p2"):
        partition = _partition(items, name)
        assert {p: (_digest(i), i.size) for p, i in partition.items()} == expected


@pytest.mark.slow
def test_e01_verification_good_and_tampered(disks: BuiltDisks, tmp_path: Path) -> None:
    good = verify_image(disks.e01[0], "ewf")
    assert good.result == "verified", good
    raw = hashlib.md5(disks.gpt.path.read_bytes(), usedforsecurity=False).hexdigest()
    assert good.md5 == raw
    copies = [Path(shutil.copy(p, tmp_path / p.name)) for p in disks.e01]
    # Flip one byte in the middle of the last segment's chunk data.
    target = copies[-1]
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0xFF
    target.write_bytes(bytes(data))
    bad = verify_image(copies[0], "ewf")
    assert bad.result in ("mismatch", "unreadable"), bad
    assert bad.md5 != raw


@pytest.mark.slow
def test_a_missing_or_truncated_segment_is_an_error_and_the_rest_is_read(
    disks: BuiltDisks, tmp_path: Path
) -> None:
    copies = [Path(shutil.copy(p, tmp_path / p.name)) for p in disks.split]
    with open(copies[-1], "r+b") as handle:  # the last segment loses half of itself
        handle.truncate(copies[-1].stat().st_size // 2)
    items, errors = _walk(copies[0])
    assert errors, "a truncated image must say so"
    assert any(e.logical_path.startswith("p2") for e in errors), errors
    assert len(_partition(items, "p1")) == len(_folder(disks.source))
    verdict = verify_image(copies[0], "split")
    assert verdict.result == "computed"  # raw images store no hash: nothing to compare


@pytest.mark.slow
def test_a_broken_partition_table_entry_is_an_error_and_the_rest_is_read(
    disks: BuiltDisks, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.dd"
    shutil.copy(disks.mbr.path, broken)
    with open(broken, "r+b") as handle:  # MBR entry 2: start sector moved to garbage
        handle.seek(446 + 16 + 8)
        handle.write((123).to_bytes(4, "little"))
    items, errors = _walk(broken)
    # Partitions are named in disk order: the broken entry now starts first.
    assert [e.logical_path for e in errors] == ["p1"]
    assert "no file system recognised at byte 62976" in errors[0].message
    good = _partition(items, "p2")
    assert {p: (_digest(i), i.size) for p, i in good.items()} == _folder(disks.source)


@pytest.mark.slow
def test_a_looping_directory_is_an_error_and_the_rest_is_read(
    disks: BuiltDisks, tmp_path: Path
) -> None:
    from safeguard.demo.disk_images import MIB, PartitionPlan, build_partition

    image = tmp_path / "loop.img"
    build_partition(PartitionPlan("ext4", disks.source, 8 * MIB), image)
    subprocess.run(
        ["debugfs", "-w", "-R", "ln /Users /Users/sam/Pictures/back", str(image)],
        check=True,
        capture_output=True,
    )
    items, errors = _walk(image)
    assert [(e.logical_path, "directory loop" in e.message) for e in errors] == [
        ("Users/sam/Pictures/back", True)
    ]
    assert {i.logical_path for i in items} == set(_folder(disks.source))


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["vpc", "vhdx", "vmdk", "qcow2"])
def test_virtual_disks_walk_exactly_as_the_raw_disk(
    disks: BuiltDisks, tmp_path: Path, fmt: str
) -> None:
    from safeguard.demo.disk_images import missing_tools, to_virtual

    if missing_tools("virtual"):
        pytest.skip("qemu-utils missing (./run test installs it)")
    image = to_virtual(disks.mbr.path, tmp_path / f"disk.{fmt}", fmt)
    items, errors = _walk(image)
    assert errors == []
    assert _facts(items) == _facts(_walk(disks.mbr.path)[0])
    assert len(items) > len(_folder(disks.source))


def test_a_file_named_like_a_raw_image_that_holds_no_disk_is_an_ordinary_file(
    tmp_path: Path,
) -> None:
    blob = tmp_path / "firmware.bin"
    blob.write_bytes(bytes(range(256)) * 64)
    items, errors = _walk(blob)
    assert errors == []
    assert [(i.logical_path, i.size, i.origin) for i in items] == [("firmware.bin", 16384, None)]

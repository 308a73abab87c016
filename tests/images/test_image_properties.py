"""Invariants: the free-space rule for carving, and a damaged image never stops the walk."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safeguard.evidence import EvidenceError, EvidenceItem, iter_evidence
from safeguard.evidence.carving import free_ranges

SECTOR = 512


@given(
    size=st.integers(0, 1 << 16),
    allocated=st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(0, 1 << 13)), max_size=12),
)
def test_free_ranges_are_exactly_the_whole_sectors_no_allocation_touches(
    size: int, allocated: list[tuple[int, int]]
) -> None:
    free = free_ranges(allocated, size)
    covered = [(s, s + n) for s, n in allocated]
    ends = [0]
    for start, length in free:
        assert length > 0 and start % SECTOR == 0 and length % SECTOR == 0
        assert start >= ends[-1], "sorted and disjoint"
        assert start + length <= size
        assert not any(s < start + length and start < e for s, e in covered if e > s)
        ends.append(start + length)
    free_sectors = {s for start, length in free for s in range(start, start + length, SECTOR)}
    for sector in range(0, size - size % SECTOR, SECTOR):
        untouched = not any(s < sector + SECTOR and sector < e for s, e in covered if e > s)
        assert (sector in free_sectors) == untouched


@pytest.fixture(scope="module")
def small_fat(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from safeguard.demo.disk_images import MIB, PartitionPlan, build_disk, missing_tools
    from tests.images.conftest import make_source

    if missing_tools("fat12", "table"):
        pytest.skip("dosfstools, mtools and fdisk are needed (./run test installs them)")
    base = tmp_path_factory.mktemp("fuzz")
    source = make_source(base / "source")
    return build_disk(base / "small.dd", [PartitionPlan("fat12", source, 8 * MIB)]).path


@pytest.mark.slow
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    damage=st.lists(
        st.tuples(st.integers(0, 2 * 1024 * 1024), st.binary(min_size=1, max_size=64)),
        min_size=1,
        max_size=8,
    )
)
def test_a_damaged_image_yields_items_and_errors_never_an_exception(
    small_fat: Path, tmp_path_factory: pytest.TempPathFactory, damage: list[tuple[int, bytes]]
) -> None:
    """Bytes overwritten in the partition table, boot sector, FATs and directories: the walk
    ends, with unique paths, whatever it finds."""
    work = tmp_path_factory.mktemp("damaged")
    image = work / "damaged.dd"
    shutil.copy(small_fat, image)
    with open(image, "r+b") as handle:
        for offset, data in damage:
            handle.seek(offset)
            handle.write(data)
    paths = []
    for found in iter_evidence(image, carve=False):
        assert isinstance(found, EvidenceItem | EvidenceError)
        if isinstance(found, EvidenceItem):
            paths.append(found.logical_path)
            found.discard()
    assert len(paths) == len(set(paths))
    os.remove(image)

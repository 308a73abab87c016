"""Compression bombs, nesting without end and too many members: refused in bounded memory."""

from __future__ import annotations

import tracemalloc
import zipfile
from pathlib import Path

import pytest

from safeguard.evidence import EvidenceItem, EvidenceLimits
from tests.evidence.evidence_builders import (
    MIB,
    error_for,
    errors,
    make_tar,
    make_zip,
    paths,
    walk,
    zeros_tar_gz,
    zeros_zip,
)


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    root = tmp_path / "exhibit"
    root.mkdir(exist_ok=True)
    (root / name).write_bytes(data)
    return root


def _peak_while_walking(root: Path, limits: EvidenceLimits | None = None) -> tuple[list, int]:
    tracemalloc.start()
    try:
        found = walk(root, limits)
        return found, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_zip_bomb_is_refused_by_its_ratio_without_being_expanded(tmp_path: Path) -> None:
    bomb = zeros_zip("zeros.bin", 200)  # 200 MiB of zeros in ~200 KiB
    tail = make_zip([("after.txt", b"after")])
    root = _write(tmp_path, "bomb.zip", bomb)
    (root / "z.zip").write_bytes(tail)
    found, peak = _peak_while_walking(root)
    assert paths(found) == ["bomb.zip", "z.zip", "z.zip!/after.txt"]
    message = error_for(found, "bomb.zip!/zeros.bin")
    assert message.startswith("zip member looks like a compression bomb: declares 209715200")
    assert peak < 8 * MIB


def test_zip_bomb_over_the_member_limit(tmp_path: Path) -> None:
    root = _write(tmp_path, "bomb.zip", zeros_zip("zeros.bin", 50))
    limits = EvidenceLimits(max_member_bytes=10 * MIB, max_ratio=1e9)
    found = walk(root, limits)
    assert "max_member_bytes" in error_for(found, "bomb.zip!/zeros.bin")


def test_zip_header_that_understates_the_size_cannot_smuggle_a_bomb(tmp_path: Path) -> None:
    root = _write(tmp_path, "liar.zip", zeros_zip("zeros.bin", 200, declared_size=1000))
    found, peak = _peak_while_walking(root)
    assert paths(found) == ["liar.zip"]
    assert "liar.zip!/zeros.bin" in {e.logical_path for e in errors(found)}
    assert peak < 24 * MIB  # held until the ratio floor (16 MiB), then refused


def test_tar_gz_bomb_member_is_refused_and_the_archive_goes_on(tmp_path: Path) -> None:
    root = _write(tmp_path, "bomb.tgz", zeros_tar_gz("zeros.bin", 200, [("x.txt", b"x")]))
    found, peak = _peak_while_walking(root)
    assert paths(found) == ["bomb.tgz", "bomb.tgz!/x.txt"]
    assert "tar member looks like a compression bomb" in error_for(found, "bomb.tgz!/zeros.bin")
    assert peak < 32 * MIB


def test_tar_gz_bomb_is_stopped_by_the_stream_ratio_over_substantial_sizes(
    tmp_path: Path,
) -> None:
    root = _write(tmp_path, "bomb.tgz", zeros_tar_gz("zeros.bin", 300, [("x.txt", b"x")]))
    found, peak = _peak_while_walking(root)
    assert paths(found) == ["bomb.tgz"]
    assert "gzip stream looks like a compression bomb" in error_for(found, "bomb.tgz")
    assert peak < 32 * MIB


def test_tar_gz_expansion_is_capped_on_the_bytes_actually_inflated(tmp_path: Path) -> None:
    # The member is refused by its declared size; skipping it still inflates, and that is metered.
    root = _write(tmp_path, "big.tgz", zeros_tar_gz("zeros.bin", 200, [("x.txt", b"x")]))
    limits = EvidenceLimits(max_ratio=1e9, max_member_bytes=MIB, max_total_bytes=40 * MIB)
    found, peak = _peak_while_walking(root, limits)
    assert "max_member_bytes" in error_for(found, "big.tgz!/zeros.bin")
    assert "gzip stream expands beyond 41943040 bytes" in error_for(found, "big.tgz")
    assert peak < 16 * MIB


def test_total_budget_is_shared_by_nested_archives(tmp_path: Path) -> None:
    chunk = bytes(range(256)) * 4096  # 1 MiB, incompressible enough
    inner = make_zip([(f"in{i}.bin", chunk) for i in range(3)], zipfile.ZIP_STORED)
    outer = make_tar([("a.zip", inner), ("b.zip", inner), ("later.txt", b"later")])
    root = _write(tmp_path, "x.tar", outer)
    found = walk(root, EvidenceLimits(max_total_bytes=9 * MIB))
    assert "max_total_bytes" in errors(found)[0].message
    assert "x.tar!/later.txt" not in paths(found)
    # the whole top-level archive stopped, but the walk went on to the next file
    (root / "y.txt").write_bytes(b"y")
    assert "y.txt" in paths(walk(root, EvidenceLimits(max_total_bytes=9 * MIB)))


def test_member_read_is_cut_at_the_member_limit(tmp_path: Path) -> None:
    root = _write(tmp_path, "x.tar", make_tar([("big.bin", bytes(3 * MIB)), ("ok.txt", b"ok")]))
    found = walk(root, EvidenceLimits(max_member_bytes=2 * MIB))
    assert paths(found) == ["x.tar", "x.tar!/ok.txt"]
    assert "max_member_bytes" in error_for(found, "x.tar!/big.bin")


def _nested_zip(depth: int) -> bytes:
    data = make_zip([("leaf.txt", b"leaf")])
    for _ in range(depth - 1):
        data = make_zip([("next.zip", data)])
    return data


def test_nesting_deeper_than_max_depth_is_not_opened(tmp_path: Path) -> None:
    root = _write(tmp_path, "n.zip", _nested_zip(12))
    found = walk(root)
    eighth = "n.zip" + "!/next.zip" * 8
    assert paths(found)[-1] == eighth  # hashed as a file, but not opened
    assert len(paths(found)) == 9
    assert "max_depth" in error_for(found, eighth)


def test_nesting_at_max_depth_is_read(tmp_path: Path) -> None:
    root = _write(tmp_path, "n.zip", _nested_zip(3))
    assert (
        paths(walk(root, EvidenceLimits(max_depth=3)))[-1] == "n.zip!/next.zip!/next.zip!/leaf.txt"
    )
    found = walk(root, EvidenceLimits(max_depth=0))
    assert paths(found) == ["n.zip"] and "max_depth" in error_for(found, "n.zip")


def test_self_containing_archive_stops_at_max_depth(tmp_path: Path) -> None:
    # A quine-like loop: every level holds the same archive again (here, built level by level).
    data = make_zip([("loop.zip", b"")])
    for _ in range(20):
        data = make_zip([("loop.zip", data)])
    found = walk(_write(tmp_path, "loop.zip", data))
    assert len(paths(found)) == 9
    assert len(errors(found)) == 1


def test_too_many_zip_members_refused_before_the_directory_is_read(tmp_path: Path) -> None:
    root = _write(tmp_path, "many.zip", make_zip([(f"{i}.txt", b"") for i in range(50)]))
    (root / "next.txt").write_bytes(b"n")
    found = walk(root, EvidenceLimits(max_members=10))
    assert paths(found) == ["many.zip", "next.txt"]
    assert "max_members" in error_for(found, "many.zip")


def test_too_many_tar_members_stops_the_archive(tmp_path: Path) -> None:
    root = _write(tmp_path, "many.tar", make_tar([(f"{i:02}.txt", b"") for i in range(50)]))
    found = walk(root, EvidenceLimits(max_members=10))
    assert len(paths(found)) == 11
    assert "max_members" in errors(found)[0].message


@pytest.mark.parametrize("field", ["max_depth", "spill_bytes", "max_members"])
def test_negative_limits_are_refused(field: str) -> None:
    with pytest.raises(ValueError, match=field):
        EvidenceLimits(**{field: -1})


def test_items_are_small_or_spilled_never_large_in_memory(tmp_path: Path) -> None:
    chunk = bytes(range(256)) * 4096
    root = _write(tmp_path, "x.tar", make_tar([("a.bin", chunk * 3), ("b.bin", b"b")]))
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    found = walk(root, EvidenceLimits(spill_bytes=MIB), temp_dir=scratch)
    for item in found:
        assert isinstance(item, EvidenceItem)
        assert item.data is None or len(item.data) <= MIB
        item.discard()

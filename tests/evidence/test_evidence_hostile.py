"""Archive bombs that dodge the declared sizes, benign runs of zeros, and hostile member names."""

from __future__ import annotations

import gzip
import io
import struct
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import pytest

from safeguard.evidence import EvidenceLimits
from safeguard.evidence.limits import RATIO_FLOOR_BYTES
from safeguard.evidence.names import unique_logical_path
from tests.evidence.evidence_builders import MIB, error_for, errors, make_tar, paths, read, walk


def _descriptor_member(name: str, data: bytes) -> bytes:
    """A deflated zip member behind a local header with no sizes (flag bit 3) and a descriptor."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    body = compressor.compress(data) + compressor.flush()
    raw = name.encode()
    header = struct.pack("<4sHHHHHLLLHH", b"PK\x03\x04", 20, 0x08, 8, 0, 33, 0, 0, 0, len(raw), 0)
    crc = zlib.crc32(data)
    return header + raw + body + struct.pack("<4sLLL", b"PK\x07\x08", crc, len(body), len(data))


def _exhibit(tmp_path: Path, name: str, data: bytes) -> Path:
    root = tmp_path / "exhibit"
    root.mkdir(exist_ok=True)
    (root / name).write_bytes(data)
    return root


def test_a_zip_of_local_headers_cannot_hide_a_bomb_behind_data_descriptors(
    tmp_path: Path,
) -> None:
    zeros = bytes(4 * RATIO_FLOOR_BYTES)  # 64 MiB of zeros in ~64 KiB, no size in any header
    archive = _descriptor_member("one.bin", zeros) + _descriptor_member("two.bin", zeros)
    root = _exhibit(tmp_path, "bomb.zip", archive)
    tracemalloc.start()
    try:
        found = walk(root)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    message = error_for(found, "bomb.zip!/one.bin")
    assert "compression bomb" in message and "expands to more than" in message
    assert not [p for p in paths(found) if p.endswith(".bin")]
    assert peak < RATIO_FLOOR_BYTES + 16 * MIB


def test_small_members_behind_descriptors_are_still_recovered(tmp_path: Path) -> None:
    archive = _descriptor_member("a.txt", b"alpha" * 100) + _descriptor_member("b.txt", b"beta")
    found = walk(_exhibit(tmp_path, "cd-less.zip", archive))
    assert [p for p in paths(found) if "!/" in p] == ["cd-less.zip!/a.txt", "cd-less.zip!/b.txt"]


def _tar_gz(entries: list[tuple[str, bytes]]) -> bytes:
    return gzip.compress(make_tar(entries))


def test_a_benign_run_of_zeros_does_not_cut_a_tar_gz_short(tmp_path: Path) -> None:
    archive = _tar_gz([("blank.img", bytes(3 * MIB)), ("a.txt", b"a"), ("b.txt", b"b")])
    assert len(archive) < 16 * 1024
    found = walk(_exhibit(tmp_path, "x.tar.gz", archive))
    assert errors(found) == []
    assert paths(found) == ["x.tar.gz", "x.tar.gz!/blank.img", "x.tar.gz!/a.txt", "x.tar.gz!/b.txt"]


def test_a_bomb_member_of_a_tar_gz_is_refused_and_the_rest_is_read(tmp_path: Path) -> None:
    archive = _tar_gz(
        [
            ("before.txt", b"before"),
            ("zeros.bin", bytes(2 * RATIO_FLOOR_BYTES)),
            ("after.txt", b"z"),
        ]
    )
    found = walk(_exhibit(tmp_path, "x.tgz", archive))
    assert "compression bomb" in error_for(found, "x.tgz!/zeros.bin")
    assert paths(found) == ["x.tgz", "x.tgz!/before.txt", "x.tgz!/after.txt"]


def test_the_stream_ratio_still_stops_a_huge_tar_gz_bomb(tmp_path: Path) -> None:
    archive = _tar_gz([("zeros.bin", bytes(32 * MIB)), ("after.txt", b"z")])
    limits = EvidenceLimits(max_total_bytes=20 * MIB)
    found = walk(_exhibit(tmp_path, "x.tgz", archive), limits)
    assert "max_total_bytes" in error_for(found, "x.tgz!/zeros.bin")
    assert "x.tgz!/after.txt" not in paths(found)


def _zip(entries: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return out.getvalue()


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_duplicate_member_names_never_take_each_others_paths(tmp_path: Path) -> None:
    archive = _zip([("dup.jpg", b"one"), ("dup.jpg", b"two"), ("dup.jpg [duplicate 2]", b"three")])
    found = walk(_exhibit(tmp_path, "d.zip", archive))
    taken: set[str] = set()
    by_path = {}
    for item in found:  # named as the ingest and preview preparation name them
        path = unique_logical_path(item.logical_path, taken)
        taken.add(path)
        if "!/" in path:
            by_path[path] = read(item)
    assert by_path == {
        "d.zip!/dup.jpg": b"one",
        "d.zip!/dup.jpg // duplicate 2": b"two",
        "d.zip!/dup.jpg [duplicate 2]": b"three",
    }


def test_a_nul_in_a_zip_member_name_is_refused_not_truncated(tmp_path: Path) -> None:
    archive = _zip([("evil.jpg#.txt", b"x"), ("fine.txt", b"y")]).replace(b"#", b"\x00")
    found = walk(_exhibit(tmp_path, "n.zip", archive))
    assert "n.zip!/evil.jpg" not in paths(found)
    assert "n.zip!/fine.txt" in paths(found)
    assert any("NUL" in e.message for e in errors(found))

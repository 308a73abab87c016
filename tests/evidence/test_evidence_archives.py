"""Archives: nesting, hostile names, links, damage, truncation, encryption, spilling."""

from __future__ import annotations

import gzip
import io
import lzma
import struct
import tarfile
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from safeguard.evidence import EvidenceItem, EvidenceLimits, iter_evidence
from tests.evidence.evidence_builders import (
    error_for,
    errors,
    items,
    make_streamed_zip,
    make_tar,
    make_zip,
    patch_zip_flags,
    paths,
    read,
    tar_special,
)
from tests.evidence.evidence_builders import walk as walk_all


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    root = tmp_path / "exhibit"
    root.mkdir(exist_ok=True)
    (root / name).write_bytes(data)
    return root


def test_zip_in_tar_in_zip_has_nested_logical_paths(tmp_path: Path) -> None:
    innermost = make_zip([("c.png", b"benign png"), ("sub/d.txt", b"d")])
    middle = make_tar([("b.tar-note.txt", b"note"), ("inner/c.zip", innermost)])
    outer = make_zip([("b.tar", middle), ("after.txt", b"after")])
    root = _write(tmp_path, "a.zip", outer)
    (root / "dir").mkdir()
    (root / "dir" / "outer.zip").write_bytes(outer)
    found = walk_all(root)
    assert errors(found) == []
    assert paths(found) == [
        "a.zip",
        "a.zip!/b.tar",
        "a.zip!/b.tar!/b.tar-note.txt",
        "a.zip!/b.tar!/inner/c.zip",
        "a.zip!/b.tar!/inner/c.zip!/c.png",
        "a.zip!/b.tar!/inner/c.zip!/sub/d.txt",
        "a.zip!/after.txt",
        "dir/outer.zip",
        "dir/outer.zip!/b.tar",
        "dir/outer.zip!/b.tar!/b.tar-note.txt",
        "dir/outer.zip!/b.tar!/inner/c.zip",
        "dir/outer.zip!/b.tar!/inner/c.zip!/c.png",
        "dir/outer.zip!/b.tar!/inner/c.zip!/sub/d.txt",
        "dir/outer.zip!/after.txt",
    ]
    by_path = {i.logical_path: i for i in items(found)}
    png = by_path["dir/outer.zip!/b.tar!/inner/c.zip!/c.png"]
    assert (png.data, png.fs_path, png.size, read(png)) == (b"benign png", None, 10, b"benign png")
    assert png.modified == datetime(2021, 5, 6, 7, 8, 10, tzinfo=UTC)
    assert read(by_path["a.zip!/b.tar"]) == middle


@pytest.mark.parametrize(
    ("mode", "suffix"), [("w:gz", "tgz"), ("w:bz2", "tbz"), ("w:xz", "txz"), ("w", "tar")]
)
def test_tar_in_any_compression(tmp_path: Path, mode: str, suffix: str) -> None:
    root = _write(tmp_path, f"x.{suffix}", make_tar([("one.txt", b"1"), ("two.txt", b"2")], mode))
    found = walk_all(root)
    assert errors(found) == []
    assert paths(found) == [f"x.{suffix}", f"x.{suffix}!/one.txt", f"x.{suffix}!/two.txt"]


def test_compressed_file_that_holds_no_tar_is_a_plain_file(tmp_path: Path) -> None:
    root = _write(tmp_path, "notes.txt.gz", gzip.compress(b"just text " * 100))
    (root / "notes.xz").write_bytes(lzma.compress(b"more text"))
    found = walk_all(root)
    assert paths(found) == ["notes.txt.gz", "notes.xz"]
    assert errors(found) == []


def test_corrupt_gzip_is_an_item_and_an_error(tmp_path: Path) -> None:
    data = bytearray(make_tar([("one.txt", b"1" * 2000)], "w:gz"))
    data[12:40] = b"\xff" * 28
    root = _write(tmp_path, "broken.tgz", bytes(data))
    found = walk_all(root)
    assert paths(found) == ["broken.tgz"]
    assert "gzip" in error_for(found, "broken.tgz")


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("../../etc/passwd", "zip entry escapes the archive: ../../etc/passwd"),
        ("ok/../../up.txt", "zip entry escapes the archive: ok/../../up.txt"),
        ("..\\..\\win.txt", "zip entry escapes the archive: ..\\..\\win.txt"),
        ("/etc/x", "zip entry has an absolute path: /etc/x"),
        ("C:\\x", "zip entry has a Windows drive path: C:\\x"),
        ("c:relative", "zip entry has a Windows drive path: c:relative"),
        ("\\\\server\\share\\x", "zip entry has a network (UNC) path: \\\\server\\share\\x"),
        ("..", "zip entry escapes the archive: .."),
    ],
)
def test_escaping_zip_entries_are_refused_and_siblings_kept(
    tmp_path: Path, name: str, reason: str
) -> None:
    root = _write(
        tmp_path, "x.zip", make_zip([("first.txt", b"1"), (name, b"bad"), ("last.txt", b"2")])
    )
    found = walk_all(root)
    assert paths(found) == ["x.zip", "x.zip!/first.txt", "x.zip!/last.txt"]
    [error] = errors(found)
    assert error.logical_path == f"x.zip!/{name}"  # as given, not normalised away
    assert error.message == reason


def test_escaping_tar_entries_are_refused_and_siblings_kept(tmp_path: Path) -> None:
    data = make_tar([("a.txt", b"a"), ("../up.txt", b"x"), ("/abs.txt", b"y"), ("b.txt", b"b")])
    root = _write(tmp_path, "x.tar", data)
    found = walk_all(root)
    assert paths(found) == ["x.tar", "x.tar!/a.txt", "x.tar!/b.txt"]
    assert error_for(found, "x.tar!/../up.txt") == "tar entry escapes the archive: ../up.txt"
    assert error_for(found, "x.tar!//abs.txt") == "tar entry has an absolute path: /abs.txt"


def test_harmless_name_oddities_are_normalised(tmp_path: Path) -> None:
    root = _write(tmp_path, "x.zip", make_zip([("./a//b/./c.txt", b"c"), ("dir/", b"")]))
    assert paths(walk_all(root)) == ["x.zip", "x.zip!/a/b/c.txt"]


def test_tar_links_and_devices_are_skipped_with_errors(tmp_path: Path) -> None:
    symlink = tarfile.TarInfo("sym")
    symlink.type, symlink.linkname = tarfile.SYMTYPE, "/etc/passwd"
    hardlink = tarfile.TarInfo("hard")
    hardlink.type, hardlink.linkname = tarfile.LNKTYPE, "real.txt"
    device = tarfile.TarInfo("dev")
    device.type = tarfile.CHRTYPE
    fifo = tarfile.TarInfo("fifo")
    fifo.type = tarfile.FIFOTYPE
    directory = tarfile.TarInfo("d")
    directory.type = tarfile.DIRTYPE
    data = tar_special(
        [("real.txt", b"real"), symlink, hardlink, device, fifo, directory, ("after.txt", b"after")]
    )
    found = walk_all(_write(tmp_path, "x.tar", data))
    assert paths(found) == ["x.tar", "x.tar!/real.txt", "x.tar!/after.txt"]
    assert error_for(found, "x.tar!/sym") == (
        "tar entry is a symbolic link to /etc/passwd; not followed"
    )
    assert "hard link to real.txt" in error_for(found, "x.tar!/hard")
    assert error_for(found, "x.tar!/dev") == "tar entry is a character device; skipped"
    assert error_for(found, "x.tar!/fifo") == "tar entry is a FIFO; skipped"


def test_zip_symlink_member_is_not_followed(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        link = zipfile.ZipInfo("link")
        link.create_system = 3
        link.external_attr = 0o120777 << 16
        archive.writestr(link, "/etc/passwd")
        archive.writestr("file.txt", b"f")
    found = walk_all(_write(tmp_path, "x.zip", buffer.getvalue()))
    assert paths(found) == ["x.zip", "x.zip!/file.txt"]
    assert "symbolic link" in error_for(found, "x.zip!/link")


def test_encrypted_zip_member_is_refused(tmp_path: Path) -> None:
    data = patch_zip_flags(make_zip([("secret.txt", b"s"), ("open.txt", b"o")]), "secret.txt", 1)
    found = walk_all(_write(tmp_path, "x.zip", data))
    assert paths(found) == ["x.zip", "x.zip!/open.txt"]
    assert error_for(found, "x.zip!/secret.txt") == "zip member is encrypted; not read"


def test_corrupt_crc_member_is_an_error_and_the_next_member_is_fine(tmp_path: Path) -> None:
    data = bytearray(
        make_zip(
            [("a.txt", b"AAAA" * 10), ("b.txt", b"BBBB" * 10), ("c.txt", b"CCCC" * 10)],
            zipfile.ZIP_STORED,
        )
    )
    at = data.find(b"BBBB")
    data[at] = ord("X")
    found = walk_all(_write(tmp_path, "x.zip", bytes(data)))
    assert paths(found) == ["x.zip", "x.zip!/a.txt", "x.zip!/c.txt"]
    assert "CRC" in error_for(found, "x.zip!/b.txt")
    assert read(items(found)[2]) == b"CCCC" * 10


def test_corrupt_deflate_member_is_an_error(tmp_path: Path) -> None:
    payload = bytes(range(256)) * 40
    data = bytearray(make_zip([("a.bin", payload), ("b.bin", payload)]))
    data[45:60] = b"\x00" * 15  # inside a.bin's compressed stream
    found = walk_all(_write(tmp_path, "x.zip", bytes(data)))
    assert paths(found) == ["x.zip", "x.zip!/b.bin"]
    assert error_for(found, "x.zip!/a.bin").startswith("zip member is damaged")


def test_truncated_tar_keeps_what_came_before(tmp_path: Path) -> None:
    data = make_tar([("one.txt", b"1" * 700), ("two.txt", b"2" * 700), ("three.txt", b"3" * 9000)])
    cut = data.find(b"3" * 100) + 4000
    found = walk_all(_write(tmp_path, "x.tar", data[:cut]))
    assert paths(found) == ["x.tar", "x.tar!/one.txt", "x.tar!/two.txt"]
    assert errors(found), "truncation must be reported"
    assert any("truncated" in e.message or "unexpected end" in e.message for e in errors(found))


def test_tar_truncated_between_members_is_reported(tmp_path: Path) -> None:
    data = make_tar([("one.txt", b"1" * 512), ("two.txt", b"2" * 512)])
    found = walk_all(_write(tmp_path, "x.tar", data[:2048]))  # both members, no end marker
    assert paths(found) == ["x.tar", "x.tar!/one.txt", "x.tar!/two.txt"]
    assert "end-of-archive marker" in error_for(found, "x.tar")


def test_tar_with_a_damaged_header_reports_it(tmp_path: Path) -> None:
    data = bytearray(make_tar([("one.txt", b"1" * 512), ("two.txt", b"2" * 512)]))
    data[1024 + 148 : 1024 + 156] = b"9999999\x00"  # checksum of the second header
    found = walk_all(_write(tmp_path, "x.tar", bytes(data)))
    assert paths(found) == ["x.tar", "x.tar!/one.txt"]
    assert "damaged" in error_for(found, "x.tar")


def test_truncated_tar_gz_keeps_what_came_before(tmp_path: Path) -> None:
    noise = bytes((i * 7919) % 251 for i in range(200_000))
    data = make_tar([("one.txt", b"one"), ("two.bin", noise), ("three.txt", b"3")], "w:gz")
    found = walk_all(_write(tmp_path, "x.tgz", data[: len(data) // 2]))
    assert paths(found)[:2] == ["x.tgz", "x.tgz!/one.txt"]
    assert "x.tgz!/three.txt" not in paths(found)
    assert errors(found)


def test_truncated_zip_is_recovered_from_local_headers(tmp_path: Path) -> None:
    data = make_zip(
        [("one.txt", b"1" * 300), ("two.txt", b"2" * 300), ("three.txt", b"3" * 9000)],
        zipfile.ZIP_STORED,
    )
    cut = data.find(b"3" * 100) + 1000
    found = walk_all(_write(tmp_path, "x.zip", data[:cut]))
    assert paths(found) == ["x.zip", "x.zip!/one.txt", "x.zip!/two.txt"]
    assert [read(i) for i in items(found)[1:]] == [b"1" * 300, b"2" * 300]
    assert "recovering" in errors(found)[0].message
    assert error_for(found, "x.zip!/three.txt").startswith("zip member is damaged")


def test_truncated_streamed_zip_with_data_descriptors_is_recovered(tmp_path: Path) -> None:
    noise = bytes((i * 7919) % 251 for i in range(50_000))
    data = make_streamed_zip([("a.txt", b"a" * 5000), ("b.bin", noise), ("c.bin", noise)])
    found = walk_all(_write(tmp_path, "x.zip", data[: data.rfind(b"PK\x03\x04") + 200]))
    assert paths(found) == ["x.zip", "x.zip!/a.txt", "x.zip!/b.bin"]
    assert read(items(found)[2]) == noise
    assert "x.zip!/c.bin" in {e.logical_path for e in errors(found)}


def test_whole_streamed_zip_reads_normally(tmp_path: Path) -> None:
    data = make_streamed_zip([("a.txt", b"a" * 5000), ("b.txt", b"b")])
    found = walk_all(_write(tmp_path, "x.zip", data))
    assert errors(found) == []
    assert paths(found) == ["x.zip", "x.zip!/a.txt", "x.zip!/b.txt"]


def test_spilled_member_is_a_temp_file_that_discard_removes(tmp_path: Path) -> None:
    big = bytes(range(256)) * 1000
    root = _write(tmp_path, "x.zip", make_zip([("small.txt", b"s"), ("big.bin", big)]))
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    found = walk_all(root, EvidenceLimits(spill_bytes=100_000), temp_dir=scratch)
    small, big_item = items(found)[1:]
    assert (small.data, small.fs_path, small.temporary) == (b"s", None, False)
    assert big_item.data is None and big_item.temporary and big_item.size == len(big)
    assert big_item.fs_path is not None and big_item.fs_path.parent == scratch
    assert read(big_item) == big
    big_item.discard()
    assert not big_item.fs_path.exists()
    assert list(scratch.iterdir()) == []


def test_spilled_nested_archive_is_descended_even_once_discarded(tmp_path: Path) -> None:
    filler = bytes(range(256)) * 800
    inner = make_zip([("filler.bin", filler), ("leaf.txt", b"leaf")], zipfile.ZIP_STORED)
    root = _write(tmp_path, "x.tar", make_tar([("inner.zip", inner)]))
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    seen = []
    for found in iter_evidence(root, EvidenceLimits(spill_bytes=50_000), temp_dir=scratch):
        assert isinstance(found, EvidenceItem), found
        seen.append((found.logical_path, found.temporary))
        found.discard()  # at once, before the walk reads the spilled zip
    assert seen == [
        ("x.tar", False),
        ("x.tar!/inner.zip", True),
        ("x.tar!/inner.zip!/filler.bin", True),
        ("x.tar!/inner.zip!/leaf.txt", False),
    ]
    assert list(scratch.iterdir()) == []


def test_closing_the_walk_early_leaves_no_temp_files(tmp_path: Path) -> None:
    big = bytes(range(256)) * 1000
    root = _write(tmp_path, "x.zip", make_zip([("a.bin", big), ("b.bin", big)]))
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    walk = iter_evidence(root, EvidenceLimits(spill_bytes=1000), temp_dir=scratch)
    next(walk)  # x.zip itself
    first = next(walk)
    assert isinstance(first, EvidenceItem) and first.temporary
    walk.close()
    first.discard()
    assert list(scratch.iterdir()) == []


def test_member_item_opens_read_only(tmp_path: Path) -> None:
    found = walk_all(_write(tmp_path, "x.zip", make_zip([("a.txt", b"abc")])))
    member = items(found)[1]
    with member.open() as stream:
        assert stream.read(2) == b"ab"
        stream.seek(0)
        assert stream.read() == b"abc"
        with pytest.raises(io.UnsupportedOperation):
            stream.write(b"x")  # type: ignore[attr-defined]
    assert member.data == b"abc"


def test_office_document_is_opened_like_any_zip(tmp_path: Path) -> None:
    docx = make_zip([("[Content_Types].xml", b"<Types/>"), ("word/media/image1.png", b"png")])
    found = walk_all(_write(tmp_path, "report.docx", docx))
    assert "report.docx!/word/media/image1.png" in paths(found)


def test_giant_extended_tar_header_is_refused_not_loaded(tmp_path: Path) -> None:
    pax = tarfile.TarInfo("././@LongLink")
    pax.type, pax.size = tarfile.GNUTYPE_LONGNAME, 10**10
    first = tarfile.TarInfo("a.txt")
    first.size = 1
    data = first.tobuf() + b"a".ljust(512, b"\0") + pax.tobuf(format=tarfile.GNU_FORMAT)
    root = _write(tmp_path, "x.tar", data + bytes(4096))
    (root / "y.tgz").write_bytes(gzip.compress(data + bytes(4096)))
    found = walk_all(root)
    assert paths(found) == ["x.tar", "x.tar!/a.txt", "y.tgz", "y.tgz!/a.txt"]
    assert "extended header of 10000000000 bytes" in error_for(found, "x.tar")
    assert "extended header of 10000000000 bytes" in error_for(found, "y.tgz")


def test_zip_extended_timestamp_gives_utc_mtime(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo("stamped.txt", date_time=(1999, 1, 1, 0, 0, 0))
        info.extra = struct.pack("<HHBi", 0x5455, 5, 1, 1_600_000_000)
        archive.writestr(info, b"s")
        archive.writestr(zipfile.ZipInfo("dos.txt", date_time=(2001, 2, 3, 4, 5, 6)), b"d")
    found = walk_all(_write(tmp_path, "x.zip", buffer.getvalue()))
    stamped, dos = items(found)[1:]
    assert stamped.modified == datetime.fromtimestamp(1_600_000_000, UTC)
    assert dos.modified == datetime(2001, 2, 3, 4, 5, 6, tzinfo=UTC)

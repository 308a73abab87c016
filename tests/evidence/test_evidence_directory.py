"""Walking a directory exhibit: order, logical paths, links, specials, and leaving it untouched."""

from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from safeguard.evidence import EvidenceItem, EvidenceLimits, iter_evidence
from tests.evidence.evidence_builders import (
    error_for,
    errors,
    items,
    make_tar,
    make_zip,
    paths,
    read,
    snapshot,
)
from tests.evidence.evidence_builders import walk as walk_all


def _exhibit(root: Path) -> Path:
    (root / "b").mkdir(parents=True)
    (root / "a").mkdir()
    (root / "a" / "z.txt").write_bytes(b"z")
    (root / "a" / "y.txt").write_bytes(b"y")
    (root / "b" / "c").mkdir()
    (root / "b" / "c" / "deep.bin").write_bytes(b"deep")
    (root / "top.txt").write_bytes(b"top")
    (root / "B.txt").write_bytes(b"upper")
    (root / "empty").mkdir()
    return root


def test_walk_is_sorted_depth_first_with_posix_logical_paths(tmp_path: Path) -> None:
    root = _exhibit(tmp_path / "exhibit")
    found = walk_all(root)
    assert errors(found) == []
    assert paths(found) == ["B.txt", "a/y.txt", "a/z.txt", "b/c/deep.bin", "top.txt"]
    deep = items(found)[3]
    assert deep.fs_path == root / "b" / "c" / "deep.bin"
    assert deep.data is None and not deep.temporary and deep.size == 4
    assert read(deep) == b"deep"


def test_walk_is_the_same_every_run(tmp_path: Path) -> None:
    root = _exhibit(tmp_path / "exhibit")
    (root / "a" / "pack.zip").write_bytes(make_zip([("x/1.txt", b"1"), ("../bad", b"2")]))
    assert walk_all(root) == walk_all(root)


def test_file_mtime_is_utc_from_the_file_system(tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_bytes(b"f")
    os.utime(tmp_path / "f.txt", (1_000_000_000, 1_600_000_000))
    [item] = items(walk_all(tmp_path))
    assert item.modified == datetime(2020, 9, 13, 12, 26, 40, tzinfo=UTC)


def test_single_file_root_is_named_by_its_own_name(tmp_path: Path) -> None:
    target = tmp_path / "photo.jpg"
    target.write_bytes(b"not really a jpeg")
    [item] = walk_all(target)
    assert isinstance(item, EvidenceItem)
    assert (item.logical_path, item.fs_path, item.size) == ("photo.jpg", target, 17)


def test_archive_root_yields_itself_then_its_members(tmp_path: Path) -> None:
    target = tmp_path / "exhibit.tar"
    target.write_bytes(make_tar([("dir/one.txt", b"1"), ("two.txt", b"2")]))
    found = walk_all(target)
    assert paths(found) == ["exhibit.tar", "exhibit.tar!/dir/one.txt", "exhibit.tar!/two.txt"]
    assert [read(i) for i in items(found)[1:]] == [b"1", b"2"]
    assert items(found)[1].modified == datetime.fromtimestamp(1_600_000_000, UTC)


def test_archives_are_found_by_content_not_by_name(tmp_path: Path) -> None:
    (tmp_path / "holiday.jpg").write_bytes(make_zip([("inside.txt", b"in")]))
    (tmp_path / "fake.zip").write_bytes(b"PK but not a zip at all")
    found = walk_all(tmp_path)
    assert paths(found) == ["fake.zip", "holiday.jpg", "holiday.jpg!/inside.txt"]
    assert errors(found) == []


def test_symbolic_links_are_reported_and_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(b"outside the exhibit")
    root = tmp_path / "exhibit"
    root.mkdir()
    (root / "real.txt").write_bytes(b"real")
    (root / "file-link").symlink_to(outside / "secret.txt")
    (root / "dir-link").symlink_to(outside, target_is_directory=True)
    (root / "dangling").symlink_to(tmp_path / "nowhere")
    found = walk_all(root)
    assert paths(found) == ["real.txt"]
    assert {e.logical_path for e in errors(found)} == {"file-link", "dir-link", "dangling"}
    assert "symbolic link" in error_for(found, "file-link")
    assert "not followed" in error_for(found, "dir-link")
    assert all(read(i) != b"outside the exhibit" for i in items(found))


def test_symbolic_link_as_root_is_not_followed(tmp_path: Path) -> None:
    (tmp_path / "real.txt").write_bytes(b"real")
    (tmp_path / "link.txt").symlink_to(tmp_path / "real.txt")
    [error] = walk_all(tmp_path / "link.txt")
    assert error.logical_path == "link.txt" and "not followed" in error.message


@pytest.mark.timeout(20)
def test_fifo_is_skipped_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "z.txt").write_bytes(b"z")
    found = walk_all(tmp_path)
    assert paths(found) == ["z.txt"]
    assert error_for(found, "pipe") == "FIFO; skipped"


def test_unreadable_file_is_an_error_and_the_walk_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("a.txt", "secret.txt", "z.txt"):
        (tmp_path / name).write_bytes(name.encode())
    real_open = os.open

    def refusing_open(path, flags, mode=0o777, *, dir_fd=None):  # type: ignore[no-untyped-def]
        if os.fspath(path).endswith("secret.txt"):
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
        return real_open(path, flags, mode, dir_fd=dir_fd)

    monkeypatch.setattr(os, "open", refusing_open)
    found = walk_all(tmp_path)
    assert paths(found) == ["a.txt", "z.txt"]
    assert error_for(found, "secret.txt") == "cannot open file: Permission denied"


def _walk_unprivileged(root: Path) -> tuple[list[str], set[str]]:
    """(paths, error paths) of a walk of ``root`` as an unprivileged user.

    Root reads files whatever their mode, so as root the walk runs in a forked child that has
    dropped to the ``nobody`` user (uid/gid 65534) first.
    """
    if os.geteuid() != 0:
        found = walk_all(root)
        return paths(found), {e.logical_path for e in errors(found)}
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        code = 1
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            found = walk_all(root)
            answer = {"paths": paths(found), "errors": [e.logical_path for e in errors(found)]}
            os.write(write_end, json.dumps(answer).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "the unprivileged walk failed"
    answer = json.loads(data)
    return answer["paths"], set(answer["errors"])


def test_unreadable_file_by_mode() -> None:
    # Outside pytest's 0700 temporary tree, so that an unprivileged walker can get in.
    root = Path(tempfile.mkdtemp(prefix="safeguard-modes-"))
    try:
        root.chmod(0o755)
        (root / "locked.txt").write_bytes(b"x")
        (root / "locked.txt").chmod(0)
        (root / "locked-dir").mkdir()
        (root / "locked-dir").chmod(0)
        (root / "open.txt").write_bytes(b"y")
        (root / "open.txt").chmod(0o644)
        walked, failed = _walk_unprivileged(root)
        assert walked == ["open.txt"]
        assert failed == {"locked.txt", "locked-dir"}
    finally:
        (root / "locked-dir").chmod(0o700)
        shutil.rmtree(root)


def test_undecodable_file_name_becomes_escaped_text(tmp_path: Path) -> None:
    raw = os.path.join(os.fsencode(tmp_path), b"caf\xe9.txt")
    with open(raw, "wb") as handle:
        handle.write(b"bytes")
    [item] = items(walk_all(tmp_path))
    assert item.logical_path == "caf\\xe9.txt"
    assert item.logical_path.encode("utf-8")
    assert read(item) == b"bytes"


def test_walk_leaves_the_exhibit_unchanged(tmp_path: Path) -> None:
    root = _exhibit(tmp_path / "exhibit")
    nested = make_zip([("inner/photo.png", b"\x89PNG benign"), ("big.bin", bytes(300_000))])
    (root / "a" / "outer.tar").write_bytes(make_tar([("n.zip", nested), ("../evil", b"e")]))
    (root / "link").symlink_to(root / "top.txt")
    before = snapshot(root)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    limits = EvidenceLimits(spill_bytes=100_000)
    for found in iter_evidence(root, limits, temp_dir=scratch):
        if isinstance(found, EvidenceItem):
            with found.open() as stream:
                stream.read()
            found.discard()
    assert snapshot(root) == before
    assert list(scratch.iterdir()) == []


def test_missing_root_raises_at_once(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        iter_evidence(tmp_path / "missing")


def test_temp_dir_inside_the_exhibit_is_refused(tmp_path: Path) -> None:
    (tmp_path / "scratch").mkdir()
    with pytest.raises(ValueError, match="inside the exhibit"):
        iter_evidence(tmp_path, temp_dir=tmp_path / "scratch")


def test_plain_item_opens_read_only(tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_bytes(b"content")
    [item] = items(walk_all(tmp_path))
    with item.open() as stream:
        assert stream.read() == b"content"
        with pytest.raises(OSError):
            stream.write(b"x")  # type: ignore[attr-defined]
    item.discard()  # not temporary: must not delete the exhibit's file
    assert (tmp_path / "f.txt").read_bytes() == b"content"


def test_walk_and_open_do_not_touch_access_times(tmp_path: Path) -> None:
    target = tmp_path / "old.txt"
    target.write_bytes(b"old")
    (tmp_path / "old.zip").write_bytes(make_zip([("m.txt", b"m")]))
    for path in (target, tmp_path / "old.zip"):
        os.utime(path, (1_000_000_000, 1_500_000_000))  # atime < mtime: relatime would update
    for found in iter_evidence(tmp_path):
        if isinstance(found, EvidenceItem):
            with found.open() as stream:
                stream.read()
    assert target.stat().st_atime == 1_000_000_000
    assert (tmp_path / "old.zip").stat().st_atime == 1_000_000_000

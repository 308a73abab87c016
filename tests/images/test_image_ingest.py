"""Ingest of disk images into a real store: flags, times, acquisition metadata, the report,
the VICS export, and resume after kill -9 in the middle of an E01."""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from safeguard.banks.bank_files import import_bank_file
from safeguard.banks.case_export import export_case
from safeguard.reports.case_report import build_case_report
from safeguard.reports.render import render
from safeguard.store.cases import create_case
from safeguard.store.database import session_scope
from safeguard.store.image_models import ExhibitImage
from safeguard.store.models import Exhibit, FileRecord, Media
from safeguard.triage.ingest import IngestOptions, ingest_exhibit
from tests.cli_process import cli_process, run_cli
from tests.images.conftest import DELETED, FILE_SYSTEMS, BuiltDisks, DemoDisk
from tests.triage.store_dump import dump


def _records(url: str, exhibit: str) -> list[tuple]:
    with session_scope(url) as session:
        rows = session.execute(
            select(FileRecord, Media.sha256)
            .join(Exhibit, Exhibit.id == FileRecord.exhibit_id)
            .outerjoin(Media, Media.id == FileRecord.media_id)
            .where(Exhibit.reference == exhibit)
            .order_by(FileRecord.seq)
        ).all()
        return [
            (
                f.logical_path,
                sha,
                f.size,
                _utc(f.modified),
                f.deleted,
                f.unallocated,
                f.carved,
                f.physical_offset,
                f.inode,
                f.error,
            )
            for f, sha in rows
        ]


def _utc(value: datetime | None) -> datetime | None:
    return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)


@pytest.mark.slow
def test_an_e01_ingest_stores_what_the_folder_gives_plus_flags_and_acquisition(
    database_url: str, disks: BuiltDisks, tmp_path: Path
) -> None:
    with session_scope(database_url) as session:
        create_case(session, "OP-IMG")
    deleted_sha = hashlib.sha256((disks.source / DELETED).read_bytes()).hexdigest()
    bank = tmp_path / "known.sha256"
    bank.write_text(f"{deleted_sha}  deleted.jpg\n")
    import_bank_file(bank, "known", fmt="md5sum", category="A", database_url=database_url)
    options = IngestOptions(workers=2, batch=16, carve=True, verify=True)
    summary = ingest_exhibit("OP-IMG", "DISK", disks.e01[0], options, database_url=database_url)
    assert summary.image is not None and summary.image.verification == "verified"
    ingest_exhibit("OP-IMG", "FOLDER", disks.source, options, database_url=database_url)

    folder = {r[0]: (r[1], r[2], r[3]) for r in _records(database_url, "FOLDER")}
    disk = _records(database_url, "DISK")
    assert all(r[9] is None for r in disk), [r for r in disk if r[9]]
    for index in range(len(FILE_SYSTEMS)):
        prefix = f"p{index + 1}/"
        live = {
            r[0][len(prefix) :]: (
                r[1],
                r[2],
                r[3],
            )
            for r in disk
            if r[0].startswith(prefix) and not r[4]
        }
        assert live == {p: v for p, v in folder.items() if p != DELETED}, prefix
        deleted = [r for r in disk if r[0].startswith(prefix) and r[4]]
        assert [(r[1], r[5], r[6]) for r in deleted] == [(deleted_sha, True, False)]
    carved = [r for r in disk if r[6]]
    assert [(r[0], r[7], r[5], r[4]) for r in carved] == [
        (
            f"$Carved/{disks.gpt.planted[0].offset:014d}.jpg",
            disks.gpt.planted[0].offset,
            True,
            False,
        )
    ]

    with session_scope(database_url) as session:
        image = session.scalar(select(ExhibitImage))
        assert (image.format, image.case_number, image.examiner, image.verification) == (
            "E01",
            "OP-DEMO",
            "Demo Examiner",
            "verified",
        )
        assert image.segments == len(disks.e01)
        report = build_case_report(session, "OP-IMG")
    data = json.loads(render(report, "json"))
    section = next(s for s in data["exhibits"] if s["reference"] == "DISK")
    assert section["image"]["evidence_number"] == "EX-01"
    assert section["image"]["computed_md5"] == section["image"]["stored_md5"]
    assert (section["deleted_files"], section["carved_files"]) == (len(FILE_SYSTEMS), 1)
    recovered = data["recovered_files"]
    assert len(recovered) == len(FILE_SYSTEMS) + 1
    assert all(r["physical_offset"] is not None for r in recovered)
    text = render(report, "text")
    assert "Demo Examiner" in text and "Deleted and carved files (9)" in text
    html = render(report, "html")
    assert "Disk image of DISK" in html and "OP-DEMO" in html
    csv_text = render(report, "csv")
    assert csv_text.count("\nrecovered,") == len(FILE_SYSTEMS) + 1

    out = io.StringIO()
    export_case("OP-IMG", out, "vics", profile="uk", database_url=database_url)
    entries = json.loads(out.getvalue())["value"]
    (entry,) = [
        e
        for e in entries
        if e.get("MD5")
        == hashlib.md5((disks.source / DELETED).read_bytes(), usedforsecurity=False).hexdigest()
    ]
    files = entry["MediaFiles"]
    on_disk = [f for f in files if f["FilePath"].startswith("DISK/")]
    assert len(on_disk) == len(FILE_SYSTEMS)
    assert all(f["Deleted"] and f["Unallocated"] and "PhysicalLocation" in f for f in on_disk)
    (in_folder,) = [f for f in files if f["FilePath"].startswith("FOLDER/")]
    assert (in_folder["Deleted"], in_folder["Unallocated"], in_folder["FileName"]) == (
        False,
        False,
        "deleted.jpg",
    )


def test_a_tampered_e01_fails_verification_and_says_so(
    database_url: str, disks: BuiltDisks, tmp_path: Path
) -> None:
    import shutil

    copies = [Path(shutil.copy(p, tmp_path / p.name)) for p in disks.e01]
    data = bytearray(copies[0].read_bytes())
    data[len(data) // 2] ^= 0x01
    copies[0].write_bytes(bytes(data))
    with session_scope(database_url) as session:
        create_case(session, "OP-BAD")
    options = IngestOptions(workers=1, verify=True)
    summary = ingest_exhibit("OP-BAD", "DISK", copies[0], options, database_url=database_url)
    assert summary.image is not None
    assert summary.image.verification in ("mismatch", "unreadable"), summary.image
    with session_scope(database_url) as session:
        image = session.scalar(select(ExhibitImage))
        assert image.verification == summary.image.verification
        assert image.stored_md5 and image.computed_md5 != image.stored_md5
        text = render(build_case_report(session, "OP-BAD"), "text")
    assert summary.image.verification in text


def _cli(url: str, *args: str) -> subprocess.Popen:
    return cli_process(url, *args)


def _run(url: str, *args: str) -> None:
    run_cli(url, *args, timeout=900)


def _stored(url: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(text("select count(*) from file_records")).scalar_one()
    except Exception:  # noqa: BLE001 - the table may not exist yet
        return 0
    finally:
        engine.dispose()


@pytest.mark.slow
def test_an_e01_ingest_killed_mid_run_resumes_to_the_same_store(
    tmp_path: Path, demo_disk: DemoDisk
) -> None:
    corpus = demo_disk.corpus
    ingest = ["ingest", "OP-RESUME", "EX1", str(demo_disk.e01[0]), "--carve", "--workers", "1",
              "--batch", "4"]  # fmt: skip

    def prepare(url: str) -> None:
        _run(url, "case", "create", "OP-RESUME")
        _run(url, "bank", "import", str(corpus.bank_csv), "--name", "demo")

    reference = f"sqlite:///{tmp_path / 'reference.sqlite'}"
    prepare(reference)
    _run(reference, *ingest)
    expected = dump(reference)
    total = len(expected["files"])
    assert any(row[2].startswith("p2/") for row in expected["files"])

    resumed = f"sqlite:///{tmp_path / 'resumed.sqlite'}"
    prepare(resumed)
    process = _cli(resumed, *ingest)
    deadline = time.monotonic() + 300
    while _stored(resumed) < 8 and time.monotonic() < deadline:
        assert process.poll() is None, "ingest finished before it could be killed"
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert 0 < _stored(resumed) < total, "the kill must land in the middle of the run"
    _run(resumed, *ingest)
    assert dump(resumed) == expected


@pytest.mark.slow
def test_the_cli_verifies_an_e01_and_exits_1_when_it_was_tampered_with(
    tmp_path: Path, disks: BuiltDisks
) -> None:
    import shutil

    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    _run(url, "case", "create", "OP-CLI")
    good = _cli(url, "ingest", "OP-CLI", "GOOD", str(disks.e01[0]), "--verify", "--workers", "1")
    _, stderr = good.communicate(timeout=900)
    assert good.returncode == 0, stderr.decode()
    copies = [Path(shutil.copy(p, tmp_path / p.name)) for p in disks.e01]
    data = bytearray(copies[0].read_bytes())
    data[len(data) // 2] ^= 0x01
    copies[0].write_bytes(bytes(data))
    bad = _cli(url, "ingest", "OP-CLI", "BAD", str(copies[0]), "--verify", "--workers", "1")
    _, stderr = bad.communicate(timeout=900)
    assert bad.returncode == 1
    assert b"failed verification" in stderr

"""End to end on a generated benign video exhibit, on SQLite and PostgreSQL: banks of known
videos imported through the real import path (VICS with VPDQ and Segments, vPDQ text), ingest,
exact, re-encoded and clip matches, errors, and the charging report with runtimes."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from safeguard.banks.bank_files import export_bank, import_bank_file
from safeguard.domain.known import BankRecord, Segment, VideoFrameHash
from safeguard.hashing import analyse_file
from safeguard.hashing.video import probe_video, vpdq_hash
from safeguard.interchange import BankFormat, read_bank, write_bank
from safeguard.reports.case_report import build_case_report, format_runtime
from safeguard.reports.render import render
from safeguard.store.cases import create_case
from safeguard.store.database import session_scope
from safeguard.store.models import ExhibitMedia, FileRecord, Match, Media
from safeguard.store.video import keyframes
from safeguard.store.video_models import VideoFrame, VideoMatchDetail
from safeguard.triage.exhibit_matching import match_exhibit
from safeguard.triage.ingest import IngestOptions, ingest_exhibit
from tests.video.conftest import VideoExhibit

K1_SEGMENTS = (Segment(0.0, 6.0, "C"), Segment(6.0, 12.0, "A"))


def k1_record(k1: Path) -> BankRecord:
    """K1 as a bank holds it: digests, vPDQ frames from Safeguard's hasher, and segments."""
    facts = analyse_file(k1)
    assert facts.video is not None
    d = facts.digests
    frames = tuple(
        VideoFrameHash(f.frame_number, f.quality, f.pdq, f.timestamp_s) for f in facts.video.frames
    )
    return BankRecord(
        category="A",
        md5=d.md5,
        sha1=d.sha1,
        sha256=d.sha256,
        external_id="K1",
        series="synthetic",
        vpdq=frames,
        segments=K1_SEGMENTS,
    )


def vpdq_text(video: Path) -> str:
    """The reference text layout of a video's vPDQ, as Meta's tool prints it."""
    return "".join(
        f"{f.frame_number},{f.quality},{f.pdq},{f.timestamp_s:.3f}\n" for f in vpdq_hash(video)
    )


def import_banks(exhibit: VideoExhibit, folder: Path, url: str) -> None:
    vics = folder / "k1-bank.json"
    with vics.open("w", encoding="utf-8") as out:
        write_bank([k1_record(exhibit.k1)], out, BankFormat.VICS, name="videos")
    summary = import_bank_file(vics, "videos", database_url=url)
    assert (summary.imported, summary.errors, summary.format) == (1, [], "vics")
    text = folder / "k2.vpdq.txt"
    text.write_text(vpdq_text(exhibit.k2), encoding="utf-8")
    summary = import_bank_file(text, "k2-vpdq", category="B", database_url=url)
    assert (summary.imported, summary.errors, summary.format) == (1, [], "vpdq")


@pytest.fixture
def ingested(database_url: str, video_exhibit: VideoExhibit, tmp_path: Path) -> str:
    with session_scope(database_url) as session:
        create_case(session, "OP-VIDEO")
    import_banks(video_exhibit, tmp_path, database_url)
    ingest_exhibit(
        "OP-VIDEO",
        "EX-V",
        video_exhibit.root,
        IngestOptions(workers=2, batch=4, chunk=2),
        database_url=database_url,
    )
    return database_url


def _outcomes(url: str) -> dict[str, dict]:
    with session_scope(url) as session:
        rows = session.execute(
            select(FileRecord, Media, ExhibitMedia, Match, VideoMatchDetail)
            .outerjoin(Media, Media.id == FileRecord.media_id)
            .outerjoin(
                ExhibitMedia,
                (ExhibitMedia.media_id == FileRecord.media_id)
                & (ExhibitMedia.exhibit_id == FileRecord.exhibit_id),
            )
            .outerjoin(Match, Match.id == ExhibitMedia.deciding_match_id)
            .outerjoin(VideoMatchDetail, VideoMatchDetail.match_id == Match.id)
        ).all()
        return {
            record.logical_path: {
                "status": em.status if em else None,
                "category": em.category if em else None,
                "kind": match.kind if match else None,
                "hash_kind": match.hash_kind if match else None,
                "distance": match.distance if match else None,
                "detail": detail,
                "media": media,
                "error": record.error or (media.decode_error if media else None),
            }
            for record, media, em, match, detail in rows
        }


def test_videos_are_graded_matched_and_clipped(ingested: str, video_exhibit: VideoExhibit):
    outcomes = _outcomes(ingested)
    assert set(outcomes) == {p.path for p in video_exhibit.planned}
    for planned in video_exhibit.planned:
        got = outcomes[planned.path]
        assert got["status"] == planned.status, (planned, got)
        assert got["category"] == planned.category, (planned, got)
        assert bool(got["error"]) == planned.error, (planned, got)
        if planned.how == "exact":
            assert (got["kind"], got["hash_kind"], got["distance"]) == ("exact", "sha256", 0)
        elif planned.how in ("vpdq", "clip"):
            assert (got["kind"], got["hash_kind"]) == ("perceptual", "vpdq"), planned
            assert 0 <= got["distance"] <= 31
            detail = got["detail"]
            assert detail is not None and detail.query_percent >= 80
            assert detail.is_clip == (planned.how == "clip")
            if planned.how == "vpdq":
                assert detail.target_percent >= 80
        else:
            assert got["kind"] is None and got["detail"] is None, planned
        if planned.span is not None:
            detail = got["detail"]
            # Where the clip falls in the known video, to within the 1 s sampling.
            assert detail.offset_s == pytest.approx(planned.span[0], abs=1.0)
            assert detail.start_s == pytest.approx(planned.span[0], abs=1.0)
            assert detail.end_s == pytest.approx(planned.span[1], abs=1.0)
    # Re-running the matching phase leaves the same results (details replaced, not added).
    with session_scope(ingested) as session:
        exhibit_id = session.scalar(select(FileRecord.exhibit_id).limit(1))
        before = session.scalar(select(func.count()).select_from(VideoMatchDetail))
    assert before == 5
    match_exhibit(exhibit_id, database_url=ingested)
    again = _outcomes(ingested)
    with session_scope(ingested) as session:
        assert session.scalar(select(func.count()).select_from(VideoMatchDetail)) == before
    for path, got in again.items():
        old = outcomes[path]
        assert (got["status"], got["category"], got["distance"]) == (
            old["status"],
            old["category"],
            old["distance"],
        )


def test_video_facts_frames_and_keyframes_are_stored(ingested: str, video_exhibit: VideoExhibit):
    outcomes = _outcomes(ingested)
    k1 = outcomes["seized/k1.mp4"]["media"]
    assert (k1.kind, k1.format, k1.width, k1.height, k1.video_codec) == (
        "video",
        "MP4",
        160,
        120,
        "h264",
    )
    assert k1.duration_s == pytest.approx(12.0) and k1.fps == pytest.approx(10.0)
    formats = {path: got["media"].format for path, got in outcomes.items() if got["media"]}
    assert {formats[p] for p in formats if not p.startswith("bad/")} == {
        "MP4",
        "MKV",
        "AVI",
        "WEBM",
        "MOV",
        "3GP",
        "WMV",
        "FLV",
    }
    with session_scope(ingested) as session:
        frames = session.scalars(
            select(VideoFrame).where(VideoFrame.media_id == k1.id).order_by(VideoFrame.frame_number)
        ).all()
        # Every frame is kept (issue 11: sub-second trims must match what is exported).
        assert [f.frame_number for f in frames] == list(range(120))
        assert [f.timestamp_s for f in frames] == pytest.approx([t / 10 for t in range(120)])
        assert [(f.pdq, f.quality) for f in frames] == [
            (f.pdq, f.quality) for f in vpdq_hash(video_exhibit.k1, seconds_per_hash=0)
        ]
        strip = keyframes(session, k1.id)
        assert len(strip) == 8
        for jpeg in strip:
            with Image.open(io.BytesIO(jpeg)) as picture:
                assert picture.format == "JPEG" and picture.size == (160, 120)
        # A truncated MKV keeps what decodes, and says it is damaged.
        partial = outcomes["bad/truncated.mkv"]
        assert partial["media"].duration_s and "truncated" in partial["error"]
        assert session.scalar(
            select(func.count()).where(VideoFrame.media_id == partial["media"].id)
        )
    for path in ("bad/corrupt.mp4", "bad/truncated.mp4"):
        media = outcomes[path]["media"]
        assert media.kind == "video" and media.duration_s is None
        assert "cannot decode video" in media.decode_error
    assert "empty video file" in outcomes["bad/empty.mp4"]["error"]


def test_charging_report_counts_videos_and_runtimes(ingested: str, video_exhibit: VideoExhibit):
    with session_scope(ingested) as session:
        report = build_case_report(session, "OP-VIDEO")
    videos = report.videos
    # Unique items and files per category (K1 is held twice).
    assert {c: (r.unique_items, r.files) for c, r in videos.rows.items()} == {
        "A": (3, 4),
        "B": (2, 2),
        "C": (1, 1),
        "awaiting review": (3, 3),
        # the corrupt and truncated files: listed for the examiner, never review cards
        "could not be viewed": (3, 3),
    }
    # Runtime: the probed durations of the unique decodable videos.
    durations: dict[str, float] = {}
    for planned in video_exhibit.planned:
        path = video_exhibit.root / planned.path
        try:
            durations[hashlib.sha256(path.read_bytes()).hexdigest()] = probe_video(path).duration_s
        except ValueError:
            continue
    assert videos.runtime_s == pytest.approx(sum(durations.values()), abs=1e-6)
    assert videos.rows["A"].runtime_s == pytest.approx(12 + 12 + 5, abs=0.01)
    assert videos.rows["B"].runtime_s == pytest.approx(10 + 5, abs=0.01)
    assert videos.rows["C"].runtime_s == pytest.approx(4, abs=0.01)
    total = format_runtime(sum(durations.values()))
    assert total == "0:01:09"
    assert f"total runtime {format_runtime(29 + 15 + 4)}" in report.summary_sentence()
    # Every renderer shows the video table with runtimes, and the clip position.
    data = json.loads(render(report, "json"))
    assert data["videos"]["runtime"] == total
    runtimes = {r["category"]: r["runtime"] for r in data["videos"]["by_category"]}
    assert runtimes.items() >= {"A": "0:00:29", "B": "0:00:15", "C": "0:00:04"}.items()
    clips = {p: c["clip"] for c in data["automatic_grades"] for p in c["paths"]}
    assert clips["clips/k1-early.webm"] == "clip of 0:00:01-0:00:05 of the known video"
    assert clips["seized/k1.mp4"] is None and clips["reencoded/k1-small.mkv"] is None
    rows = list(csv.DictReader(io.StringIO(render(report, "csv"))))
    case_videos = {
        r["category"]: r["runtime"]
        for r in rows
        if r["record"] == "count" and r["kind"] == "video" and r["exhibit"] == "(case)"
    }
    assert case_videos["A"] == "0:00:29" and case_videos["C"] == "0:00:04"
    assert any(r["clip"].startswith("clip of 0:00:04-0:00:09") for r in rows)
    text = render(report, "text")
    assert "Videos" in text and "Runtime" in text and total in text
    assert "clip of 0:00:03-0:00:08" in text  # (the column wraps the rest)
    page = render(report, "html")
    assert "<th>Runtime</th>" in page and total in page and "clip of 0:00:01-0:00:05" in page
    errors = {e.path for e in report.errors}
    assert {p.path for p in video_exhibit.planned if p.error} <= errors


def test_video_banks_export_as_they_were_imported(
    database_url: str, video_exhibit: VideoExhibit, tmp_path: Path
):
    import_banks(video_exhibit, tmp_path, database_url)
    out = io.StringIO()
    assert export_bank("videos", out, BankFormat.VICS, database_url=database_url) == 1
    exported = tmp_path / "exported.json"
    exported.write_text(out.getvalue(), encoding="utf-8")
    assert list(read_bank(exported)) == [k1_record(video_exhibit.k1)]
    out = io.StringIO()
    assert export_bank("k2-vpdq", out, BankFormat.VPDQ, database_url=database_url) == 1
    assert out.getvalue() == vpdq_text(video_exhibit.k2)
    # A video bank also exports to the hash-only formats, with what they can carry.
    out = io.StringIO()
    assert export_bank("videos", out, BankFormat.HMA, database_url=database_url) == 3
    out = io.StringIO()
    assert export_bank("k2-vpdq", out, BankFormat.CSV, database_url=database_url) == 0

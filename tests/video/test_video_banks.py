"""Video banks: VICS entries with VPDQ frames and Segments, the vPDQ reference text format, what
the hash-only formats keep, and import through the store (Meta's public chair vector)."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from safeguard.banks.bank_files import export_bank, import_bank_file
from safeguard.config import scheme
from safeguard.domain.known import BankRecord, RecordError, Segment, VideoFrameHash
from safeguard.interchange import BankFormat, detect_format, read_bank, write_bank
from safeguard.store.cases import create_case
from safeguard.store.database import session_scope
from safeguard.store.models import ExhibitMedia, FileRecord, Match
from safeguard.triage.ingest import IngestOptions, ingest_exhibit

VPDQ_DIR = Path(__file__).resolve().parents[3] / "shared" / "testdata" / "vpdq"
if not VPDQ_DIR.is_dir():
    VPDQ_DIR = Path("/work/shared/testdata/vpdq")
CHAIR = VPDQ_DIR / "chair-22-sd-grey-bar.mp4"
CHAIR_TXT = VPDQ_DIR / "chair-22-sd-grey-bar.txt"

PDQ = "f8f8f0cce0f4a84f0e370a22028f67f0b36e2ed596623e1d33e6339c4e9c9b22"
MD5 = "0123456789abcdef0123456789abcdef"


def _hex(length: int) -> st.SearchStrategy[str]:
    return st.text("0123456789abcdef", min_size=length, max_size=length)


_seconds = st.floats(0, 86_400, allow_nan=False, allow_infinity=False)
_frames = st.builds(
    VideoFrameHash,
    frame_number=st.integers(0, 10**7),
    quality=st.integers(0, 100),
    pdq=_hex(64),
    timestamp_s=_seconds,
)


@st.composite
def _segments(draw: st.DrawFn, profile: str) -> Segment:
    start = draw(_seconds)
    length = draw(st.floats(0.001, 3600, allow_nan=False))
    return Segment(start, start + length, draw(st.sampled_from(scheme(profile).codes)))


@st.composite
def video_records(draw: st.DrawFn, profile: str) -> BankRecord:
    digests = draw(
        st.fixed_dictionaries({}, optional={"md5": _hex(32), "sha1": _hex(40), "sha256": _hex(64)})
    )
    frames = tuple(draw(st.lists(_frames, min_size=0 if digests else 1, max_size=6)))
    return BankRecord(
        category=draw(st.sampled_from(scheme(profile).codes)),
        **digests,
        external_id=draw(st.none() | st.integers(0, 10**9).map(str)),
        vpdq=frames,
        segments=tuple(draw(st.lists(_segments(profile), max_size=4))),
    )


@pytest.mark.parametrize("fmt", [BankFormat.VICS, BankFormat.VICS1])
@pytest.mark.parametrize("profile", ["uk", "us"])
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_vics_round_trip_keeps_vpdq_and_segments(
    tmp_path: Path, fmt: BankFormat, profile: str, data: st.DataObject
) -> None:
    records = data.draw(st.lists(video_records(profile), max_size=5))
    path = tmp_path / "bank.json"
    with path.open("w", encoding="utf-8") as out:
        assert write_bank(records, out, fmt, profile=profile) == len(records)
    assert list(read_bank(path, profile=profile)) == records


def _vics(tmp_path: Path, *entries: dict) -> Path:
    path = tmp_path / "bank.json"
    path.write_text(json.dumps({"odata.metadata": "x", "value": list(entries)}), encoding="utf-8")
    return path


def test_vics_video_fields_are_read_tolerantly(tmp_path: Path) -> None:
    path = _vics(
        tmp_path,
        {
            "MediaID": 7,
            "Category": 1,
            "vpdq": [
                {"FrameNumber": 0, "Quality": "100", "Hash": PDQ.upper(), "Timestamp": "0.0"},
                f"30,90,{PDQ},1.000",
            ],
            "VideoSegments": [
                {"StartTime": "0:00:02.5", "EndTime": "00:07", "Category": "3"},
                {"start": 10, "duration": 5, "category": 1},
            ],
        },
        {"Category": 2, "VPDQ": f"0,100,{PDQ},0.000\n15,80,{PDQ},0.500\n"},
        {"MD5": MD5, "Category": 1, "Segments": [{"Start": 5, "End": 5, "Category": 1}]},
        {"MD5": MD5, "Category": 1, "VPDQ": [[0, 101, PDQ, 0.0]]},
        {"MD5": MD5, "Category": 1, "Segments": [{"Start": 1, "End": 2, "Category": 9}]},
        {"Category": 1, "VPDQ": []},
    )
    items = list(read_bank(path))
    first, second = items[0], items[1]
    assert first == BankRecord(
        category="A",
        external_id="7",
        vpdq=(VideoFrameHash(0, 100, PDQ, 0.0), VideoFrameHash(30, 90, PDQ, 1.0)),
        segments=(Segment(2.5, 7.0, "C"), Segment(10.0, 15.0, "A")),
    )
    assert second == BankRecord(
        category="B", vpdq=(VideoFrameHash(0, 100, PDQ, 0.0), VideoFrameHash(15, 80, PDQ, 0.5))
    )
    errors = items[2:]
    assert [type(e) for e in errors] == [RecordError] * 4
    assert [e.line for e in errors] == [3, 4, 5, 6]  # type: ignore[union-attr]
    assert "at or before it starts" in errors[0].message  # type: ignore[union-attr]
    assert "between 0 and 100" in errors[1].message  # type: ignore[union-attr]
    assert "not in the uk profile" in errors[2].message  # type: ignore[union-attr]
    assert "no MD5, SHA1, SHA256, PDQ, VPDQ or alternative hash" in errors[3].message  # type: ignore[union-attr]


def test_vics_writes_vpdq_as_reference_tuples(tmp_path: Path) -> None:
    record = BankRecord(
        category="A",
        vpdq=(VideoFrameHash(0, 100, PDQ, 0.0),),
        segments=(Segment(1.0, 2.5, "B"),),
    )
    out = io.StringIO()
    write_bank([record], out, BankFormat.VICS)
    entry = json.loads(out.getvalue())["value"][0]
    assert entry["VPDQ"] == [[0, 100, PDQ, 0.0]]
    assert entry["Segments"] == [{"Start": 1.0, "End": 2.5, "Category": 2}]


def test_reference_vpdq_text_reads_as_one_video(tmp_path: Path) -> None:
    if not CHAIR_TXT.is_file():
        pytest.skip("vPDQ test vector missing")
    assert detect_format(CHAIR_TXT) is BankFormat.VPDQ
    (record,) = read_bank(CHAIR_TXT, default_category="B")
    assert isinstance(record, BankRecord) and record.category == "B"
    assert len(record.vpdq) == 673 and record.md5 is None
    assert record.vpdq[1] == VideoFrameHash(
        1, 100, "a5ad26b96f58d2491a79f80f07f2c1936fe6083dfb4983d8a4a36db40034df54", 0.033
    )
    (uncategorised,) = read_bank(CHAIR_TXT)
    assert uncategorised.category == "U"  # type: ignore[union-attr]
    out = io.StringIO()
    assert write_bank([record], out, BankFormat.VPDQ) == 1
    assert out.getvalue() == CHAIR_TXT.read_text(encoding="utf-8")


def test_vpdq_text_comments_digests_and_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "video.txt"
    path.write_text(
        f"# sha256 {'AB' * 32}\n# md5 {MD5}\n# made by hand\n\n"
        f"0,100,{PDQ},0.000\nnot a frame\n1,100,{PDQ[:-1]},0.5\n10,99,{PDQ},1.000\n",
        encoding="utf-8",
    )
    items = list(read_bank(path, default_category="C"))
    assert [i.line for i in items[:2]] == [6, 7]  # type: ignore[union-attr]
    assert items[2] == BankRecord(
        category="C",
        md5=MD5,
        sha256="ab" * 32,
        vpdq=(VideoFrameHash(0, 100, PDQ, 0.0), VideoFrameHash(10, 99, PDQ, 1.0)),
    )
    out = io.StringIO()
    write_bank([items[2]], out, BankFormat.VPDQ)  # type: ignore[list-item]
    again = tmp_path / "again.txt"
    again.write_text(out.getvalue(), encoding="utf-8")
    assert list(read_bank(again, default_category="C")) == [items[2]]
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no vPDQ lines"):
        read_bank(empty, BankFormat.VPDQ)
    with pytest.raises(ValueError, match="not in scheme"):
        read_bank(path, default_category="Z")


def test_vpdq_text_holds_exactly_one_video() -> None:
    video = BankRecord(category="A", vpdq=(VideoFrameHash(0, 100, PDQ, 0.0),))
    with pytest.raises(ValueError, match="exactly one video"):
        write_bank([video, video], io.StringIO(), BankFormat.VPDQ)
    with pytest.raises(ValueError, match="exactly one video"):
        write_bank([BankRecord(category="A", md5=MD5)], io.StringIO(), BankFormat.VPDQ)
    with pytest.raises(ValueError, match="empty"):
        write_bank([], io.StringIO(), BankFormat.VPDQ)


def test_hash_only_formats_keep_the_digests_of_videos() -> None:
    only_frames = BankRecord(category="A", vpdq=(VideoFrameHash(0, 100, PDQ, 0.0),))
    with_md5 = BankRecord(category="A", md5=MD5, vpdq=only_frames.vpdq)
    for fmt, written in ((BankFormat.CSV, 1), (BankFormat.HMA, 1), (BankFormat.MD5SUM, 1)):
        out = io.StringIO()
        assert write_bank([only_frames, with_md5], out, fmt) == written
        assert MD5 in out.getvalue() and PDQ not in out.getvalue()


def test_mixed_bank_keeps_its_order_through_the_store(database_url: str, tmp_path: Path) -> None:
    records = [
        BankRecord(category="A", md5=MD5),
        BankRecord(category="B", vpdq=(VideoFrameHash(0, 100, PDQ, 0.0),)),
        BankRecord(category="C", sha1="ab" * 20),
        BankRecord(category="A", md5=MD5, segments=(Segment(0.0, 1.5, "C"),)),
        BankRecord(category="N", pdq=PDQ, pdq_quality=90),
    ]
    path = tmp_path / "mixed.json"
    with path.open("w", encoding="utf-8") as out:
        write_bank(records, out, BankFormat.VICS)
    assert import_bank_file(path, "mixed", database_url=database_url).imported == 5
    out = io.StringIO()
    export_bank("mixed", out, BankFormat.VICS, database_url=database_url)
    again = tmp_path / "again.json"
    again.write_text(out.getvalue(), encoding="utf-8")
    assert list(read_bank(again)) == records


def test_chair_vector_matches_its_reference_vpdq(database_url: str, tmp_path: Path) -> None:
    """Meta's reference output for the chair video, imported as a bank, grades Safeguard's own
    hashing of that video (sampled once a second) perceptually."""
    if not CHAIR.is_file() or not CHAIR_TXT.is_file():
        pytest.skip("vPDQ test vector missing")
    exhibit = tmp_path / "exhibit"
    exhibit.mkdir()
    shutil.copyfile(CHAIR, exhibit / "chair.mp4")
    with session_scope(database_url) as session:
        create_case(session, "OP-CHAIR")
    import_bank_file(CHAIR_TXT, "chair", category="C", database_url=database_url)
    ingest_exhibit("OP-CHAIR", "EX", exhibit, IngestOptions(workers=1), database_url=database_url)
    with session_scope(database_url) as session:
        status, category, hash_kind = session.execute(
            select(ExhibitMedia.status, ExhibitMedia.category, Match.hash_kind)
            .join(FileRecord, FileRecord.media_id == ExhibitMedia.media_id)
            .join(Match, Match.id == ExhibitMedia.deciding_match_id)
        ).one()
    assert (status, category, hash_kind) == ("graded_perceptual", "C", "vpdq")


def test_cli_imports_and_exports_a_vpdq_bank(sqlite_url: str, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from safeguard.cli.main import app

    if not CHAIR_TXT.is_file():
        pytest.skip("vPDQ test vector missing")
    runner = CliRunner()
    result = runner.invoke(app, ["bank", "import", str(CHAIR_TXT), "--name", "chair"])
    assert result.exit_code == 0 and "(vpdq)" in result.stdout
    result = runner.invoke(
        app, ["bank", "import", str(CHAIR_TXT), "--name", "chair-b", "--category", "B"]
    )
    assert result.exit_code == 0
    result = runner.invoke(
        app, ["bank", "import", str(CHAIR_TXT), "--name", "x", "--category", "Q"]
    )
    assert result.exit_code == 1 and "not in scheme" in result.stderr
    out = tmp_path / "chair.json"
    result = runner.invoke(app, ["bank", "export", "chair-b", "--format", "vics", "-o", str(out)])
    assert result.exit_code == 0
    (record,) = read_bank(out)
    assert record.category == "B" and len(record.vpdq) == 673  # type: ignore[union-attr]

"""The command line as a user drives it, against a real SQLite store."""

from __future__ import annotations

import csv
import io
import json
import struct
import zipfile
import zlib
from pathlib import Path

from PIL import Image
from typer.testing import CliRunner

from safeguard.cli.main import app
from safeguard.demo.corpus import DemoCorpus, render_picture

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_cases_are_created_listed_and_unique(sqlite_url: str) -> None:
    assert invoke("case", "create", "OP-ONE", "--title", "Operation One")[0] == 0
    code, _, err = invoke("case", "create", "OP-ONE")
    assert code == 1 and "already exists" in err
    code, out, _ = invoke("case", "list")
    assert code == 0 and "OP-ONE" in out and "Operation One" in out


def test_bank_import_reports_bad_lines_and_keeps_the_rest(sqlite_url: str, tmp_path: Path):
    bank = tmp_path / "bank.csv"
    bank.write_text(
        f"hash_kind,hash,category\nmd5,{'a' * 32},A\nmd5,not-a-hash,B\nsha1,{'b' * 40},C\n",
        encoding="utf-8",
    )
    code, out, err = invoke("bank", "import", str(bank), "--name", "small")
    assert code == 1 and "nothing imported" in err and "line 3" in err
    assert "small" not in invoke("bank", "list")[1]
    code, out, err = invoke("bank", "import", str(bank), "--name", "small", "--allow-partial")
    assert code == 0, err
    assert "imported 2 entries" in out
    assert "line 3" in err
    code, out, _ = invoke("bank", "list")
    assert "small" in out and " 2 " in out


def test_bank_export_then_import_round_trips(
    sqlite_url: str, demo_corpus: DemoCorpus, tmp_path: Path
) -> None:
    assert invoke("bank", "import", str(demo_corpus.bank_csv), "--name", "demo")[0] == 0
    for fmt in ("vics", "csv", "hma"):
        out_file = tmp_path / f"export.{fmt}"
        code, _, err = invoke("bank", "export", "demo", "--format", fmt, "-o", str(out_file))
        assert code == 0, err
        code, out, err = invoke("bank", "import", str(out_file), "--name", f"again-{fmt}")
        assert code == 0, err
    code, out, _ = invoke("bank", "export", "demo", "--format", "csv")
    original = sorted(csv.reader(io.StringIO(out)))
    code, again, _ = invoke("bank", "export", "again-csv", "--format", "csv")
    assert sorted(csv.reader(io.StringIO(again))) == original


def test_ingest_and_report_in_every_format(
    sqlite_url: str, demo_corpus: DemoCorpus, tmp_path: Path
) -> None:
    assert invoke("case", "create", "OP-R")[0] == 0
    assert invoke("bank", "import", str(demo_corpus.bank_csv), "--name", "demo")[0] == 0
    code, out, err = invoke("ingest", "OP-R", "EX1", str(demo_corpus.exhibit_dir), "--workers", "1")
    assert code == 0, err
    code, out, _ = invoke("report", "OP-R", "--format", "json")
    data = json.loads(out)
    grades = data["automatic_grades"]
    assert len(grades) >= len(demo_corpus.by_role("known_exact"))
    for grade in grades:
        assert len(grade["sha256"]) == 64 and grade["paths"]
        assert grade["category"] in {"A", "B", "C", "N"}
        assert grade["bank"] == "demo" and grade["bank_entry_id"] > 0
        assert grade["match_kind"] in {"exact", "perceptual"}
        assert 0 <= grade["distance"] <= 31
    assert data["first_generation"] > 0 and data["errors"]
    by_category = {row["category"]: row for row in data["images"]["by_category"]}
    assert sum(r["unique_items"] for r in by_category.values()) == data["images"]["unique_items"]
    code, text, _ = invoke("report", "OP-R")
    assert code == 0 and "Automatic grades" in text and grades[0]["sha256"] in text
    code, out, _ = invoke("report", "OP-R", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    records = {r["record"] for r in rows}
    assert {"count", "grade", "error", "schedule"} <= records
    assert records <= {
        "count",
        "grade",
        "error",
        "schedule",
        "not_viewable",
        "not_perceptually_matchable",
    }
    assert sum(r["record"] == "grade" for r in rows) == len(grades)
    html_file = tmp_path / "report.html"
    assert invoke("report", "OP-R", "--format", "html", "-o", str(html_file))[0] == 0
    page = html_file.read_text(encoding="utf-8")
    assert "<table>" in page and grades[0]["sha256"] in page
    assert invoke("report", "OP-R", "--format", "pdfx")[0] == 1


def _png_declaring(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def test_hostile_exhibit_is_recorded_not_followed(sqlite_url: str, tmp_path: Path) -> None:
    exhibit = tmp_path / "exhibit"
    exhibit.mkdir()
    picture = io.BytesIO()
    render_picture(3).save(picture, "JPEG", quality=90)
    with zipfile.ZipFile(exhibit / "upload.zip", "w") as archive:
        archive.writestr("good/picture.jpg", picture.getvalue())
        archive.writestr("../../escape.jpg", picture.getvalue())
        archive.writestr("/etc/absolute.jpg", picture.getvalue())
    (exhibit / "huge.png").write_bytes(_png_declaring(100_000, 100_000))
    (exhibit / "cut.jpg").write_bytes(picture.getvalue()[: len(picture.getvalue()) // 2])
    Image.new("RGB", (8, 8)).save(exhibit / "tiny.gif")
    before = sorted((p.name, p.stat().st_size) for p in exhibit.rglob("*"))

    assert invoke("case", "create", "OP-H")[0] == 0
    code, _, err = invoke("ingest", "OP-H", "EX1", str(exhibit), "--workers", "1")
    assert code == 0, err
    code, out, _ = invoke("report", "OP-H", "--format", "json")
    errors = {e["path"]: e["error"] for e in json.loads(out)["errors"]}
    assert any("escape.jpg" in p for p in errors), errors
    assert any("absolute.jpg" in p for p in errors), errors
    assert "100000" in errors["huge.png"]
    assert "cut.jpg" in errors
    assert not any(p.endswith("good/picture.jpg") for p in errors)
    assert sorted((p.name, p.stat().st_size) for p in exhibit.rglob("*")) == before
    assert not (tmp_path / "escape.jpg").exists()


def test_disabled_banks_do_not_grade_and_replacement_is_atomic(
    sqlite_url: str, demo_corpus: DemoCorpus, tmp_path: Path
) -> None:
    assert invoke("case", "create", "OP-B")[0] == 0
    assert invoke("bank", "import", str(demo_corpus.bank_csv), "--name", "demo")[0] == 0
    assert invoke("bank", "disable", "demo")[0] == 0
    assert invoke("ingest", "OP-B", "EX1", str(demo_corpus.exhibit_dir), "--workers", "1")[0] == 0
    data = json.loads(invoke("report", "OP-B", "--format", "json")[1])
    assert data["automatic_grades"] == []

    newer = tmp_path / "newer.csv"
    rows = demo_corpus.bank_csv.read_text(encoding="utf-8").splitlines()
    newer.write_text("\n".join(rows[: len(rows) // 2]) + "\n", encoding="utf-8")
    code, _, err = invoke("bank", "import", str(newer), "--name", "demo", "--replace")
    assert code == 0, err
    _, listing, _ = invoke("bank", "list")
    assert "replaced" in listing
    assert invoke("bank", "disable", "nope")[0] == 1
    assert invoke("ingest", "OP-B", "EX2", str(demo_corpus.exhibit_dir), "--workers", "1")[0] == 0
    data = json.loads(invoke("report", "OP-B", "--format", "json")[1])
    cited_banks = {g["bank"] for g in data["automatic_grades"]}
    assert cited_banks == {"demo"} and all(g["exhibit"] == "EX2" for g in data["automatic_grades"])


def test_demo_runs_and_can_run_again(sqlite_url: str, tmp_path: Path) -> None:
    for _ in range(2):
        code, out, err = invoke("demo", "--dir", str(tmp_path / "demo"), "--workers", "2")
        assert code == 0, err
        assert "Automatic grades" in out and "first-generation" in out
    code, out, _ = invoke("case", "list")
    assert "DEMO-1" in out and "EXHIBIT-1 (complete)" in out

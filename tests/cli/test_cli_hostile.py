"""Hostile values through the command line: partial bank files, markup and formulas."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

from PIL import Image
from typer.testing import CliRunner

from safeguard.cli.main import app
from safeguard.demo.corpus import render_picture

runner = CliRunner()
MD5 = [f"{i:032x}" for i in range(1, 11)]


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def _listing() -> str:
    return invoke("bank", "list")[1]


def _vics(hashes: list[str]) -> str:
    return '{"value":[' + ",".join(f'{{"MD5":"{h}","Category":1}}' for h in hashes) + "]}"


def test_a_truncated_file_never_replaces_a_good_bank(sqlite_url: str, tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_text(_vics(MD5))
    assert invoke("bank", "import", str(good), "--name", "caid")[0] == 0
    cut = tmp_path / "cut.json"
    cut.write_text(_vics(MD5)[:200])  # three entries and a half
    for extra in ((), ("--allow-partial",)):
        code, _, err = invoke("bank", "import", str(cut), "--name", "caid", "--replace", *extra)
        assert code == 1, err
        assert "nothing imported" in err
        listing = _listing()
        assert "replaced" not in listing and " 10 " in listing


def test_a_new_bank_is_all_or_nothing_unless_partial_is_allowed(
    sqlite_url: str, tmp_path: Path
) -> None:
    cut = tmp_path / "cut.json"
    cut.write_text(_vics(MD5)[:200])
    code, _, err = invoke("bank", "import", str(cut), "--name", "new")
    assert code == 1 and "could not be read to its end" in err
    assert "new" not in _listing()
    code, out, err = invoke("bank", "import", str(cut), "--name", "new", "--allow-partial")
    assert code == 0, err
    assert "imported 3 entries" in out and "entry 4" in err


def test_a_csv_of_only_bad_lines_creates_nothing(sqlite_url: str, tmp_path: Path) -> None:
    bank = tmp_path / "bad.csv"
    bank.write_text("hash_kind,hash\nmd5,nope\nmd5,also-not\n")
    for extra in ((), ("--allow-partial",)):
        code, _, err = invoke("bank", "import", str(bank), "--name", "empty", *extra)
        assert code == 1 and "no good entries" in err
        assert "empty" not in _listing()


def test_markup_in_bank_values_and_file_names_is_printed_as_text(
    sqlite_url: str, tmp_path: Path
) -> None:
    bank = tmp_path / "[red]bank[link=x].csv"
    bank.write_text(
        f"hash_kind,hash,series\nmd5,{MD5[0]},[/red]\nmd5,[link=http://198.51.100.7/]x[/link]\n"
    )
    code, out, err = invoke("bank", "import", str(bank), "--name", "[/bold] odd", "--allow-partial")
    assert code == 0, err
    assert "bank [/bold] odd: imported 1 entries" in out
    assert (
        "importing [red]bank[link=x].csv" in err and "skipped [red]bank[link=x].csv line 3" in err
    )
    assert "[/bold] odd" in _listing()


def test_markup_in_member_names_is_printed_as_text_in_the_report(
    sqlite_url: str, tmp_path: Path
) -> None:
    exhibit = tmp_path / "exhibit"
    exhibit.mkdir()
    picture = io.BytesIO()
    render_picture(5).save(picture, "JPEG", quality=90)
    with zipfile.ZipFile(exhibit / "up.zip", "w") as archive:
        archive.writestr("[/bold] x.jpg", picture.getvalue())
        archive.writestr("[link=file:///etc/passwd]y[/link].jpg", picture.getvalue() + b"1")
        archive.writestr("../[/red]escape.jpg", b"x")
    Image.new("RGB", (4, 4)).save(exhibit / "=HYPERLINK(1).png")
    assert invoke("case", "create", "[/i]OP")[0] == 0
    code, out, err = invoke("ingest", "[/i]OP", "EX[/b]", str(exhibit), "--workers", "1")
    assert code == 0, err
    assert "exhibit EX[/b]:" in out
    code, text, err = invoke("report", "[/i]OP")
    assert code == 0, err
    assert "[/red]escape.jpg" in text and "Case [/i]OP" in text and "EX[/b]" in text


def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised(
    sqlite_url: str, tmp_path: Path
) -> None:
    exhibit = tmp_path / "exhibit"
    exhibit.mkdir()
    with zipfile.ZipFile(exhibit / "=cmd.zip", "w") as archive:
        archive.writestr("../@evil.jpg", b"x")
    assert invoke("case", "create", "OP-F")[0] == 0
    assert invoke("ingest", "OP-F", "+EX1", str(exhibit), "--workers", "1")[0] == 0
    code, out, _ = invoke("report", "OP-F", "--format", "csv")
    cells = [cell for row in csv.reader(io.StringIO(out)) for cell in row]
    assert not [c for c in cells if c.startswith(("=", "+", "-", "@", "\t", "\r"))], cells
    assert "'+EX1" in cells

    bank = tmp_path / "bank.csv"
    bank.write_text(
        f"md5,series,source,external_id\n{MD5[0]},=1+1,@SUM(A1),\t-2\n{MD5[1]},'=x,-,'\n"
    )
    assert invoke("bank", "import", str(bank), "--name", "=evil")[0] == 0
    code, out, err = invoke("bank", "export", "=evil", "--format", "csv")
    assert code == 0, err
    rows = list(csv.reader(io.StringIO(out)))
    cells = [cell for row in rows for cell in row]
    assert not [c for c in cells if c.startswith(("=", "+", "-", "@", "\t", "\r"))], cells
    exported = tmp_path / "again.csv"
    exported.write_text(out)
    assert invoke("bank", "import", str(exported), "--name", "again")[0] == 0
    again = invoke("bank", "export", "again", "--format", "vics")[1]
    values = json.loads(again)["value"]
    assert [(v.get("Series"), v.get("Source"), v.get("MediaID")) for v in values] == [
        ("=1+1", "@SUM(A1)", "\t-2"),
        ("=x", "-", "'"),  # an apostrophe before a formula start is read as the rule's
    ]

"""Hostile bank files: every parser stays bounded in depth and memory and says what it refused.

The memory-limited cases run in a child process with ``RLIMIT_AS``: before the depth bound, a
400 KB VICS file nested 200,000 deep took ``bank import`` past 20 GB.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from safeguard.domain.known import BankRecord, RecordError
from safeguard.interchange import BankFormat, csvbank, read_bank, vics, vpdqtext
from tests.interchange.hostile_banks import MD5, PDQ, deep_vics

ROOT = Path(__file__).resolve().parents[2]
#: Address space for the child: Python, NumPy and the parsers fit well inside it.
MEMORY_LIMIT = 1536 << 20


def _limited(code: str) -> subprocess.CompletedProcess[str]:
    script = textwrap.dedent(
        f"""
        import resource, sys
        resource.setrlimit(resource.RLIMIT_AS, ({MEMORY_LIMIT}, {MEMORY_LIMIT}))
        sys.path.insert(0, {str(ROOT)!r})
        """
    ) + textwrap.dedent(code)
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=600, cwd=ROOT
    )


def test_a_vics_file_nested_200000_deep_is_refused_within_a_memory_limit() -> None:
    result = _limited(
        """
        from pathlib import Path
        import tempfile
        from safeguard.interchange import read_bank
        from tests.interchange.hostile_banks import deep_vics
        path = Path(tempfile.mkdtemp()) / "deep.json"
        path.write_bytes(deep_vics(200_000))
        for item in read_bank(path):
            print(item)
        """
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "entry 1:" in result.stdout
    assert f"nested more than {vics.MAX_DEPTH} levels" in result.stdout


def test_every_parser_survives_fuzzing_within_a_memory_limit() -> None:
    result = _limited(
        """
        from tests.interchange.hostile_banks import fuzz_all
        fuzz_all()
        print("fuzzed")
        """
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "fuzzed" in result.stdout


def test_a_deep_first_entry_is_reported_and_the_header_scan_stays_bounded(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_bytes(deep_vics(5000, "{"))
    items = list(read_bank(path))
    assert len(items) == 1 and isinstance(items[0], RecordError)
    assert items[0].unit == "entry" and str(items[0]).startswith("entry 1:")
    assert "nested more than" in items[0].message


def test_nesting_within_the_limit_still_reads(tmp_path: Path) -> None:
    path = tmp_path / "ok.json"
    path.write_bytes(deep_vics(vics.MAX_DEPTH - 4))
    items = list(read_bank(path))
    assert [type(item) for item in items] == [BankRecord, BankRecord]


def test_an_over_long_json_token_is_refused(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(vics, "MAX_TOKEN_BYTES", 100_000)
    path = tmp_path / "long.json"
    path.write_text(f'{{"value":[{{"MD5":"{MD5}"}},{{"MD5":"{MD5}","Series":"{"x" * 300_000}"}}]}}')
    items = list(read_bank(path))
    assert isinstance(items[0], BankRecord)
    assert isinstance(items[1], RecordError) and "longer than 100000 bytes" in items[1].message
    assert str(items[1]).startswith("entry 2:")


def test_vics_errors_name_the_entry_not_a_line(tmp_path: Path) -> None:
    path = tmp_path / "one-line.json"
    path.write_text(f'{{"value":[{{"MD5":"{MD5}"}},{{"MD5":"xyz"}}]}}')
    bad = [item for item in read_bank(path) if isinstance(item, RecordError)]
    assert [str(item).split(":")[0] for item in bad] == ["entry 2"]


def test_an_unclosed_csv_quote_stops_with_an_error_instead_of_gathering_the_file(
    tmp_path: Path,
) -> None:
    path = tmp_path / "bank.csv"
    lines = ["hash_kind,hash", f"md5,{MD5}", 'md5,"' + MD5]
    lines += [f"md5,{MD5}"] * (csvbank.MAX_ROW_LINES + 50)
    path.write_text("\n".join(lines) + "\n")
    items = list(read_bank(path, BankFormat.CSV))
    assert isinstance(items[0], BankRecord)
    assert isinstance(items[-1], RecordError) and items[-1].line == 3
    assert "spans more than" in items[-1].message


def test_a_csv_row_of_too_many_cells_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "bank.csv"
    path.write_text(f"md5\n{MD5}\n{MD5}" + "," * (csvbank.MAX_CELLS + 1) + "\n")
    items = list(read_bank(path, BankFormat.CSV))
    assert isinstance(items[0], BankRecord)
    assert isinstance(items[1], RecordError) and "cells" in items[1].message


def test_vpdq_text_bounds_lines_and_frames(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "video.txt"
    frame = f"0,100,{PDQ},0.000\n"
    path.write_text(frame + "1," + "9" * (2 << 20) + "\n" + frame.replace("0.000", "1.000"))
    items = list(read_bank(path, BankFormat.VPDQ))
    assert isinstance(items[0], RecordError) and "longer than" in items[0].message
    assert isinstance(items[-1], BankRecord) and len(items[-1].vpdq) == 2
    monkeypatch.setattr(vpdqtext, "MAX_FRAMES", 1)
    try:
        list(read_bank(path, BankFormat.VPDQ))
    except ValueError as error:
        assert "MAX_FRAMES" in str(error)
    else:
        raise AssertionError("a file over MAX_FRAMES was read")


def test_brackets_quotes_and_backslashes_inside_strings_are_not_nesting(tmp_path: Path) -> None:
    # Strings full of brackets, escaped quotes and backslashes, cut by reads at every offset.
    series = "[{" * 80 + '\\"]]\\\\' + "[" * 7
    entries = [
        f'{{"MD5":"{i:032x}","Series":"{series}{"x" * (i % 37)}","Source":"\\\\"}}'
        for i in range(600)
    ]
    path = tmp_path / "strings.json"
    path.write_text('{"value":[' + ",".join(entries) + "]}")
    items = list(read_bank(path))
    assert all(isinstance(item, BankRecord) for item in items), items[:3]
    assert len(items) == 600
    assert items[5].series == series.replace('\\"', '"').replace("\\\\", "\\") + "x" * 5
    assert items[0].source == "\\"

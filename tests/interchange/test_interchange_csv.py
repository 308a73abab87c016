"""CSV banks: the wide shape Safeguard writes, the long hash/hash_kind shape, and bad rows."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from safeguard.domain.known import BankRecord, RecordError
from safeguard.interchange import BankFormat, read_bank, write_bank

MD5 = "0123456789abcdef0123456789abcdef"
SHA1 = "0123456789abcdef0123456789abcdef01234567"
SHA256 = "ab" * 32
PDQ = "f8f8f0cce0f4a84f0e370a22028f67f0b36e2ed596623e1d33e6339c4e9c9b22"


def read(path: Path, **kwargs: Any) -> list[BankRecord | RecordError]:
    return list(read_bank(path, **kwargs))


def csv_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bank.csv"
    path.write_text(text, newline="")
    return path


def test_round_trip(tmp_path: Path) -> None:
    records = [
        BankRecord(
            category="A",
            md5=MD5,
            sha1=SHA1,
            sha256=SHA256,
            pdq=PDQ,
            pdq_quality=100,
            victim_identified=True,
            series='series, with "quotes"\nand a newline',
            self_generated=True,
            source="=not a formula",
            external_id="0042",
        ),
        BankRecord(category="U", sha256=SHA256),
        BankRecord(category="N", pdq=PDQ, pdq_quality=0),
    ]
    path = tmp_path / "bank.csv"
    with path.open("w", newline="", encoding="utf-8") as out:
        assert write_bank(records, out, BankFormat.CSV) == 3
    assert path.read_text().splitlines()[0] == (
        "md5,sha1,sha256,pdq,category,victim_identified,series,self_generated,source,"
        "external_id,pdq_quality"
    )
    assert read(path) == records


def test_long_shape_with_inferred_kinds(tmp_path: Path) -> None:
    path = csv_file(
        tmp_path,
        "hash_kind,hash,category,victim_identified,series,self_generated,source,external_id\n"
        f",{MD5.upper()},A,true,s1,false,force,1\n"
        f",{SHA1},b,1,,0,,2\n"
        f"sha256,{SHA256},C,yes,,no,,\n"
        f"PDQ,{PDQ},,,,,,\n",
    )
    assert read(path) == [
        BankRecord(
            category="A",
            md5=MD5,
            victim_identified=True,
            series="s1",
            source="force",
            external_id="1",
        ),
        BankRecord(category="B", sha1=SHA1, victim_identified=True, external_id="2"),
        BankRecord(category="C", sha256=SHA256, victim_identified=True),
        BankRecord(category="U", pdq=PDQ),
    ]


def test_only_hash_column_needed_and_header_is_case_and_order_free(tmp_path: Path) -> None:
    assert read(csv_file(tmp_path, f"Hash\n{MD5}\n")) == [BankRecord(category="U", md5=MD5)]
    path = csv_file(tmp_path, f"Category,Extra,HASH,Victim_Identified\nB,x,{SHA1},True\n")
    assert read(path) == [BankRecord(category="B", sha1=SHA1, victim_identified=True)]


def test_category_as_vics_number_and_us_codes(tmp_path: Path) -> None:
    path = csv_file(tmp_path, f"hash,category\n{MD5},1\n{MD5},4\n{MD5},0\n")
    assert [r.category for r in read(path)] == ["A", "N", "U"]  # uk: numbers via the profile
    one, four, zero = read(path, profile="us")
    assert one == BankRecord(category="1", md5=MD5)
    assert isinstance(four, RecordError) and four.line == 3
    assert zero == BankRecord(category="0", md5=MD5)


def test_bad_rows_report_their_first_line_and_the_rest_import(tmp_path: Path) -> None:
    path = csv_file(
        tmp_path,
        "hash,hash_kind,category,series,victim_identified,pdq_quality\n"  # line 1
        f"{MD5},,A,,,\n"  # 2 ok
        f"{SHA256},,A,,,\n"  # 3 64 hex without kind
        f"{MD5},,Z,,,\n"  # 4 unknown category
        f'{MD5},,A,"two\nline series",,\n'  # 5-6 ok
        f"{MD5},,A,,perhaps,\n"  # 7 bad boolean
        f"{MD5},whirlpool,A,,,\n"  # 8 unknown kind
        ",,A,,,\n"  # 9 no hash
        f"{PDQ},pdq,A,,,101\n"  # 10 quality out of range
        "\n"  # 11 blank
        f"{SHA1},,B,,,\n",  # 12 ok
    )
    items = read(path)
    records = [i for i in items if isinstance(i, BankRecord)]
    errors = {e.line: e.message for e in items if isinstance(e, RecordError)}
    assert records == [
        BankRecord(category="A", md5=MD5),
        BankRecord(category="A", md5=MD5, series="two\nline series"),
        BankRecord(category="B", sha1=SHA1),
    ]
    assert sorted(errors) == [3, 4, 7, 8, 9, 10]
    assert "hash_kind" in errors[3]
    assert "'Z'" in errors[4]
    assert "victim_identified" in errors[7]
    assert "whirlpool" in errors[8]
    assert "no hash" in errors[9]
    assert "100" in errors[10]


def test_conflicting_hash_columns(tmp_path: Path) -> None:
    path = csv_file(tmp_path, f"hash,md5\n{MD5},{'0' * 32}\n{MD5},{MD5.upper()}\n")
    first, second = read(path)
    assert isinstance(first, RecordError) and "conflicting" in first.message
    assert second == BankRecord(category="U", md5=MD5)


def test_invalid_utf8_row(tmp_path: Path) -> None:
    path = tmp_path / "bank.csv"
    path.write_bytes(f"hash,series\n{MD5},ok\n{MD5},\xff\xfe\n{MD5},caf\u00e9\n".encode("latin-1"))
    items = read(path)
    assert items[0] == BankRecord(category="U", md5=MD5, series="ok")
    assert isinstance(items[1], RecordError) and items[1].line == 3
    assert isinstance(items[2], RecordError) and items[2].line == 4


def test_bom_and_crlf(tmp_path: Path) -> None:
    path = tmp_path / "bank.csv"
    path.write_bytes(b"\xef\xbb\xbfhash,category\r\n" + f"{MD5},C\r\n".encode())
    assert read(path) == [BankRecord(category="C", md5=MD5)]


def test_header_without_hash_column_is_refused_at_once(tmp_path: Path) -> None:
    path = csv_file(tmp_path, f"digest,category\n{MD5},A\n")
    with pytest.raises(ValueError, match="hash"):
        read_bank(path, BankFormat.CSV)


def test_writing_a_record_without_hash_fails() -> None:
    with pytest.raises(ValueError, match="no hash"):
        write_bank([BankRecord(category="A")], io.StringIO(), BankFormat.CSV)

"""md5sum-style and HMA-style hash lists: what survives a round trip, comments, bad lines."""

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

FULL = BankRecord(
    category="A",
    md5=MD5,
    sha1=SHA1,
    sha256=SHA256,
    pdq=PDQ,
    pdq_quality=90,
    victim_identified=True,
    series="s",
    self_generated=True,
    source="src",
    external_id="9",
)


def read(path: Path, **kwargs: Any) -> list[BankRecord | RecordError]:
    return list(read_bank(path, **kwargs))


def write(records: list[BankRecord], fmt: BankFormat) -> tuple[int, str]:
    out = io.StringIO()
    count = write_bank(records, out, fmt)
    return count, out.getvalue()


# --- md5sum -----------------------------------------------------------------------------------


def test_md5sum_round_trip_keeps_digests_only(tmp_path: Path) -> None:
    """One line per MD5/SHA-1/SHA-256; PDQ, category and flags do not survive."""
    count, text = write([FULL, BankRecord(category="B", md5="f" * 32)], BankFormat.MD5SUM)
    assert count == 4
    assert text.splitlines() == [
        f"{MD5}  9",
        f"{SHA1}  9",
        f"{SHA256}  9",
        f"{'f' * 32}  {'f' * 32}",
    ]
    path = tmp_path / "bank.md5"
    path.write_text(text)
    assert read(path) == [
        BankRecord(category="U", md5=MD5),
        BankRecord(category="U", sha1=SHA1),
        BankRecord(category="U", sha256=SHA256),
        BankRecord(category="U", md5="f" * 32),
    ]


def test_md5sum_pdq_only_record_writes_nothing() -> None:
    assert write([BankRecord(category="A", pdq=PDQ)], BankFormat.MD5SUM) == (0, "")


def test_md5sum_line_styles(tmp_path: Path) -> None:
    path = tmp_path / "sums.txt"
    path.write_text(
        "# a comment\n"
        "\n"
        f"{MD5.upper()}  photos/one.jpg\n"
        f"{SHA1} *binary mode.jpg\n"
        f"{SHA256}  name with  spaces.png\r\n"
        f"MD5 (tagged.jpg) = {MD5}\n"
        f"SHA256 (tagged.jpg) = {SHA256}\n"
        f"\\{MD5}  escaped\\nname\n"
    )
    assert read(path) == [
        BankRecord(category="U", md5=MD5),
        BankRecord(category="U", sha1=SHA1),
        BankRecord(category="U", sha256=SHA256),
        BankRecord(category="U", md5=MD5),
        BankRecord(category="U", sha256=SHA256),
        BankRecord(category="U", md5=MD5),
    ]


def test_md5sum_bad_lines_have_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "sums.txt"
    path.write_bytes(
        b"# header\n"
        + f"{MD5}  ok.jpg\n".encode()
        + b"0123  too short\n"
        + b"\xff\xfe not utf-8\n"
        + f"MD5 (x) = {SHA1}\n".encode()
        + f"{SHA1}  ok2.jpg\n".encode()
    )
    items = read(path)
    assert items[0] == BankRecord(category="U", md5=MD5)
    assert items[-1] == BankRecord(category="U", sha1=SHA1)
    errors = [i for i in items if isinstance(i, RecordError)]
    assert [e.line for e in errors] == [3, 4, 5]
    assert "UTF-8" in errors[1].message
    assert "32" in errors[2].message


def test_default_category_and_profile(tmp_path: Path) -> None:
    path = tmp_path / "sums.txt"
    path.write_text(f"{MD5}  a\n")
    assert read(path, default_category="C") == [BankRecord(category="C", md5=MD5)]
    assert read(path, profile="us") == [BankRecord(category="0", md5=MD5)]
    with pytest.raises(ValueError, match="not in scheme"):
        read_bank(path, default_category="Z")


# --- HMA --------------------------------------------------------------------------------------


def test_hma_round_trip_keeps_every_hash(tmp_path: Path) -> None:
    count, text = write([FULL], BankFormat.HMA)
    assert count == 4
    assert text.splitlines() == [f"md5 {MD5}", f"sha1 {SHA1}", f"sha256 {SHA256}", f"pdq {PDQ}"]
    path = tmp_path / "bank.txt"
    path.write_text(text)
    assert read(path, default_category="A") == [
        BankRecord(category="A", md5=MD5),
        BankRecord(category="A", sha1=SHA1),
        BankRecord(category="A", sha256=SHA256),
        BankRecord(category="A", pdq=PDQ),
    ]


def test_hma_lines(tmp_path: Path) -> None:
    path = tmp_path / "hma.txt"
    path.write_text(
        "# exported signals\n"
        f"PDQ {PDQ.upper()}\n"
        f"md5\t{MD5}\n"
        "\n"
        f"photodna {MD5}\n"
        f"pdq {PDQ} extra\n"
        "pdq 1234\n"
        f"Sha1 {SHA1}\n"
    )
    items = read(path)
    assert items[0] == BankRecord(category="U", pdq=PDQ)
    assert items[1] == BankRecord(category="U", md5=MD5)
    assert items[-1] == BankRecord(category="U", sha1=SHA1)
    errors = [i for i in items if isinstance(i, RecordError)]
    assert [e.line for e in errors] == [5, 6, 7]
    assert "photodna" in errors[0].message
    assert "<type> <hash>" in errors[1].message
    assert "64" in errors[2].message


@pytest.mark.parametrize("fmt", [BankFormat.MD5SUM, BankFormat.HMA])
def test_hash_lists_refuse_records_without_hash(fmt: BankFormat) -> None:
    with pytest.raises(ValueError, match="no hash"):
        write_bank([BankRecord(category="A")], io.StringIO(), fmt)


@pytest.mark.parametrize("fmt", [BankFormat.MD5SUM, BankFormat.HMA])
def test_hash_lists_with_bom(tmp_path: Path, fmt: BankFormat) -> None:
    _, text = write([BankRecord(category="U", md5=MD5)], fmt)
    path = tmp_path / "bom.txt"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    assert read(path) == [BankRecord(category="U", md5=MD5)]


def test_over_long_line_is_reported_not_held(tmp_path: Path) -> None:
    path = tmp_path / "long.txt"
    path.write_text(f"md5 {MD5}\n" + "x" * (3 << 20) + f"\nmd5 {MD5}\n")
    items = read(path, fmt=BankFormat.HMA)
    assert items[0] == items[2] == BankRecord(category="U", md5=MD5)
    assert isinstance(items[1], RecordError) and items[1].line == 2

"""Format detection from content, for every format Safeguard writes and the variants it reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from safeguard.domain.known import BankRecord, VideoFrameHash
from safeguard.interchange import BankFormat, detect_format, read_bank, write_bank

MD5 = "0123456789abcdef0123456789abcdef"
SHA1 = "0123456789abcdef0123456789abcdef01234567"
SHA256 = "ab" * 32
PDQ = "f8f8f0cce0f4a84f0e370a22028f67f0b36e2ed596623e1d33e6339c4e9c9b22"
RECORD = BankRecord(category="A", md5=MD5, sha1=SHA1, pdq=PDQ)
VIDEO = BankRecord(category="A", md5=MD5, vpdq=(VideoFrameHash(0, 100, PDQ, 0.0),))


@pytest.mark.parametrize("fmt", list(BankFormat))
def test_written_files_are_detected(tmp_path: Path, fmt: BankFormat) -> None:
    path = tmp_path / "bank"
    with path.open("w", newline="", encoding="utf-8") as out:
        write_bank([VIDEO if fmt is BankFormat.VPDQ else RECORD], out, fmt)
    expected = BankFormat.VICS if fmt is BankFormat.VICS1 else fmt
    assert detect_format(path) is expected
    assert all(isinstance(r, BankRecord) for r in read_bank(path))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('\n  {"odata.metadata": "x", "value": []}', BankFormat.VICS),
        ('\ufeff{"@odata.context": "x", "value": []}', BankFormat.VICS),
        (f"{MD5}  a.jpg\n", BankFormat.MD5SUM),
        (f"{MD5.upper()} *a.jpg\n", BankFormat.MD5SUM),
        (f"# sha1sum output\n\n{SHA1}  a.jpg\n", BankFormat.MD5SUM),
        (f"{SHA256}  a.jpg\n", BankFormat.MD5SUM),
        (f"\ufeff{SHA256}  a.jpg\n", BankFormat.MD5SUM),
        (f"MD5 (a.jpg) = {MD5}\n", BankFormat.MD5SUM),
        (f"hash_kind,hash,category\nmd5,{MD5},A\n", BankFormat.CSV),
        (f"Category,HASH\nA,{MD5}\n", BankFormat.CSV),
        (f"hash\n{MD5}\n", BankFormat.CSV),
        (f"md5,sha1,category\n{MD5},{SHA1},A\n", BankFormat.CSV),
        (f"\ufeffhash,category\r\n{MD5},A\r\n", BankFormat.CSV),
        (f"pdq {PDQ}\nmd5 {MD5}\n", BankFormat.HMA),
        (f"# signals\nPDQ {PDQ}\n", BankFormat.HMA),
        (f"SHA256\t{SHA256}\n", BankFormat.HMA),
    ],
)
def test_detection(tmp_path: Path, text: str, expected: BankFormat) -> None:
    path = tmp_path / "bank"
    path.write_text(text, encoding="utf-8", newline="")
    assert detect_format(path) is expected


@pytest.mark.parametrize(
    "text",
    ["", "\n\n# only comments\n", "hello world\n", f"{MD5}\n", "name,size\na,1\n", "[1, 2]"],
)
def test_undetectable(tmp_path: Path, text: str) -> None:
    path = tmp_path / "bank"
    path.write_text(text)
    with pytest.raises(ValueError, match="cannot tell"):
        detect_format(path)
    with pytest.raises(ValueError, match="cannot tell"):
        read_bank(path)


def test_detection_reads_only_the_head(tmp_path: Path) -> None:
    """A line longer than the peek is still classified by its visible start."""
    path = tmp_path / "bank"
    path.write_text("#" * 10_000 + f"\n{MD5}  a.jpg\n")
    with pytest.raises(ValueError):
        detect_format(path)  # nothing but a comment in the first 8 KB
    path.write_text(f"{MD5}  " + "n" * 20_000 + "\n")
    assert detect_format(path) is BankFormat.MD5SUM

"""Bank file formats and detecting which one a file is written in from its first bytes."""

from __future__ import annotations

import csv
import re
from enum import StrEnum
from pathlib import Path

BOM = b"\xef\xbb\xbf"

#: How much of a file detection reads.
PEEK_BYTES = 8192


class BankFormat(StrEnum):
    """A bank file format.

    ``vics`` reads VICS 1.x and 2.0 JSON and writes 2.0; ``vics1`` writes 1.x (1.3) and reads
    like ``vics``.
    """

    VICS = "vics"
    VICS1 = "vics1"
    MD5SUM = "md5sum"
    CSV = "csv"
    HMA = "hma"
    VPDQ = "vpdq"


#: GNU coreutils style: ``<hex>  <name>`` (text mode) or ``<hex> *<name>`` (binary mode).
GNU_SUM_LINE = re.compile(
    r"^\\?(?P<hash>[0-9a-fA-F]{32}|[0-9a-fA-F]{40}|[0-9a-fA-F]{64}) [ *](?P<name>.*)$"
)
#: BSD style, as written by ``md5sum --tag`` or macOS ``md5``: ``MD5 (<name>) = <hex>``.
BSD_SUM_LINE = re.compile(
    r"^(?P<kind>MD5|SHA1|SHA256) \((?P<name>.*)\) = (?P<hash>[0-9a-fA-F]+)$", re.IGNORECASE
)
#: HMA style: ``<type> <hash>``.
HMA_LINE = re.compile(r"^(?P<kind>md5|sha1|sha256|pdq)[ \t]+(?P<hash>\S+)$", re.IGNORECASE)

#: vPDQ reference text: ``frame number, quality, PDQ hex, timestamp in seconds``.
VPDQ_LINE = re.compile(
    r"^\s*(?P<frame>\d+)\s*,\s*(?P<quality>\d+)\s*,\s*(?P<hash>[0-9a-fA-F]{64})\s*,"
    r"\s*(?P<timestamp>\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)\s*$"
)

#: Column names that make a first line a CSV bank header.
CSV_HASH_COLUMNS = frozenset({"hash", "md5", "sha1", "sha256", "pdq"})


def _csv_header(line: str) -> bool:
    try:
        cells = next(csv.reader([line]))
    except (csv.Error, StopIteration):
        return False
    return any(cell.strip().lower() in CSV_HASH_COLUMNS for cell in cells)


def detect_format(path: Path) -> BankFormat:
    """Guess a bank file's format from its first few KB.

    JSON starting with ``{`` is VICS; otherwise the first line that is neither blank nor a
    ``#`` comment decides: a ``<hex>  <name>`` line is md5sum (sha1sum/sha256sum and BSD
    ``--tag`` lines too), a ``<type> <hash>`` line is HMA, a ``frame,quality,pdq,seconds`` line
    is vPDQ reference text, and a header with a ``hash`` (or
    ``md5``, ``sha1``, ``sha256``, ``pdq``) column is CSV. Raises ValueError when none fits.
    """
    with Path(path).open("rb") as f:
        head = f.read(PEEK_BYTES).removeprefix(BOM)
    text = head.decode("utf-8", errors="replace")
    if text.lstrip().startswith("{"):
        return BankFormat.VICS
    for raw in text.splitlines():  # the last may be cut short by the peek; its start still tells
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if GNU_SUM_LINE.match(line) or BSD_SUM_LINE.match(line):
            return BankFormat.MD5SUM
        if HMA_LINE.match(line):
            return BankFormat.HMA
        if VPDQ_LINE.match(line):
            return BankFormat.VPDQ
        if _csv_header(line):
            return BankFormat.CSV
        break
    raise ValueError(
        f"cannot tell the bank format of {path}: expected VICS JSON, an md5sum-style list, "
        "a CSV with a 'hash' column, HMA-style '<type> <hash>' lines or vPDQ lines"
    )

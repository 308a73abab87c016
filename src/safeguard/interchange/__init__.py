"""Bank files in and out: VICS 1.x/2.0 JSON, md5sum lists, CSV and HMA-style lists.

Readers stream (a file is never held whole), yield ``BankRecord`` for good entries and
``RecordError`` for bad ones, and go on reading after a bad one. Writers stream too, and what
they write reads back to the same records, within what each format can carry:

* ``vics``/``vics1`` and ``csv``: every BankRecord field.
* ``hma``: the hashes only, one ``<type> <hash>`` line (and read-back record) per hash.
* ``md5sum``: the MD5, SHA-1 and SHA-256 only, one line (and record) per digest; PDQ is dropped.
* ``vpdq``: one known video, its vPDQ frames in Meta's reference text layout (and its digests);
  the category is given on import.

``vics``/``vics1`` also carry a video's vPDQ frames and segments; CSV and hash lists drop them.

Hash-list records read back with the default category and no flags.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TextIO

from safeguard.domain.known import BankRecord, RecordError
from safeguard.interchange._values import (
    DEFAULT_PROFILE,
    resolve_default_category,
    resolve_profile,
)
from safeguard.interchange.csvbank import read_csv, write_csv
from safeguard.interchange.formats import BankFormat, detect_format
from safeguard.interchange.hashlists import read_hma, read_md5sum, write_hma, write_md5sum
from safeguard.interchange.vics import read_vics, write_vics
from safeguard.interchange.vpdqtext import read_vpdq, write_vpdq

__all__ = ["BankFormat", "detect_format", "read_bank", "write_bank"]


def read_bank(
    path: Path,
    fmt: BankFormat | None = None,
    *,
    profile: str | None = None,
    default_category: str | None = None,
) -> Iterator[BankRecord | RecordError]:
    """Stream the records of a bank file, detecting its format when ``fmt`` is None.

    ``profile`` names the VICS profile (category table and scheme): None means the one a VICS
    2.0 context URL names, else "uk". ``default_category`` is the category of hash-list lines,
    and vPDQ files, which carry none (default: the scheme's uncategorised code); it must be in
    the scheme.

    ``RecordError.line`` is the 1-based text line for hash lists and CSV, and the 1-based ordinal
    of the media entry for VICS. Raises ValueError (or KeyError for an unknown profile) at once
    when the file cannot be read as a bank at all.
    """
    path = Path(path)
    fmt = BankFormat(fmt) if fmt is not None else detect_format(path)
    if fmt in (BankFormat.VICS, BankFormat.VICS1):
        if profile is not None:
            resolve_profile(profile)
        return read_vics(path, profile)
    table = resolve_profile(profile or DEFAULT_PROFILE)
    category = resolve_default_category(table, default_category)
    if fmt is BankFormat.CSV:
        return read_csv(path, table, category)
    if fmt is BankFormat.MD5SUM:
        return read_md5sum(path, category)
    if fmt is BankFormat.VPDQ:
        return read_vpdq(path, category)
    return read_hma(path, category)


def write_bank(
    records: Iterable[BankRecord],
    out: TextIO,
    fmt: BankFormat,
    *,
    profile: str = DEFAULT_PROFILE,
    name: str = "safeguard",
) -> int:
    """Write records as ``fmt``; returns the entries written (VICS entries, CSV rows, lines).

    That count is the number of records ``read_bank`` gives back. ``profile`` maps categories to
    VICS numbers; ``name`` labels VICS 2.0 files. Raises ValueError on a record with no hash or
    (VICS) a category without a number in the profile; what was written before stays written.
    """
    fmt = BankFormat(fmt)
    if fmt is BankFormat.VICS:
        return write_vics(records, out, profile=profile, name=name, version="2.0")
    if fmt is BankFormat.VICS1:
        return write_vics(records, out, profile=profile, name=name, version="1.x")
    if fmt is BankFormat.CSV:
        return write_csv(records, out)
    if fmt is BankFormat.MD5SUM:
        return write_md5sum(records, out)
    if fmt is BankFormat.VPDQ:
        return write_vpdq(records, out)
    return write_hma(records, out)

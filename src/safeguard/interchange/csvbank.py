"""CSV banks.

Header names are case-insensitive and in any order; unknown columns are ignored. A row names
its hashes in either (or both) of two shapes:

* long: ``hash`` with an optional ``hash_kind`` (md5, sha1, sha256, pdq). Without a kind, 32 hex
  characters is MD5 and 40 is SHA-1; 64 is ambiguous (SHA-256 or PDQ) and needs ``hash_kind``.
* wide: ``md5``, ``sha1``, ``sha256``, ``pdq`` columns, so one row carries every hash of an item.

Other columns: ``category`` (a scheme code such as ``A``, any case, or a VICS number of the
profile; empty means the default category), ``victim_identified``, ``self_generated``
(true/false, 1/0, yes/no; empty is false), ``series``, ``source``, ``external_id`` (text, kept
exactly; empty means none) and ``pdq_quality`` (0-100).

Safeguard writes the wide shape, one row per record, so every BankRecord field round-trips.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TextIO

from safeguard.domain.categories import CategoryScheme, VicsProfile
from safeguard.domain.csvcells import SafeWriter, read_cell
from safeguard.domain.kinds import HashKind
from safeguard.domain.known import BankRecord, RecordError
from safeguard.interchange._values import (
    RECORD_HASH_KINDS,
    hash_kind_named,
    parse_bool,
    parse_hash,
    parse_int,
    parse_quality,
    profile_scheme,
)
from safeguard.interchange.formats import CSV_HASH_COLUMNS
from safeguard.interchange.hashlists import MAX_LINE_BYTES, iter_raw_lines

COLUMNS: tuple[str, ...] = (
    "md5",
    "sha1",
    "sha256",
    "pdq",
    "category",
    "victim_identified",
    "series",
    "self_generated",
    "source",
    "external_id",
    "pdq_quality",
)

#: The long layout, one hash a row, as the readers here expect its columns (by name).
LONG_COLUMNS: tuple[str, ...] = (
    "hash_kind",
    "hash",
    "category",
    "victim_identified",
    "series",
    "self_generated",
    "source",
    "external_id",
)

_KIND_BY_LENGTH = {32: HashKind.MD5, 40: HashKind.SHA1}

#: Most physical lines one CSV row may span (quoted line breaks): an unclosed quote must not
#: make the reader gather the rest of the file into one row.
MAX_ROW_LINES = 1000
#: Most cells one row may hold.
MAX_CELLS = 1000


class _RowTooLong(ValueError):
    """A row spans more than ``MAX_ROW_LINES`` lines: reading stops."""

    def __init__(self, first: int) -> None:
        super().__init__(f"CSV row starting on line {first} spans more than {MAX_ROW_LINES} lines")


class _Lines:
    """Decoded physical lines for csv.reader, remembering which ones were not valid UTF-8."""

    def __init__(self, path: Path) -> None:
        self._raw = iter_raw_lines(path)
        self.bad: dict[int, str] = {}
        #: The last physical line of the previous row, set by the reader's user.
        self.row_end = 0

    def __iter__(self) -> Iterator[str]:
        for number, raw in self._raw:
            if number - self.row_end > MAX_ROW_LINES:
                raise _RowTooLong(self.row_end + 1)
            if raw is None:
                self.bad[number] = f"line is longer than {MAX_LINE_BYTES} bytes"
                yield "\ufffd\n"  # a placeholder row, so the line is reported
                continue
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError:
                self.bad[number] = "line is not valid UTF-8"
                yield raw.decode("utf-8", errors="replace")

    def problem(self, first: int, last: int) -> str | None:
        for number in range(first, last + 1):
            if number in self.bad:
                return self.bad.pop(number)
        return None


class _Row:
    def __init__(self, cells: list[str], columns: dict[str, int]) -> None:
        self._cells = cells
        self._columns = columns

    def __call__(self, name: str) -> str:
        index = self._columns.get(name)
        if index is None or index >= len(self._cells):
            return ""
        return read_cell(self._cells[index])


def _category(text: str, categories: CategoryScheme, profile: VicsProfile, default: str) -> str:
    text = text.strip()
    if not text:
        return default
    for code in categories.codes:
        if code.lower() == text.lower():
            return code
    try:
        return profile.code_for(parse_int(text, "category"))
    except ValueError:
        raise ValueError(
            f"category {text!r} is not in scheme {categories.name!r} "
            f"({', '.join(categories.codes)}) nor a VICS number of the {profile.name} profile"
        ) from None


def _hashes(row: _Row) -> dict[HashKind, str]:
    found: dict[HashKind, str] = {}

    def add(kind: HashKind, value: str) -> None:
        digest = parse_hash(value, kind)
        if found.setdefault(kind, digest) != digest:
            raise ValueError(f"conflicting {kind.value} hashes {found[kind]} and {digest}")

    value = row("hash").strip()
    if value:
        kind_name = row("hash_kind").strip()
        if kind_name:
            kind = hash_kind_named(kind_name)
            if kind not in RECORD_HASH_KINDS:
                raise ValueError(f"unknown hash_kind {kind_name!r} (md5, sha1, sha256 or pdq)")
        else:
            kind = _KIND_BY_LENGTH.get(len(value))
            if kind is None:
                raise ValueError(
                    f"cannot tell the kind of a {len(value)}-character hash: set hash_kind "
                    "(a 64-hex hash may be SHA-256 or PDQ)"
                )
        add(kind, value)
    for kind in RECORD_HASH_KINDS:
        value = row(kind.value).strip()
        if value:
            add(kind, value)
    if not found:
        raise ValueError("row has no hash")
    return found


def _record(
    row: _Row, categories: CategoryScheme, profile: VicsProfile, default: str
) -> BankRecord:
    hashes = _hashes(row)
    return BankRecord(
        category=_category(row("category"), categories, profile, default),
        md5=hashes.get(HashKind.MD5),
        sha1=hashes.get(HashKind.SHA1),
        sha256=hashes.get(HashKind.SHA256),
        pdq=hashes.get(HashKind.PDQ),
        pdq_quality=parse_quality(row("pdq_quality").strip(), "pdq_quality"),
        victim_identified=parse_bool(row("victim_identified"), "victim_identified"),
        series=row("series") or None,
        self_generated=parse_bool(row("self_generated"), "self_generated"),
        source=row("source") or None,
        external_id=row("external_id") or None,
    )


def _columns(cells: list[str]) -> dict[str, int]:
    columns: dict[str, int] = {}
    for index, name in enumerate(cells):
        columns.setdefault(name.strip().lower(), index)
    return columns


def _check_header(path: Path) -> None:
    """Raise ValueError unless the first non-blank row names a hash column (or there is none)."""
    lines = _Lines(path)
    reader = csv.reader(iter(lines))
    try:
        for cells in reader:
            lines.row_end = reader.line_num
            if any(cell.strip() for cell in cells):
                if not CSV_HASH_COLUMNS & _columns(cells).keys():
                    raise ValueError(
                        f"{path}: CSV header has no 'hash' column (nor md5, sha1, sha256, pdq)"
                    )
                return
    except (csv.Error, _RowTooLong) as exc:
        raise ValueError(f"{path}: unreadable CSV header: {exc}") from exc


def read_csv(
    path: Path, profile: VicsProfile, default_category: str
) -> Iterator[BankRecord | RecordError]:
    """Stream a CSV bank; RecordError.line is the physical line a bad row starts on.

    The header is checked before this returns (ValueError when it names no hash column).
    """
    _check_header(path)
    return _rows(path, profile, default_category)


def _rows(
    path: Path, profile: VicsProfile, default_category: str
) -> Iterator[BankRecord | RecordError]:
    categories = profile_scheme(profile)
    lines = _Lines(path)
    reader = csv.reader(iter(lines))
    columns: dict[str, int] | None = None
    end = 0
    while True:
        first = end + 1
        lines.row_end = end
        try:
            cells = next(reader)
        except StopIteration:
            return
        except _RowTooLong:
            yield RecordError(
                first,
                f"row spans more than {MAX_ROW_LINES} lines (an unclosed quote?); stopped here",
                stopped=True,
            )
            return
        except csv.Error as exc:
            end = reader.line_num
            yield RecordError(first, f"malformed CSV: {exc}")
            continue
        end = reader.line_num
        if len(cells) > MAX_CELLS:
            yield RecordError(first, f"row has {len(cells)} cells, more than {MAX_CELLS}")
            continue
        if not any(cell.strip() for cell in cells):
            continue
        if columns is None:
            columns = _columns(cells)
            continue
        problem = lines.problem(first, end)
        if problem is not None:
            yield RecordError(first, problem)
            continue
        try:
            yield _record(_Row(cells, columns), categories, profile, default_category)
        except ValueError as exc:
            yield RecordError(first, str(exc))


def _flag(value: bool) -> str:
    return "true" if value else "false"


def write_csv(records: Iterable[BankRecord], out: TextIO) -> int:
    """Write the wide shape (see the module docstring); open ``out`` with ``newline=""``."""
    writer = SafeWriter(out)
    writer.writerow(COLUMNS)
    count = 0
    for record in records:
        hashes = {kind: getattr(record, kind.value) for kind in RECORD_HASH_KINDS}
        if not any(hashes.values()):
            if record.vpdq:
                continue  # a video known only by its vPDQ frames: CSV cannot carry them
            raise ValueError(f"bank record has no hash: {record!r}")
        writer.writerow(
            [
                *(parse_hash(v, k) if v else "" for k, v in hashes.items()),
                record.category,
                _flag(record.victim_identified),
                record.series or "",
                _flag(record.self_generated),
                record.source or "",
                record.external_id or "",
                "" if record.pdq_quality is None else str(record.pdq_quality),
            ]
        )
        count += 1
    return count

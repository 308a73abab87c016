"""Plain hash lists: md5sum-style ``<hex>  <name>`` and HMA-style ``<type> <hash>``.

Neither carries a category or flags: every record read gets the caller's default category, and
writing keeps only the hashes. A record with several hashes is written as one line per hash, and
each line reads back as its own record.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TextIO

from safeguard.domain.kinds import HashKind, normalise_hex
from safeguard.domain.known import BankRecord, RecordError
from safeguard.interchange._values import RECORD_HASH_KINDS, hash_kind_named
from safeguard.interchange.formats import BOM, BSD_SUM_LINE, GNU_SUM_LINE

#: Longest physical line read; longer ones are reported and skipped, never held whole.
MAX_LINE_BYTES = 1 << 20

_DIGEST_BY_LENGTH = {32: HashKind.MD5, 40: HashKind.SHA1, 64: HashKind.SHA256}
_DIGESTS = (HashKind.MD5, HashKind.SHA1, HashKind.SHA256)
_HMA_KINDS = {kind.value: kind for kind in RECORD_HASH_KINDS}


def iter_raw_lines(path: Path) -> Iterator[tuple[int, bytes | None]]:
    """(1-based line number, bytes with line ending) per line; None for an over-long line."""
    with Path(path).open("rb") as f:
        number = 0
        while True:
            raw = f.readline(MAX_LINE_BYTES)
            if not raw:
                return
            number += 1
            if number == 1:
                raw = raw.removeprefix(BOM)
            if len(raw) >= MAX_LINE_BYTES and not raw.endswith(b"\n"):
                while raw and not raw.endswith(b"\n"):  # skip the rest of the line
                    raw = f.readline(MAX_LINE_BYTES)
                yield number, None
                continue
            yield number, raw


def _text_lines(path: Path) -> Iterator[tuple[int, str] | RecordError]:
    """Stripped lines that are neither blank nor ``#`` comments, or errors for unreadable ones."""
    for number, raw in iter_raw_lines(path):
        if raw is None:
            yield RecordError(number, f"line is longer than {MAX_LINE_BYTES} bytes")
            continue
        try:
            text = raw.decode("utf-8").strip()
        except UnicodeDecodeError:
            yield RecordError(number, "line is not valid UTF-8")
            continue
        if text and not text.startswith("#"):
            yield number, text


def _excerpt(text: str) -> str:
    return repr(text if len(text) <= 80 else text[:77] + "...")


def read_md5sum(path: Path, category: str) -> Iterator[BankRecord | RecordError]:
    """GNU (``<hex>  <name>``, ``<hex> *<name>``) or BSD (``MD5 (<name>) = <hex>``) lines.

    The kind comes from the digest length in GNU lines (32 MD5, 40 SHA-1, 64 SHA-256) and from
    the tag in BSD lines. File names are ignored.
    """
    for item in _text_lines(path):
        if isinstance(item, RecordError):
            yield item
            continue
        number, text = item
        if match := GNU_SUM_LINE.match(text):
            kind = _DIGEST_BY_LENGTH[len(match["hash"])]
        elif match := BSD_SUM_LINE.match(text):
            kind = hash_kind_named(match["kind"]) or HashKind.MD5
        else:
            yield RecordError(
                number,
                "expected '<MD5, SHA-1 or SHA-256 hex digest>  <file name>', got " + _excerpt(text),
            )
            continue
        try:
            digest = normalise_hex(match["hash"], kind)
        except ValueError as exc:
            yield RecordError(number, str(exc))
            continue
        yield BankRecord(category=category, **{kind.value: digest})


def read_hma(path: Path, category: str) -> Iterator[BankRecord | RecordError]:
    """``<type> <hash>`` lines, type one of md5, sha1, sha256, pdq (any case)."""
    for item in _text_lines(path):
        if isinstance(item, RecordError):
            yield item
            continue
        number, text = item
        parts = text.split()
        if len(parts) != 2:
            yield RecordError(number, "expected '<type> <hash>', got " + _excerpt(text))
            continue
        kind = _HMA_KINDS.get(parts[0].lower())
        if kind is None:
            yield RecordError(
                number, f"unknown hash type {parts[0]!r} (expected md5, sha1, sha256 or pdq)"
            )
            continue
        try:
            digest = normalise_hex(parts[1], kind)
        except ValueError as exc:
            yield RecordError(number, str(exc))
            continue
        yield BankRecord(category=category, **{kind.value: digest})


def _has_hash(record: BankRecord) -> None:
    """Refuse a record with no hash; one known only by vPDQ frames writes nothing."""
    if not record.hashes() and not record.vpdq:
        raise ValueError(f"bank record has no hash: {record!r}")


def _sum_name(record: BankRecord, digest: str) -> str:
    """The file name column: the record's external id where it is a plain one-line name."""
    name = record.external_id
    if name and name.strip() == name and not any(c in name for c in "\\\r\n"):
        return name
    return digest


def write_md5sum(records: Iterable[BankRecord], out: TextIO) -> int:
    """One ``<hex>  <name>`` line per MD5, SHA-1 and SHA-256 of each record.

    PDQ hashes cannot be written (a 64-hex line reads back as SHA-256), so a PDQ-only record
    writes nothing. Returns the number of lines written.
    """
    count = 0
    for record in records:
        _has_hash(record)
        for kind in _DIGESTS:
            value = getattr(record, kind.value)
            if value:
                digest = normalise_hex(value, kind)
                out.write(f"{digest}  {_sum_name(record, digest)}\n")
                count += 1
    return count


def write_hma(records: Iterable[BankRecord], out: TextIO) -> int:
    """One ``<type> <hash>`` line per hash of each record. Returns the number of lines written."""
    count = 0
    for record in records:
        _has_hash(record)
        for kind in RECORD_HASH_KINDS:
            value = getattr(record, kind.value)
            if value:
                out.write(f"{kind.value} {normalise_hex(value, kind)}\n")
                count += 1
    return count

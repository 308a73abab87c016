"""Loading bank files into the store and writing banks back out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from safeguard.config import vics_profile
from safeguard.domain.known import BankRecord, RecordError
from safeguard.domain.progress import NoProgress, Progress
from safeguard.interchange import BankFormat, detect_format, read_bank, write_bank
from safeguard.store.banks import (
    add_entries,
    create_bank,
    get_bank,
    iter_records,
    retire_bank,
)
from safeguard.store.database import session_scope

BATCH = 5000


@dataclass
class BankImportSummary:
    bank: str
    format: str
    imported: int = 0
    errors: list[RecordError] = field(default_factory=list)


class BankImportRefused(ValueError):
    """The file was not imported (nothing was created or replaced); ``summary`` says why."""

    def __init__(self, message: str, summary: BankImportSummary) -> None:
        super().__init__(message)
        self.summary = summary


def import_refusal(summary: BankImportSummary, allow_partial: bool, replace: bool) -> str | None:
    """Why an import that read ``summary`` must not be committed, or None when it may.

    A bank is all or nothing by default: one bad entry refuses the file. ``allow_partial``
    keeps the good entries of a file with bad ones, but never when the reader stopped part-way
    (a truncated or over-limit file) and the import would replace a bank, and never when no
    entry at all was good.
    """
    errors = summary.errors
    stopped = next((e for e in errors if e.stopped), None)
    if summary.imported == 0:
        return "no good entries: nothing imported" + (f" ({errors[0]})" if errors else "")
    if stopped is not None and (replace or not allow_partial):
        return f"the file could not be read to its end ({stopped}): nothing imported"
    if errors and not allow_partial:
        return (
            f"{len(errors):,} bad entries: nothing imported (--allow-partial imports the "
            f"{summary.imported:,} good ones)"
        )
    return None


def import_bank_file(
    path: Path,
    name: str,
    *,
    fmt: BankFormat | None = None,
    profile: str | None = None,
    replace: bool = False,
    category: str | None = None,
    allow_partial: bool = False,
    progress: Progress | None = None,
    database_url: str | None = None,
) -> BankImportSummary:
    """Import a bank file as a new bank in one transaction: all of it or none.

    Raises BankImportRefused (the transaction rolled back: no bank created, none retired) for a
    file with bad entries, unless ``allow_partial`` (see :func:`import_refusal`).

    With ``replace``, the bank of that name is retired (renamed, disabled, kept for the matches
    that cite it) in the same transaction, so lookups see the old version until the new one is
    complete and then the new one, never neither. ``category`` is the category of entries whose
    format carries none (hash lists, vPDQ text); default: the scheme's uncategorised.
    """
    progress = progress or NoProgress()
    fmt = fmt or detect_format(path)
    scheme = vics_profile(profile or "uk").scheme
    summary = BankImportSummary(bank=name, format=str(fmt))
    progress.phase(f"importing {path.name}")
    with session_scope(database_url) as session:
        if replace:
            retire_bank(session, name, datetime.now(UTC).isoformat(timespec="seconds"))
        bank = create_bank(session, name, scheme=scheme, source=str(path), format=str(fmt))
        batch: list[tuple[int, BankRecord]] = []
        for position, item in enumerate(
            read_bank(path, fmt, profile=profile, default_category=category), start=1
        ):
            if isinstance(item, RecordError):
                summary.errors.append(item)
                continue
            batch.append((position, item))
            if len(batch) >= BATCH:
                add_entries(session, bank.id, batch)
                summary.imported += len(batch)
                progress.advance(len(batch))
                batch.clear()
        add_entries(session, bank.id, batch)
        summary.imported += len(batch)
        progress.advance(len(batch))
        refusal = import_refusal(summary, allow_partial, replace)
        if refusal is not None:
            raise BankImportRefused(f"{path.name}: {refusal}", summary)
    return summary


def export_bank(
    name: str,
    out: TextIO,
    fmt: BankFormat,
    *,
    profile: str | None = None,
    database_url: str | None = None,
) -> int:
    with session_scope(database_url) as session:
        bank = get_bank(session, name)
        return write_bank(
            iter_records(session, bank.id), out, fmt, profile=profile or bank.scheme, name=name
        )

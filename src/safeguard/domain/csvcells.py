"""CSV cells that a spreadsheet will not run: the one rule for every CSV Safeguard writes.

A cell beginning with ``=``, ``+``, ``-``, ``@``, TAB or CR is read by spreadsheet programs as a
formula (CSV injection): file names, exhibit references, bank names and external ids come from
outside, so such a cell is written with a leading apostrophe, which spreadsheets show as text.
A cell beginning with an apostrophe gets one more, so :func:`read_cell` undoes the rule exactly
and CSV banks still read back to what was written.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from typing import Any

#: First characters a spreadsheet may take for the start of a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_QUOTE = "'"


def safe_cell(value: Any) -> Any:
    """``value`` with an apostrophe in front when it is text a spreadsheet could run."""
    if isinstance(value, str) and value.startswith((*FORMULA_STARTS, _QUOTE)):
        return _QUOTE + value
    return value


def read_cell(text: str) -> str:
    """The value :func:`safe_cell` wrote as ``text`` (text not written that way is kept)."""
    if len(text) > 1 and text[0] == _QUOTE and text[1] in (*FORMULA_STARTS, _QUOTE):
        return text[1:]
    return text


class SafeWriter:
    """``csv.writer`` whose rows pass through :func:`safe_cell`."""

    def __init__(self, out: Any, **options: Any) -> None:
        self._writer = csv.writer(out, **options)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([safe_cell(cell) for cell in row])


class SafeDictWriter(csv.DictWriter):
    """``csv.DictWriter`` whose values pass through :func:`safe_cell`."""

    def writerow(self, rowdict: Mapping[str, Any]) -> Any:
        return super().writerow({key: safe_cell(value) for key, value in rowdict.items()})

    def writeheader(self) -> Any:
        return super().writerow({name: name for name in self.fieldnames})

"""The CSV formula rule: nothing written starts a formula, and reading undoes it exactly."""

from __future__ import annotations

import csv
import io

from hypothesis import given
from hypothesis import strategies as st

from safeguard.domain.csvcells import FORMULA_STARTS, SafeWriter, read_cell, safe_cell

_cells = st.text(st.sampled_from(["=", "+", "-", "@", "\t", "\r", "'", "a", "1", " "]), max_size=6)


@given(_cells)
def test_no_written_cell_starts_a_formula_and_reading_undoes_the_rule(value: str) -> None:
    written = safe_cell(value)
    assert not written.startswith(FORMULA_STARTS)
    assert read_cell(written) == value


@given(st.lists(_cells, min_size=1, max_size=5))
def test_the_safe_writer_writes_rows_that_read_back(row: list[str]) -> None:
    out = io.StringIO()
    SafeWriter(out).writerow(row)
    (cells,) = list(csv.reader(io.StringIO(out.getvalue())))
    assert [read_cell(cell) for cell in cells] == row
    assert not any(cell.startswith(FORMULA_STARTS) for cell in cells)

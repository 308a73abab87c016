"""Server-side SVG charts: well-formed, escaped, bars in proportion, whole-number gridlines."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from hypothesis import given, settings
from hypothesis import strategies as st

from safeguard.outcomes.charts import _nice_max, bar_chart

NS = "{http://www.w3.org/2000/svg}"


def test_bars_are_in_proportion_and_labels_are_escaped() -> None:
    svg = bar_chart("<script>x</script>", ["Jan", "<b>"], [("A & B", [10, 5])])
    root = ET.fromstring(svg)  # well-formed XML
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    bars = [r for r in root.iter(f"{NS}rect") if r.find(f"{NS}title") is not None]
    heights = [float(r.get("height")) for r in bars]
    assert abs(heights[0] - 2 * heights[1]) < 0.2
    assert "style" not in svg  # presentation attributes only (the page's CSP)


@settings(deadline=None)
@given(st.integers(0, 10**9))
def test_the_axis_top_is_a_multiple_of_four_at_or_above_the_peak(value: int) -> None:
    top = _nice_max(value)
    assert top >= value and top % 4 == 0 and top <= max(8, 10 * value)

"""Charts drawn on the server as SVG (no script, no CDN, no inline CSS: presentation attributes
only, so the page's Content-Security-Policy holds). Every label is escaped."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

PALETTE = ("#4c78a8", "#f58518", "#54a24b", "#e45756")
INK, GRID = "#d8dde3", "#3a4048"


def _nice_max(value: int) -> int:
    """The smallest 4 x (1, 2 or 5 x 10^k) at or above ``value``: four whole-number gridlines."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if 4 * step * factor >= value:
                return 4 * step * factor
        step *= 10


def bar_chart(
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[int]]],
    width: int = 640,
    height: int = 260,
) -> str:
    """Grouped vertical bars: one group per label, one bar per series."""
    left, right, top, bottom = 44, 10, 28, 52
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = _nice_max(max([v for _, values in series for v in values] or [0]))
    groups = max(1, len(labels))
    group_w = plot_w / groups
    bar_w = max(1.0, group_w * 0.8 / max(1, len(series)))
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<text x="{left}" y="16" fill="{INK}" font-size="13" font-weight="bold">'
        f"{escape(title)}</text>",
    ]
    for i in range(5):
        value = peak * i // 4  # exact: peak is a multiple of 4
        y = top + plot_h - plot_h * i / 4
        out.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" fill="{INK}" font-size="10" '
            f'text-anchor="end">{value:,}</text>'
        )
    for g, label in enumerate(labels):
        x0 = left + g * group_w + group_w * 0.1
        for s, (name, values) in enumerate(series):
            value = values[g] if g < len(values) else 0
            h = plot_h * value / peak if peak else 0
            out.append(
                f'<rect x="{x0 + s * bar_w:.1f}" y="{top + plot_h - h:.1f}" '
                f'width="{bar_w:.1f}" height="{h:.1f}" fill="{PALETTE[s % len(PALETTE)]}">'
                f"<title>{escape(name)}, {escape(label)}: {value:,}</title></rect>"
            )
        out.append(
            f'<text x="{left + g * group_w + group_w / 2:.1f}" y="{top + plot_h + 14}" '
            f'fill="{INK}" font-size="10" text-anchor="middle">{escape(label[:14])}</text>'
        )
    for s, (name, _) in enumerate(series):
        x = left + s * 170
        out.append(
            f'<rect x="{x}" y="{height - 18}" width="10" height="10" '
            f'fill="{PALETTE[s % len(PALETTE)]}"/>'
            f'<text x="{x + 14}" y="{height - 9}" fill="{INK}" font-size="11">{escape(name)}</text>'
        )
    out.append("</svg>")
    return "".join(out)

"""The built-in layouts of the statistics and their renderings (text, JSON, CSV, HTML).

- ``snapshot``: the block forces publish ("Children safeguarded: 399 / Arrests: 682 / ...");
- ``full``: every statistic with its definition and count-once rule;
- ``yoy``: each statistic against the same period a year before ("82 more crimes solved than
  the same period last year");
- ``timing``: days from referral to arrest (each person's first arrest in the period) and from
  referral to outcome (each crime);
- ``outcomes``: crimes by Home Office outcome type.
"""

from __future__ import annotations

import csv
import html
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from statistics import mean, median

from safeguard.outcomes.codes import OUTCOME_TYPES
from safeguard.outcomes.periods import Period
from safeguard.outcomes.statistics import BY_KEY, STATISTICS

LAYOUTS = ("snapshot", "full", "yoy", "timing", "outcomes")
FORMATS = ("text", "json", "csv", "html")
SNAPSHOT = (
    "children_safeguarded",
    "arrests",
    "premises_searched",
    "warrants_executed",
    "people_charged",
    "registered_sex_offenders",
    "contact_abuse",
    "positions_of_trust",
)
#: Nouns for year-on-year sentences ("82 more crimes solved").
NOUNS = {
    "children_safeguarded": "children safeguarded",
    "arrests": "people arrested",
    "premises_searched": "premises searched",
    "warrants_executed": "warrants executed",
    "people_charged": "people charged",
    "registered_sex_offenders": "registered sex offenders",
    "contact_abuse": "people with contact abuse",
    "positions_of_trust": "people in positions of trust",
    "warrants_applied": "warrants applied for",
    "people_interviewed": "people interviewed",
    "devices_seized": "devices seized",
    "people_convicted": "people convicted",
    "custodial_years": "years of custodial sentences",
    "victims_identified": "victims identified",
    "crimes_solved": "crimes solved",
}


@dataclass(frozen=True)
class Figures:
    period: Period
    scope: str
    values: Mapping[str, int]


@dataclass(frozen=True)
class Delay:
    """Days from a referral's receipt to a later event."""

    what: str
    days: tuple[float, ...]

    def summary(self) -> dict[str, float | int | None]:
        ordered = sorted(self.days)
        if not ordered:
            return {"count": 0, "median_days": None, "mean_days": None, "p90_days": None}
        p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
        return {
            "count": len(ordered),
            "median_days": round(median(ordered), 1),
            "mean_days": round(mean(ordered), 1),
            "p90_days": round(p90, 1),
        }


def first_delays(rows: Sequence[tuple[str, datetime, datetime]]) -> tuple[float, ...]:
    """Days from referral to the first event of each key (a person's first arrest)."""
    first: dict[str, tuple[datetime, datetime]] = {}
    for key, at, received in rows:
        if key not in first or at < first[key][0]:
            first[key] = (at, received)
    return tuple((at - received).total_seconds() / 86400 for at, received in first.values())


@dataclass(frozen=True)
class Table:
    layout: str
    title: str
    period: Period
    scope: str
    columns: tuple[str, ...]
    rows: tuple[tuple[object, ...], ...]
    lines: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)


def snapshot(figures: Figures) -> Table:
    rows = tuple((BY_KEY[k].label, figures.values[k]) for k in SNAPSHOT if k in figures.values)
    lines = tuple(f"{label}: {value:,}" for label, value in rows)
    pct = figures.values.get("arrested_not_previously_known_pct")
    extra: tuple[str, ...] = ()
    if pct is not None and figures.values.get("arrests"):
        extra = (f"{pct} % of those arrested not previously known to law enforcement",)
    return Table(
        "snapshot",
        "Statistics snapshot",
        figures.period,
        figures.scope,
        ("statistic", "value"),
        rows,
        lines + extra,
    )


def full(figures: Figures) -> Table:
    rows = tuple(
        (s.label, figures.values[s.key], s.definition, s.count_once)
        for s in STATISTICS
        if s.key in figures.values
    )
    return Table(
        "full",
        "Statistics with definitions",
        figures.period,
        figures.scope,
        ("statistic", "value", "definition", "counted once"),
        rows,
        tuple(f"{label}: {value:,}" for label, value, *_ in rows),
    )


def sentence(key: str, now: int, before: int) -> str:
    noun = NOUNS.get(key, BY_KEY[key].label.lower())
    diff = now - before
    if diff == 0:
        return f"the same number of {noun} as the same period last year"
    return f"{abs(diff):,} {'more' if diff > 0 else 'fewer'} {noun} than the same period last year"


def year_on_year(current: Figures, previous: Figures) -> Table:
    rows = []
    for stat in STATISTICS:
        if stat.key in NOUNS and stat.key in current.values:
            now, before = current.values[stat.key], previous.values.get(stat.key, 0)
            rows.append((stat.label, now, before, now - before, sentence(stat.key, now, before)))
    return Table(
        "yoy",
        "Year on year",
        current.period,
        current.scope,
        ("statistic", "this period", "same period last year", "change", "in words"),
        tuple(rows),
        tuple(f"{r[0]}: {r[1]:,} ({r[4]})" for r in rows),
        (f"compared with {previous.period.label()}",),
    )


def timing(period: Period, scope: str, delays: Sequence[Delay]) -> Table:
    rows = []
    for delay in delays:
        s = delay.summary()
        rows.append((delay.what, s["count"], s["median_days"], s["mean_days"], s["p90_days"]))
    lines = tuple(
        f"{r[0]}: median {r[2]} days, mean {r[3]} days, 90th percentile {r[4]} days (n={r[1]})"
        if r[1]
        else f"{r[0]}: no records with a referral date"
        for r in rows
    )
    return Table(
        "timing",
        "Time from referral",
        period,
        scope,
        ("measure", "count", "median days", "mean days", "90th percentile days"),
        tuple(rows),
        lines,
    )


def outcomes_table(period: Period, scope: str, by_code: Mapping[int, int]) -> Table:
    rows = tuple(
        (code, OUTCOME_TYPES[code].label, by_code.get(code, 0))
        for code in sorted(OUTCOME_TYPES)
        if by_code.get(code)
    )
    return Table(
        "outcomes",
        "Crimes by outcome type",
        period,
        scope,
        ("outcome", "description", "crimes"),
        rows,
        tuple(f"Outcome {c} ({label}): {n:,}" for c, label, n in rows),
    )


# --- rendering -----------------------------------------------------------------------------------

_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA) else text


def render(table: Table, fmt: str) -> str:
    if fmt == "text":
        head = [f"{table.title}, {table.period.label()} ({table.period.tz}), {table.scope}"]
        return "\n".join([*head, *table.lines, *table.notes]) + "\n"
    if fmt == "json":
        return json.dumps(as_dict(table), indent=2, ensure_ascii=False) + "\n"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(table.columns)
        for row in table.rows:
            writer.writerow([_cell(v) for v in row])
        return out.getvalue()
    if fmt == "html":
        return html_page(table)
    raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")


def as_dict(table: Table) -> dict[str, object]:
    return {
        "layout": table.layout,
        "title": table.title,
        "period": {
            "from": table.period.first.isoformat(),
            "to": table.period.last.isoformat(),
            "tz": table.period.tz,
        },
        "scope": table.scope,
        "rows": [dict(zip(table.columns, row, strict=True)) for row in table.rows],
        "notes": list(table.notes),
    }


def html_table(table: Table) -> str:
    e = html.escape
    head = "".join(f"<th>{e(c)}</th>" for c in table.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{e(str(v) if v is not None else '')}</td>" for v in row) + "</tr>"
        for row in table.rows
    )
    notes = "".join(f"<p>{e(n)}</p>" for n in table.notes)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{notes}"


def html_page(table: Table) -> str:
    e = html.escape
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{e(table.title)}</title></head><body>"
        f"<h1>{e(table.title)}</h1><p>{e(table.period.label())} ({e(table.period.tz)}), "
        f"{e(table.scope)}</p>{html_table(table)}</body></html>\n"
    )

"""Layouts: the year-on-year sentence, timing summaries, and safe CSV/HTML renderings."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from safeguard.outcomes.layouts import (
    Delay,
    Figures,
    Table,
    first_delays,
    render,
    sentence,
    snapshot,
    year_on_year,
)
from safeguard.outcomes.periods import Period

PERIOD = Period(date(2022, 12, 1), date(2023, 11, 30))


def test_year_on_year_says_how_many_more_crimes_were_solved() -> None:
    assert sentence("crimes_solved", 182, 100) == (
        "82 more crimes solved than the same period last year"
    )
    assert (
        sentence("arrests", 100, 116) == "16 fewer people arrested than the same period last year"
    )
    assert (
        sentence("arrests", 5, 5)
        == "the same number of people arrested as the same period last year"
    )
    table = year_on_year(
        Figures(PERIOD, "team OCAIT", {"arrests": 116, "crimes_solved": 182}),
        Figures(PERIOD.year_before(), "team OCAIT", {"arrests": 100, "crimes_solved": 100}),
    )
    assert (
        "Crimes solved: 182 (82 more crimes solved than the same period last year)" in table.lines
    )
    assert table.notes == ("compared with 01 Dec 2021 to 30 Nov 2022",)


def test_first_delays_take_each_persons_first_event() -> None:
    received = datetime(2023, 1, 1, tzinfo=UTC)
    rows = [
        ("p1", received + timedelta(days=10), received),
        ("p1", received + timedelta(days=4), received),
        ("p2", received + timedelta(days=30), received),
    ]
    assert sorted(first_delays(rows)) == [4.0, 30.0]
    summary = Delay("referral to arrest", (4.0, 30.0)).summary()
    assert summary == {"count": 2, "median_days": 17.0, "mean_days": 17.0, "p90_days": 30.0}
    assert Delay("x", ()).summary()["count"] == 0


def test_csv_cells_cannot_be_formulas_and_html_is_escaped() -> None:
    table = Table("t", "<T>", PERIOD, "s", ("a", "b"), (("=HYPERLINK(1)", "-2"), ("@x", "<i>")))
    csv = render(table, "csv").splitlines()
    assert csv[1] == "'=HYPERLINK(1),'-2" and csv[2] == "'@x,<i>"
    html = render(table, "html")
    assert "<i>" not in html and "&lt;i&gt;" in html and "&lt;T&gt;" in html


def test_the_snapshot_block_reads_as_published() -> None:
    values = {
        "children_safeguarded": 399,
        "arrests": 682,
        "premises_searched": 633,
        "warrants_executed": 651,
        "people_charged": 147,
        "registered_sex_offenders": 46,
        "contact_abuse": 32,
        "positions_of_trust": 104,
        "arrested_not_previously_known_pct": 93,
    }
    text = render(snapshot(Figures(PERIOD, "all records", values)), "text").splitlines()
    assert text[1:4] == ["Children safeguarded: 399", "Arrests: 682", "Premises searched: 633"]
    assert text[-1] == "93 % of those arrested not previously known to law enforcement"

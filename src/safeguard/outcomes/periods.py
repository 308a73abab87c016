"""Calendar periods in a time zone.

A period is two calendar dates, both included, read in the unit's time zone (Europe/London by
default): it runs from local midnight at the start of the first day to local midnight at the end
of the last, so a day in British Summer Time starts at 23:00 UTC the evening before. Stored times
are UTC; only the bounds move.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_TZ = "Europe/London"


class PeriodError(ValueError):
    pass


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise PeriodError(f"unknown time zone {name!r}") from None


@dataclass(frozen=True)
class Period:
    first: date
    last: date
    tz: str = DEFAULT_TZ

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise PeriodError(f"the period ends ({self.last}) before it starts ({self.first})")
        zone(self.tz)

    @property
    def start_utc(self) -> datetime:
        return datetime.combine(self.first, time(), zone(self.tz)).astimezone(UTC)

    @property
    def end_utc(self) -> datetime:
        """Exclusive: local midnight after the last day."""
        following = self.last + timedelta(days=1)
        return datetime.combine(following, time(), zone(self.tz)).astimezone(UTC)

    def contains(self, moment: datetime) -> bool:
        if moment.tzinfo is None:
            raise PeriodError("a time without a time zone cannot be placed in a period")
        return self.start_utc <= moment < self.end_utc

    def year_before(self) -> Period:
        """The same days a year earlier (29 February becomes 28 February)."""
        return Period(_year_back(self.first), _year_back(self.last), self.tz)

    def months(self) -> list[Period]:
        """The calendar months the period touches, clipped to it."""
        out: list[Period] = []
        start = self.first
        while start <= self.last:
            following = date(start.year + (start.month == 12), start.month % 12 + 1, 1)
            out.append(Period(start, min(self.last, following - timedelta(days=1)), self.tz))
            start = following
        return out

    def label(self) -> str:
        return f"{self.first:%d %b %Y} to {self.last:%d %b %Y}"


def _year_back(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def parse_period(first: str, last: str, tz: str = DEFAULT_TZ) -> Period:
    try:
        return Period(date.fromisoformat(first), date.fromisoformat(last), tz)
    except ValueError as error:
        if isinstance(error, PeriodError):
            raise
        raise PeriodError(f"dates are YYYY-MM-DD: {error}") from None


def parse_moment(text: str, tz: str = DEFAULT_TZ) -> datetime:
    """An ISO date-time; one without an offset is local time in ``tz`` (a date alone is its local
    noon, so that it falls on that day in every time zone's period). Returned in UTC."""
    text = text.strip()
    try:
        if len(text) == 10:
            moment = datetime.combine(date.fromisoformat(text), time(12), zone(tz))
        else:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise PeriodError(
            f"{text!r} is not a date or date-time (YYYY-MM-DD[THH:MM[+HH:MM]])"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone(tz))
    return moment.astimezone(UTC)

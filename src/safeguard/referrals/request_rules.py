"""Communications-data requests: their states, time windows and deadlines. Pure.

Rules:
- A request goes drafted -> authorised -> sent -> returned | nil_return | expired. A drafted or
  authorised request may also expire (its deadline passed before it was sent); a sent request
  expires only if no return arrives before its deadline. Returned, nil_return and expired are
  final. Authorisation names the authorising officer, who may not be the officer who drafted it
  (Investigatory Powers Act 2016, Part 3: a designated person independent of the request).
- The window asked about is the event instant minus/plus ``margin`` (default 1 minute; clocks
  of the ESP and the provider differ by seconds); an identifier without an event time (an
  email, a phone) asks about the referral's incident time, or the 30 days before receipt.
- The deadline is the provider's retention period counted from the oldest instant asked about
  (the window's start): after it the provider no longer holds the data.
- A request is overdue when it is still open and its deadline has passed, or falls within
  ``warn`` (default 7 days) of now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

DRAFTED = "drafted"
AUTHORISED = "authorised"
SENT = "sent"
RETURNED = "returned"
NIL_RETURN = "nil_return"
EXPIRED = "expired"

STATES = (DRAFTED, AUTHORISED, SENT, RETURNED, NIL_RETURN, EXPIRED)
FINAL = frozenset({RETURNED, NIL_RETURN, EXPIRED})
MOVES: dict[str, frozenset[str]] = {
    DRAFTED: frozenset({AUTHORISED, EXPIRED}),
    AUTHORISED: frozenset({SENT, EXPIRED}),
    SENT: frozenset({RETURNED, NIL_RETURN, EXPIRED}),
}

DEFAULT_MARGIN = timedelta(minutes=1)
DEFAULT_LOOKBACK = timedelta(days=30)
DEFAULT_WARN = timedelta(days=7)


@dataclass(frozen=True)
class Refused:
    reason: str


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime


def check_move(
    state: str, to: str, *, actor: str | None = None, drafted_by: str | None = None
) -> Refused | None:
    """None when ``state -> to`` is allowed for ``actor``, else why not."""
    if to not in STATES:
        return Refused(f"unknown request state {to!r}")
    if state in FINAL:
        return Refused(f"the request is already {state}")
    if to not in MOVES.get(state, frozenset()):
        return Refused(f"a {state} request cannot become {to}")
    if to == AUTHORISED and actor is not None and drafted_by is not None and actor == drafted_by:
        return Refused("a request must be authorised by someone other than who drafted it")
    return None


def request_window(
    event_at: datetime | None,
    incident_at: datetime | None,
    received_at: datetime,
    margin: timedelta = DEFAULT_MARGIN,
    lookback: timedelta = DEFAULT_LOOKBACK,
) -> Window:
    """The UTC window to ask the provider about (see the module rules)."""
    if event_at is not None:
        return Window(event_at - margin, event_at + margin)
    if incident_at is not None:
        return Window(incident_at - margin, incident_at + margin)
    return Window(received_at - lookback, received_at)


def deadline(window: Window, retention_days: int) -> datetime:
    """When the provider's retention runs out for the window's oldest instant."""
    return window.start + timedelta(days=retention_days)


def is_overdue(state: str, due: datetime | None, now: datetime, warn: timedelta = DEFAULT_WARN):
    """Open, with a deadline passed or within ``warn`` of ``now``."""
    return state not in FINAL and due is not None and due - warn <= now


def should_expire(state: str, due: datetime | None, now: datetime) -> bool:
    """An open request whose deadline has passed expires (sent ones too: no return came)."""
    return state not in FINAL and due is not None and due < now

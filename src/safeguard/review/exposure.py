"""Wellbeing: how much each reviewer has seen (from the audit log), and when to take a break."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from safeguard.review.media import FULL_VIEW, REVEAL
from safeguard.review.settings import ReviewSettings
from safeguard.store import audit
from safeguard.store import users as user_store
from safeguard.store.review_models import User, WebSession

EXPOSURES = (REVEAL, FULL_VIEW)


@dataclass(frozen=True)
class Exposure:
    today: int
    week: int


@dataclass(frozen=True)
class BreakState:
    due: bool
    reveals_since_break: int
    minutes_since_break: int


def exposure(session: Session, user_id: int, now: datetime | None = None) -> Exposure:
    """Items revealed or viewed full size since midnight and since Monday (UTC); a reveal and a
    full view of the same item count once."""
    now = now or datetime.now(UTC)
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    week = day - timedelta(days=day.weekday())
    return Exposure(
        audit.items_seen_since(session, user_id, EXPOSURES, day),
        audit.items_seen_since(session, user_id, EXPOSURES, week),
    )


def break_state(
    session: Session, web_session: WebSession, settings: ReviewSettings, now: datetime | None = None
) -> BreakState:
    now = now or datetime.now(UTC)
    since = web_session.break_at.replace(tzinfo=web_session.break_at.tzinfo or UTC)
    reveals = audit.items_seen_since(session, web_session.user_id, EXPOSURES, since)
    minutes = int((now - since).total_seconds() // 60)
    due = reveals >= settings.break_after_reveals or minutes >= settings.break_after_minutes
    return BreakState(due, reveals, minutes)


def break_message(state: BreakState) -> str:
    """The break prompt's sentence, in words that read right for any count and time. Pure."""
    n = state.reveals_since_break
    items = f"{n} image{'s' if n != 1 else ''}"
    minutes = state.minutes_since_break
    if minutes < 1:
        when = "less than a minute ago"
    elif minutes < 120:
        when = f"{minutes} minute{'s' if minutes != 1 else ''} ago"
    else:
        when = f"{minutes // 60} hours {minutes % 60} minutes ago"
    return f"You have looked at {items} unblurred since your last break, {when}."


class BreakRequired(PermissionError):
    """The unit enforces breaks and one is due: no more unblurred views until it is taken."""


def require_no_break_due(
    session: Session, web_session: WebSession, settings: ReviewSettings
) -> None:
    if settings.enforce_breaks and break_state(session, web_session, settings).due:
        raise BreakRequired("a break is due: take it before revealing more")


def take_break(session: Session, web_session: WebSession, user: User) -> None:
    web_session.break_at = datetime.now(UTC)
    audit.append(session, "break", user_id=user.id, username=user.username)


def team_exposure(session: Session, supervisor: User) -> list[tuple[User, Exposure]]:
    """Exposure of everyone who shares a case with the supervisor (and the supervisor)."""
    people: dict[int, User] = {supervisor.id: supervisor}
    for case in user_store.assigned_cases(session, supervisor.id):
        for user in user_store.case_users(session, case.id):
            if user.role in ("reviewer", "supervisor"):
                people[user.id] = user
    return [(u, exposure(session, u.id)) for u in sorted(people.values(), key=lambda u: u.username)]

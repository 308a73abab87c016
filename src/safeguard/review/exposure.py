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
    """Reveals and full views since midnight and since Monday (UTC)."""
    now = now or datetime.now(UTC)
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    week = day - timedelta(days=day.weekday())
    return Exposure(
        audit.count_since(session, user_id, EXPOSURES, day),
        audit.count_since(session, user_id, EXPOSURES, week),
    )


def break_state(
    session: Session, web_session: WebSession, settings: ReviewSettings, now: datetime | None = None
) -> BreakState:
    now = now or datetime.now(UTC)
    since = web_session.break_at.replace(tzinfo=web_session.break_at.tzinfo or UTC)
    reveals = audit.count_since(session, web_session.user_id, EXPOSURES, since)
    minutes = int((now - since).total_seconds() // 60)
    due = reveals >= settings.break_after_reveals or minutes >= settings.break_after_minutes
    return BreakState(due, reveals, minutes)


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

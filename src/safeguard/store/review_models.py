"""Review tables: users and their cases, web sessions, votes, outcomes, splits, the audit log.

Imported at the bottom of ``store.models`` so that one ``Base.metadata`` holds every table.
Review rows are keyed by (exhibit, media), never by ``exhibit_media`` or ``dup_groups`` ids:
matching may be re-run at any time and replaces those rows, and grades must survive it.
Previews live in ``media_previews`` (see ``store.video_models``): kinds "thumb" and "full" for
pictures, "keyframe" for videos.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from safeguard.store.models import Base, utcnow

#: MediaPreview kinds written by review preparation.
THUMB = "thumb"
FULL = "full"


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    #: argon2id hash (PHC string).
    password_hash: Mapped[str] = mapped_column(String(200))
    #: admin, reviewer, supervisor or analyst.
    role: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CaseAssignment(Base):
    __tablename__ = "case_assignments"
    __table_args__ = (UniqueConstraint("user_id", "case_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)


class WebSession(Base):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is stored."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    #: When the user last took a break (sign-in counts): the break prompt counts from here.
    break_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Vote(Base):
    """One reviewer's grade of one media item in one exhibit; one vote per reviewer and item."""

    __tablename__ = "review_votes"
    __table_args__ = (UniqueConstraint("exhibit_id", "media_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    exhibit_id: Mapped[int] = mapped_column(ForeignKey("exhibits.id"), index=True)
    media_id: Mapped[int] = mapped_column(ForeignKey("media.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    category: Mapped[str] = mapped_column(String(20))
    victim_identified: Mapped[bool] = mapped_column(Boolean, default=False)
    series: Mapped[bool] = mapped_column(Boolean, default=False)
    self_generated: Mapped[bool] = mapped_column(Boolean, default=False)
    ai_generated: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ModerationDecision(Base):
    """A supervisor's grade of a disputed item: final, whatever the votes say."""

    __tablename__ = "review_decisions"
    __table_args__ = (UniqueConstraint("exhibit_id", "media_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    exhibit_id: Mapped[int] = mapped_column(ForeignKey("exhibits.id"), index=True)
    media_id: Mapped[int] = mapped_column(ForeignKey("media.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    category: Mapped[str] = mapped_column(String(20))
    victim_identified: Mapped[bool] = mapped_column(Boolean, default=False)
    series: Mapped[bool] = mapped_column(Boolean, default=False)
    self_generated: Mapped[bool] = mapped_column(Boolean, default=False)
    ai_generated: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ReviewOutcome(Base):
    """Where review of one item stands, recomputed from its votes after every vote or decision.

    ``state`` is "pending" (too few votes), "disputed" (votes disagree: moderation queue) or
    "final". The case report counts final outcomes under their category.
    """

    __tablename__ = "review_outcomes"
    __table_args__ = (UniqueConstraint("exhibit_id", "media_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    exhibit_id: Mapped[int] = mapped_column(ForeignKey("exhibits.id"), index=True)
    media_id: Mapped[int] = mapped_column(ForeignKey("media.id"))
    state: Mapped[str] = mapped_column(String(20))
    category: Mapped[str | None] = mapped_column(String(20))
    #: "consensus" or "moderation" once final.
    method: Mapped[str | None] = mapped_column(String(20))
    votes: Mapped[int] = mapped_column(Integer, default=0)
    victim_identified: Mapped[bool] = mapped_column(Boolean, default=False)
    series: Mapped[bool] = mapped_column(Boolean, default=False)
    self_generated: Mapped[bool] = mapped_column(Boolean, default=False)
    ai_generated: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ReviewSplit(Base):
    """A media item a reviewer took out of its near-duplicate group: it becomes its own card."""

    __tablename__ = "review_splits"
    __table_args__ = (UniqueConstraint("exhibit_id", "media_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    exhibit_id: Mapped[int] = mapped_column(ForeignKey("exhibits.id"), index=True)
    media_id: Mapped[int] = mapped_column(ForeignKey("media.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AuditEvent(Base):
    """One entry of the append-only, hash-chained audit log.

    ``body`` is the event's canonical JSON; ``hash`` = SHA-256(prev_hash + body). The other
    columns repeat fields of the body for queries, and verification checks that they agree.
    """

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_user_action_at", "user_id", "action", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    #: UTC ISO 8601 with microseconds and "Z", so text order is time order.
    at: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(40))
    case_id: Mapped[int | None] = mapped_column(Integer, index=True)
    body: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The newest entry's sequence number and hash: deleting the last entry is detected too."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))

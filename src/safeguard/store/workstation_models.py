"""Review workstation tables added by migration 0016: remembered skips and reviewers' notes.

Keyed like the other review rows by (exhibit, media) or by card key, never by triage row ids.
Imported at the bottom of ``store.models`` so that one ``Base.metadata`` holds every table.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from safeguard.store.models import Base, utcnow


class ReviewSkip(Base):
    """A card a reviewer skipped: it stays at the end of their queue until they grade it."""

    __tablename__ = "review_skips"
    __table_args__ = (UniqueConstraint("user_id", "card_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    #: "<exhibit id>-g<group>", "-m<media>" or "-p<bank entry>" (see review.queue).
    card_key: Mapped[str] = mapped_column(String(40))
    skipped_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ReviewNote(Base):
    """A reviewer's note on one item, shown to the other reviewers and the supervisor."""

    __tablename__ = "review_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    exhibit_id: Mapped[int] = mapped_column(ForeignKey("exhibits.id"), index=True)
    media_id: Mapped[int] = mapped_column(ForeignKey("media.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

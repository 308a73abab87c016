"""SQLAlchemy models: the case store.

Media are content (one row per SHA-256, shared by every exhibit that holds the same bytes);
FileRecords are occurrences of content at a path in an exhibit. What the banks said about a
media item is recorded per exhibit (ExhibitMedia, Match), because banks change over time and the
charging report must show what graded an item when it was triaged.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class Case(Base):
    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(200), unique=True)
    title: Mapped[str | None] = mapped_column(String(500))
    scheme: Mapped[str] = mapped_column(String(40), default="uk")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    exhibits: Mapped[list[Exhibit]] = relationship(back_populates="case", order_by="Exhibit.id")


class Exhibit(Base):
    __tablename__ = "exhibits"
    __table_args__ = (UniqueConstraint("case_id", "reference"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    reference: Mapped[str] = mapped_column(String(200))
    source_path: Mapped[str] = mapped_column(Text)
    #: "ingesting" until every file is stored and matching has run, then "complete".
    state: Mapped[str] = mapped_column(String(20), default="ingesting")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    case: Mapped[Case] = relationship(back_populates="exhibits")


class Media(Base):
    __tablename__ = "media"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    sha1: Mapped[str] = mapped_column(String(40), index=True)
    md5: Mapped[str] = mapped_column(String(32), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    mime: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(10))
    format: Mapped[str | None] = mapped_column(String(40))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    pdq: Mapped[str | None] = mapped_column(String(64))
    pdq_quality: Mapped[int | None] = mapped_column(Integer)
    #: The eight rotations/flips of the PDQ hash, space separated, original first.
    pdq_dihedral: Mapped[str | None] = mapped_column(Text)
    exif_make: Mapped[str | None] = mapped_column(String(200))
    exif_model: Mapped[str | None] = mapped_column(String(200))
    exif_serial: Mapped[str | None] = mapped_column(String(200))
    exif_date_taken: Mapped[str | None] = mapped_column(String(40))
    gps_lat: Mapped[float | None] = mapped_column(Float)
    gps_lon: Mapped[float | None] = mapped_column(Float)
    duration_s: Mapped[float | None] = mapped_column(Float)
    video_codec: Mapped[str | None] = mapped_column(String(40))
    fps: Mapped[float | None] = mapped_column(Float)
    #: Why the content could not be decoded (digests are still valid).
    decode_error: Mapped[str | None] = mapped_column(Text)


class FileRecord(Base):
    __tablename__ = "file_records"
    __table_args__ = (UniqueConstraint("exhibit_id", "logical_path"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    exhibit_id: Mapped[int] = mapped_column(ForeignKey("exhibits.id"), index=True)
    #: Position in the exhibit walk; the walk is deterministic, so resume can rely on it.
    seq: Mapped[int] = mapped_column(Integer)
    logical_path: Mapped[str] = mapped_column(Text)
    media_id: Mapped[int | None] = mapped_column(ForeignKey("media.id"), index=True)
    size: Mapped[int | None] = mapped_column(BigInteger)
    modified: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: Why this file could not be read or was rejected (traversal, bomb, unreadable...).
    error: Mapped[str | None] = mapped_column(Text)

    media: Mapped[Media | None] = relationship()


class Bank(Base):
    __tablename__ = "banks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    scheme: Mapped[str] = mapped_column(String(40), default="uk")
    source: Mapped[str | None] = mapped_column(Text)
    format: Mapped[str | None] = mapped_column(String(20))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class BankEntry(Base):
    __tablename__ = "bank_entries"
    __table_args__ = (
        Index("ix_bank_entries_md5", "md5"),
        Index("ix_bank_entries_sha1", "sha1"),
        Index("ix_bank_entries_sha256", "sha256"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("banks.id"), index=True)
    #: Line (or entry number) in the file it was imported from, for traceability.
    line: Mapped[int | None] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(20))
    md5: Mapped[str | None] = mapped_column(String(32))
    sha1: Mapped[str | None] = mapped_column(String(40))
    sha256: Mapped[str | None] = mapped_column(String(64))
    pdq: Mapped[str | None] = mapped_column(String(64))
    pdq_quality: Mapped[int | None] = mapped_column(Integer)
    victim_identified: Mapped[bool] = mapped_column(Boolean, default=False)
    series: Mapped[str | None] = mapped_column(String(200))
    self_generated: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str | None] = mapped_column(Text)
    external_id: Mapped[str | None] = mapped_column(String(200))

    bank: Mapped[Bank] = relationship()


class ExhibitMedia(Base):
    """One media item as triaged within one exhibit: its status, grade and near-duplicate group."""

    __tablename__ = "exhibit_media"
    __table_args__ = (UniqueConstraint("exhibit_id", "media_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    exhibit_id: Mapped[int] = mapped_column(ForeignKey("exhibits.id"), index=True)
    media_id: Mapped[int] = mapped_column(ForeignKey("media.id"), index=True)
    status: Mapped[str] = mapped_column(String(30))
    category: Mapped[str | None] = mapped_column(String(20))
    #: The match that decided an automatic grade (the citation in the charging report).
    deciding_match_id: Mapped[int | None] = mapped_column(ForeignKey("matches.id"))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("dup_groups.id"), index=True)

    media: Mapped[Media] = relationship()


class Match(Base):
    __tablename__ = "matches"
    __table_args__ = (UniqueConstraint("exhibit_id", "media_id", "bank_entry_id", "hash_kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    exhibit_id: Mapped[int] = mapped_column(ForeignKey("exhibits.id"), index=True)
    media_id: Mapped[int] = mapped_column(ForeignKey("media.id"), index=True)
    bank_entry_id: Mapped[int] = mapped_column(ForeignKey("bank_entries.id"))
    kind: Mapped[str] = mapped_column(String(20))
    hash_kind: Mapped[str] = mapped_column(String(10))
    distance: Mapped[int] = mapped_column(Integer)
    #: Which of the eight rotations/flips of the media's PDQ matched (0 = as stored).
    variant: Mapped[int | None] = mapped_column(Integer)

    bank_entry: Mapped[BankEntry] = relationship()


class DupGroup(Base):
    """Near-duplicates among an exhibit's new media: a reviewer grades one representative."""

    __tablename__ = "dup_groups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    exhibit_id: Mapped[int] = mapped_column(ForeignKey("exhibits.id"), index=True)
    representative_media_id: Mapped[int] = mapped_column(ForeignKey("media.id"))
    size: Mapped[int] = mapped_column(Integer)


from safeguard.store import outcome_models as _outcome_models  # noqa: E402,F401  (actions, stats)
from safeguard.store import referral_models as _referral_models  # noqa: E402,F401  (referrals)
from safeguard.store import review_models as _review_models  # noqa: E402,F401  (review tables)
from safeguard.store import server_models as _server_models  # noqa: E402,F401  (API tokens)
from safeguard.store import subject_models as _subject_models  # noqa: E402,F401  (subjects)
from safeguard.store import video_models as _video_models  # noqa: E402,F401  (video tables)

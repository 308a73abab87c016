"""Disk images behind exhibits: acquisition metadata and the result of verifying them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from safeguard.store.models import Base, utcnow


class ExhibitImage(Base):
    """One per exhibit ingested from a disk image (E01, raw, split raw)."""

    __tablename__ = "exhibit_images"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    exhibit_id: Mapped[int] = mapped_column(ForeignKey("exhibits.id"), unique=True)
    format: Mapped[str] = mapped_column(String(20))
    segments: Mapped[int] = mapped_column(Integer)
    media_size: Mapped[int] = mapped_column(BigInteger)
    bytes_per_sector: Mapped[int | None] = mapped_column(Integer)
    stored_md5: Mapped[str | None] = mapped_column(String(128))
    stored_sha1: Mapped[str | None] = mapped_column(String(128))
    case_number: Mapped[str | None] = mapped_column(Text)
    evidence_number: Mapped[str | None] = mapped_column(Text)
    examiner: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    #: As the image stores it (E01 keeps a free-text date).
    acquired: Mapped[str | None] = mapped_column(Text)
    acquisition_tool: Mapped[str | None] = mapped_column(Text)
    acquisition_os: Mapped[str | None] = mapped_column(Text)
    #: "verified", "mismatch", "unreadable", "computed"; None until verified (--verify).
    verification: Mapped[str | None] = mapped_column(String(20))
    verification_detail: Mapped[str | None] = mapped_column(Text)
    computed_md5: Mapped[str | None] = mapped_column(String(32))
    computed_sha1: Mapped[str | None] = mapped_column(String(40))
    verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

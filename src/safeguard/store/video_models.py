"""Video tables: vPDQ frames and keyframe strips of media, frame sets and segments of bank
entries, and where a matched video falls in the known one.

Imported at the bottom of ``store.models`` so that one ``Base.metadata`` holds every table.
The duration, size, codec and frame rate of a video are columns of ``Media`` itself.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Float, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from safeguard.store.models import Base

#: ``MediaPreview.kind`` of the evenly spaced keyframe strip of a video.
KEYFRAME = "keyframe"


class VideoFrame(Base):
    """One vPDQ feature of a media item: a sampled frame's PDQ and quality, and its time."""

    __tablename__ = "video_frames"

    media_id: Mapped[int] = mapped_column(
        ForeignKey("media.id", ondelete="CASCADE"), primary_key=True
    )
    frame_number: Mapped[int] = mapped_column(Integer, primary_key=True)
    quality: Mapped[int] = mapped_column(Integer)
    pdq: Mapped[str] = mapped_column(String(64))
    timestamp_s: Mapped[float] = mapped_column(Float)


class MediaPreview(Base):
    """Small pictures of a media item kept for review, e.g. a video's keyframe strip (JPEG)."""

    __tablename__ = "media_previews"

    media_id: Mapped[int] = mapped_column(
        ForeignKey("media.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    idx: Mapped[int] = mapped_column(Integer, primary_key=True)
    jpeg: Mapped[bytes] = mapped_column(LargeBinary)


class BankVideoFrame(Base):
    """One vPDQ frame of a known video (a bank entry), in the order the bank file gave it."""

    __tablename__ = "bank_video_frames"

    bank_entry_id: Mapped[int] = mapped_column(
        ForeignKey("bank_entries.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    frame_number: Mapped[int] = mapped_column(Integer)
    quality: Mapped[int] = mapped_column(Integer)
    pdq: Mapped[str] = mapped_column(String(64))
    timestamp_s: Mapped[float] = mapped_column(Float)


class BankSegment(Base):
    """A category that applies to part of a known video (a VICS segment)."""

    __tablename__ = "bank_segments"

    bank_entry_id: Mapped[int] = mapped_column(
        ForeignKey("bank_entries.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    start_s: Mapped[float] = mapped_column(Float)
    end_s: Mapped[float] = mapped_column(Float)
    category: Mapped[str] = mapped_column(String(20))


class VideoMatchDetail(Base):
    """How a vPDQ match lines up: shares of frames matched, and for a clip where it falls."""

    __tablename__ = "video_match_details"

    match_id: Mapped[int] = mapped_column(
        ForeignKey("matches.id", ondelete="CASCADE"), primary_key=True
    )
    #: Share (%) of the media item's frames found in the known video, and the reverse.
    query_percent: Mapped[float] = mapped_column(Float)
    target_percent: Mapped[float] = mapped_column(Float)
    #: The media item is a part (clip) of the known video.
    is_clip: Mapped[bool] = mapped_column(Boolean)
    #: Add to a time in the media item to get the time in the known video.
    offset_s: Mapped[float | None] = mapped_column(Float)
    #: The part of the known video the media item covers.
    start_s: Mapped[float | None] = mapped_column(Float)
    end_s: Mapped[float | None] = mapped_column(Float)

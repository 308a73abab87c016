"""Video repositories: media frames and keyframe strips, bank frame sets and segments, and the
details of vPDQ matches. The tables are in ``store.video_models``."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice

from sqlalchemy import exists, insert, select
from sqlalchemy.orm import Session

from safeguard.domain.known import BankRecord, Segment, VideoFrameHash
from safeguard.hashing.video import FrameHash, VideoFacts
from safeguard.store.bulk import insert_ignoring_duplicates
from safeguard.store.models import Bank, BankEntry
from safeguard.store.sealed import seal, unseal
from safeguard.store.video_models import (
    KEYFRAME,
    BankSegment,
    BankVideoFrame,
    MediaPreview,
    VideoFrame,
    VideoMatchDetail,
)

#: Entries whose video parts are read back per query.
_READ_BATCH = 1000


# --- media -----------------------------------------------------------------------------------


def store_video_facts(session: Session, videos: Mapping[int, VideoFacts]) -> None:
    """Store the vPDQ frames and keyframe strip of each media id; rows present are kept."""
    frames = [
        {
            "media_id": media_id,
            "frame_number": f.frame_number,
            "quality": f.quality,
            "pdq": f.pdq,
            "timestamp_s": f.timestamp_s,
        }
        for media_id, facts in sorted(videos.items())
        for f in facts.frames
    ]
    previews = [  # sealed at rest, like review previews (store/sealed.py)
        {
            "media_id": media_id,
            "kind": KEYFRAME,
            "idx": idx,
            "jpeg": seal(session, media_id, KEYFRAME, idx, jpeg),
        }
        for media_id, facts in sorted(videos.items())
        for idx, jpeg in enumerate(facts.keyframes)
    ]
    insert_ignoring_duplicates(session, VideoFrame, frames, ["media_id", "frame_number"])
    insert_ignoring_duplicates(session, MediaPreview, previews, ["media_id", "kind", "idx"])


def media_frames(session: Session, media_ids: Iterable[int]) -> dict[int, list[FrameHash]]:
    """The stored vPDQ frames of each media id that has some, in frame order."""
    out: dict[int, list[FrameHash]] = defaultdict(list)
    ids = sorted(set(media_ids))
    for start in range(0, len(ids), _READ_BATCH):
        rows = session.execute(
            select(VideoFrame)
            .where(VideoFrame.media_id.in_(ids[start : start + _READ_BATCH]))
            .order_by(VideoFrame.media_id, VideoFrame.frame_number)
        ).scalars()
        for f in rows:
            out[f.media_id].append(FrameHash(f.frame_number, f.quality, f.pdq, f.timestamp_s))
    return dict(out)


def keyframes(session: Session, media_id: int) -> list[bytes]:
    """The keyframe strip of a video (JPEGs, in time order); empty when there is none."""
    query = (
        select(MediaPreview.idx, MediaPreview.jpeg)
        .where(MediaPreview.media_id == media_id, MediaPreview.kind == KEYFRAME)
        .order_by(MediaPreview.idx)
    )
    return [unseal(session, media_id, KEYFRAME, idx, blob) for idx, blob in session.execute(query)]


# --- banks -----------------------------------------------------------------------------------


def has_video_parts(record: BankRecord) -> bool:
    return bool(record.vpdq or record.segments)


def insert_bank_entries(
    session: Session, rows: Sequence[dict], records: Sequence[BankRecord]
) -> None:
    """Insert bank entry rows in order, with the frames and segments of the records that have
    them (``rows[i]`` is the ``bank_entries`` row of ``records[i]``)."""
    plain: list[dict] = []
    frames: list[dict] = []
    segments: list[dict] = []
    for row, record in zip(rows, records, strict=True):
        if not has_video_parts(record):
            plain.append(row)
            continue
        if plain:
            session.execute(insert(BankEntry), plain)
            plain = []
        entry_id = session.execute(insert(BankEntry).returning(BankEntry.id), row).scalar_one()
        frames.extend(
            {
                "bank_entry_id": entry_id,
                "seq": seq,
                "frame_number": f.frame_number,
                "quality": f.quality,
                "pdq": f.pdq,
                "timestamp_s": f.timestamp_s,
            }
            for seq, f in enumerate(record.vpdq)
        )
        segments.extend(
            {
                "bank_entry_id": entry_id,
                "seq": seq,
                "start_s": s.start_s,
                "end_s": s.end_s,
                "category": s.category,
            }
            for seq, s in enumerate(record.segments)
        )
    if plain:
        session.execute(insert(BankEntry), plain)
    if frames:
        session.execute(insert(BankVideoFrame), frames)
    if segments:
        session.execute(insert(BankSegment), segments)


def _bank_has_video(session: Session, bank_id: int) -> bool:
    entries = select(BankEntry.id).where(BankEntry.bank_id == bank_id)
    return bool(
        session.scalar(
            select(
                exists().where(BankVideoFrame.bank_entry_id.in_(entries))
                | exists().where(BankSegment.bank_entry_id.in_(entries))
            )
        )
    )


def entry_video_parts(
    session: Session, entry_ids: Iterable[int]
) -> tuple[dict[int, list[VideoFrameHash]], dict[int, list[Segment]]]:
    """The vPDQ frames and segments of the given bank entries, in stored order."""
    ids = sorted(set(entry_ids))
    frames: dict[int, list[VideoFrameHash]] = defaultdict(list)
    segments: dict[int, list[Segment]] = defaultdict(list)
    for start in range(0, len(ids), _READ_BATCH):
        chunk = ids[start : start + _READ_BATCH]
        for f in session.scalars(
            select(BankVideoFrame)
            .where(BankVideoFrame.bank_entry_id.in_(chunk))
            .order_by(BankVideoFrame.bank_entry_id, BankVideoFrame.seq)
        ):
            frames[f.bank_entry_id].append(
                VideoFrameHash(f.frame_number, f.quality, f.pdq, f.timestamp_s)
            )
        for s in session.scalars(
            select(BankSegment)
            .where(BankSegment.bank_entry_id.in_(chunk))
            .order_by(BankSegment.bank_entry_id, BankSegment.seq)
        ):
            segments[s.bank_entry_id].append(Segment(s.start_s, s.end_s, s.category))
    return dict(frames), dict(segments)


def with_video_parts(
    session: Session, bank_id: int, entries: Iterable[tuple[int, BankRecord]]
) -> Iterator[BankRecord]:
    """Records of (entry id, record) pairs with their frames and segments filled in."""
    if not _bank_has_video(session, bank_id):
        for _, record in entries:
            yield record
        return
    iterator = iter(entries)
    while batch := list(islice(iterator, _READ_BATCH)):
        frames, segments = entry_video_parts(session, (entry_id for entry_id, _ in batch))
        for entry_id, record in batch:
            if entry_id in frames or entry_id in segments:
                record = dataclasses.replace(
                    record,
                    vpdq=tuple(frames.get(entry_id, ())),
                    segments=tuple(segments.get(entry_id, ())),
                )
            yield record


@dataclass(frozen=True)
class KnownVideo:
    """A known video of an enabled bank, as matching needs it."""

    entry_id: int
    category: str
    #: The category scheme of its bank (segment categories are in it too).
    scheme: str
    frames: list[FrameHash]
    segments: list[Segment]


def enabled_bank_videos(session: Session) -> list[KnownVideo]:
    """Every known video (bank entry with vPDQ frames) of the enabled banks, by entry id."""
    frames: dict[int, list[FrameHash]] = defaultdict(list)
    labels: dict[int, tuple[str, str]] = {}
    rows = session.execute(
        select(BankVideoFrame, BankEntry.category, Bank.scheme)
        .join(BankEntry, BankEntry.id == BankVideoFrame.bank_entry_id)
        .join(Bank, Bank.id == BankEntry.bank_id)
        .where(Bank.enabled.is_(True))
        .order_by(BankVideoFrame.bank_entry_id, BankVideoFrame.seq)
    )
    for f, category, scheme in rows:
        frames[f.bank_entry_id].append(FrameHash(f.frame_number, f.quality, f.pdq, f.timestamp_s))
        labels[f.bank_entry_id] = (category, scheme)
    _, segments = entry_video_parts(session, frames) if frames else ({}, {})
    return [
        KnownVideo(entry_id, *labels[entry_id], frames[entry_id], segments.get(entry_id, []))
        for entry_id in sorted(frames)
    ]


# --- matches ---------------------------------------------------------------------------------


def store_match_details(session: Session, rows: Sequence[dict]) -> None:
    """Insert ``video_match_details`` rows (``match_id`` plus the columns of the table)."""
    if rows:
        session.execute(insert(VideoMatchDetail), list(rows))


def match_details(session: Session, match_ids: Iterable[int]) -> dict[int, VideoMatchDetail]:
    """The video details of those matches that have some, by match id."""
    ids = sorted(set(match_ids))
    out: dict[int, VideoMatchDetail] = {}
    for start in range(0, len(ids), _READ_BATCH):
        chunk = ids[start : start + _READ_BATCH]
        for detail in session.scalars(
            select(VideoMatchDetail).where(VideoMatchDetail.match_id.in_(chunk))
        ):
            out[detail.match_id] = detail
    return out

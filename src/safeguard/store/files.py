"""Writing ingested files in batches: media (content, deduplicated) and file records."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from safeguard.hashing import FileFacts
from safeguard.store.bulk import insert_ignoring_duplicates
from safeguard.store.models import FileRecord, Media
from safeguard.store.previews import put_previews
from safeguard.store.review_models import FULL, THUMB
from safeguard.store.video import store_video_facts


@dataclass(frozen=True)
class IngestedFile:
    """One file of an exhibit, as the pipeline hands it to the store."""

    seq: int
    logical_path: str
    size: int | None
    modified: datetime | None
    facts: FileFacts | None
    error: str | None
    #: File-system facts of a file inside a disk image (see FileRecord).
    created: datetime | None = None
    accessed: datetime | None = None
    changed: datetime | None = None
    inode: int | None = None
    deleted: bool = False
    unallocated: bool = False
    carved: bool = False
    physical_offset: int | None = None


def media_row(facts: FileFacts) -> dict:
    d = facts.digests
    row: dict = {
        "sha256": d.sha256,
        "sha1": d.sha1,
        "md5": d.md5,
        "size": d.size,
        "mime": facts.mime,
        "kind": str(facts.kind),
        "format": facts.format,
        "decode_error": facts.error,
    }
    image = facts.image
    if image is not None:
        exif = image.exif
        row.update(
            width=image.width,
            height=image.height,
            pdq=image.pdq,
            pdq_quality=image.pdq_quality,
            pdq_dihedral=" ".join(image.pdq_dihedral) or None,
            exif_make=exif.make,
            exif_model=exif.model,
            exif_serial=exif.serial,
            exif_date_taken=exif.date_taken,
            gps_lat=exif.gps_lat,
            gps_lon=exif.gps_lon,
        )
    video = getattr(facts, "video", None)
    if video is not None:
        info = video.info
        row.update(
            width=info.width,
            height=info.height,
            duration_s=info.duration_s,
            video_codec=info.codec,
            fps=info.fps,
        )
    return row


def existing_paths(session: Session, exhibit_id: int) -> set[str]:
    query = select(FileRecord.logical_path).where(FileRecord.exhibit_id == exhibit_id)
    return set(session.scalars(query))


def store_batch(session: Session, exhibit_id: int, files: Sequence[IngestedFile]) -> None:
    """Store a batch in the caller's transaction; rows already present are left as they are."""
    media_rows = {f.facts.digests.sha256: media_row(f.facts) for f in files if f.facts}
    rows = [media_rows[k] for k in sorted(media_rows)]
    insert_ignoring_duplicates(session, Media, rows, ["sha256"])
    ids: dict[str, int] = {}
    if media_rows:
        ids = dict(
            session.execute(
                select(Media.sha256, Media.id).where(Media.sha256.in_(list(media_rows)))
            ).all()
        )
    store_video_facts(  # vPDQ frames and keyframe strips
        session,
        {ids[f.facts.digests.sha256]: f.facts.video for f in files if f.facts and f.facts.video},
    )
    # Review previews the workers made from their decode (pruned after matching to the items
    # that need a person: ``store.previews.drop_unneeded_previews``).
    put_previews(
        session,
        [
            (ids[f.facts.digests.sha256], kind, 0, jpeg)
            for f in files
            if f.facts and f.facts.image and f.facts.image.previews
            for kind, jpeg in zip((THUMB, FULL), f.facts.image.previews, strict=True)
        ],
    )
    records = [
        {
            "exhibit_id": exhibit_id,
            "seq": f.seq,
            "logical_path": f.logical_path,
            "media_id": ids[f.facts.digests.sha256] if f.facts else None,
            "size": f.size,
            "modified": f.modified,
            "error": f.error,
            "created": f.created,
            "accessed": f.accessed,
            "changed": f.changed,
            "inode": f.inode,
            "deleted": f.deleted,
            "unallocated": f.unallocated,
            "carved": f.carved,
            "physical_offset": f.physical_offset,
        }
        for f in files
    ]
    insert_ignoring_duplicates(session, FileRecord, records, ["exhibit_id", "logical_path"])


def annotate_file(session: Session, exhibit_id: int, logical_path: str, message: str) -> None:
    """Record an error against a stored file (idempotent: the same message is not repeated)."""
    record = session.scalar(
        select(FileRecord).where(
            FileRecord.exhibit_id == exhibit_id, FileRecord.logical_path == logical_path
        )
    )
    if record is None or (record.error and message in record.error):
        return
    record.error = f"{record.error}; {message}" if record.error else message

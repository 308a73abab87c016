"""Case retention: open, closed, purged; purging deletes a case's previews and keyframes.

Hashes, matches, grades, votes and the audit log stay for good (a charging report and the
national bank need them); only the derived pictures go. A medium also seen in a case that is
not purged keeps its previews for that case.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from safeguard.store.hardening_models import CLOSED, OPEN, PURGED, CaseRetention
from safeguard.store.models import Exhibit, FileRecord
from safeguard.store.video_models import MediaPreview


def retention_state(session: Session, case_id: int) -> str:
    row = session.get(CaseRetention, case_id)
    return row.state if row is not None else OPEN


def set_state(session: Session, case_id: int, state: str) -> CaseRetention:
    row = session.get(CaseRetention, case_id)
    if row is None:
        row = CaseRetention(case_id=case_id, state=state)
        session.add(row)
    row.state = state
    now = datetime.now(UTC)
    if state == CLOSED:
        row.closed_at = now
    elif state == PURGED:
        row.purged_at = now
    session.flush()
    return row


def _case_media(session: Session, case_id: int) -> set[int]:
    query = (
        select(FileRecord.media_id)
        .join(Exhibit, Exhibit.id == FileRecord.exhibit_id)
        .where(Exhibit.case_id == case_id, FileRecord.media_id.is_not(None))
        .distinct()
    )
    return set(session.scalars(query))


def _kept_elsewhere(session: Session, case_id: int, media: set[int]) -> set[int]:
    """Media of ``media`` that a case other than ``case_id``, not purged, also holds."""
    purged = select(CaseRetention.case_id).where(CaseRetention.state == PURGED)
    kept: set[int] = set()
    ids = sorted(media)
    for start in range(0, len(ids), 1000):
        query = (
            select(FileRecord.media_id)
            .join(Exhibit, Exhibit.id == FileRecord.exhibit_id)
            .where(
                FileRecord.media_id.in_(ids[start : start + 1000]),
                Exhibit.case_id != case_id,
                Exhibit.case_id.not_in(purged),
            )
            .distinct()
        )
        kept.update(session.scalars(query))
    return kept


def delete_case_previews(session: Session, case_id: int) -> tuple[dict[str, int], int]:
    """Delete the previews and keyframes of the case's media: ({kind: rows}, media kept).

    On SQLite, deleted pages are overwritten (``secure_delete``) rather than left in the file.
    """
    media = _case_media(session, case_id)
    kept = _kept_elsewhere(session, case_id, media)
    doomed = sorted(media - kept)
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("PRAGMA secure_delete = ON"))
    counts: dict[str, int] = {}
    for start in range(0, len(doomed), 1000):
        chunk = doomed[start : start + 1000]
        for kind, n in session.execute(
            select(MediaPreview.kind, func.count())
            .where(MediaPreview.media_id.in_(chunk))
            .group_by(MediaPreview.kind)
        ):
            counts[kind] = counts.get(kind, 0) + n
        session.execute(delete(MediaPreview).where(MediaPreview.media_id.in_(chunk)))
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("PRAGMA secure_delete = OFF"))
    return counts, len(media & kept)


def preview_counts_of_case(session: Session, case_id: int) -> Mapping[str, int]:
    media = sorted(_case_media(session, case_id))
    counts: dict[str, int] = {}
    for start in range(0, len(media), 1000):
        for kind, n in session.execute(
            select(MediaPreview.kind, func.count())
            .where(MediaPreview.media_id.in_(media[start : start + 1000]))
            .group_by(MediaPreview.kind)
        ):
            counts[kind] = counts.get(kind, 0) + n
    return counts

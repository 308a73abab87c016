"""Review previews in ``media_previews``: small JPEGs kept in the case store, never on disk,
sealed at rest (``store/sealed.py``): callers pass and receive plain bytes."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from safeguard.store.bulk import insert_ignoring_duplicates
from safeguard.store.sealed import seal, unseal
from safeguard.store.video_models import MediaPreview


def put_previews(session: Session, rows: Iterable[tuple[int, str, int, bytes]]) -> None:
    """Store (media id, kind, index, jpeg) rows, sealed; rows already present are kept."""
    values = [
        {"media_id": m, "kind": k, "idx": i, "jpeg": seal(session, m, k, i, j)}
        for m, k, i, j in rows
    ]
    if values:
        insert_ignoring_duplicates(session, MediaPreview, values, ["media_id", "kind", "idx"])


def get_preview(session: Session, media_id: int, kind: str, idx: int = 0) -> bytes | None:
    """The plain JPEG of one preview (unsealed), or None."""
    blob = session.scalar(
        select(MediaPreview.jpeg).where(
            MediaPreview.media_id == media_id, MediaPreview.kind == kind, MediaPreview.idx == idx
        )
    )
    return None if blob is None else unseal(session, media_id, kind, idx, blob)


def preview_counts(session: Session, media_ids: Iterable[int], kind: str) -> dict[int, int]:
    """How many previews of ``kind`` each media id has (ids without any are left out)."""
    ids = sorted(set(media_ids))
    counts: dict[int, int] = {}
    for start in range(0, len(ids), 1000):
        for media_id in session.scalars(
            select(MediaPreview.media_id).where(
                MediaPreview.media_id.in_(ids[start : start + 1000]), MediaPreview.kind == kind
            )
        ):
            counts[media_id] = counts.get(media_id, 0) + 1
    return counts


def drop_unneeded_previews(session: Session, exhibit_id: int, kinds: Iterable[str]) -> int:
    """Delete the ``kinds`` previews of the exhibit's media that no exhibit needs a person for
    (status outside ``review_items.REVIEW_STATUSES`` everywhere, e.g. graded exactly by a bank):
    the ingest makes previews of every picture before matching decides which need review.
    Returns how many rows went."""
    from safeguard.store.models import ExhibitMedia
    from safeguard.store.review_items import REVIEW_STATUSES

    here = select(ExhibitMedia.media_id).where(
        ExhibitMedia.exhibit_id == exhibit_id, ExhibitMedia.status.not_in(REVIEW_STATUSES)
    )
    needed = select(ExhibitMedia.media_id).where(ExhibitMedia.status.in_(REVIEW_STATUSES))
    result = session.execute(
        delete(MediaPreview).where(
            MediaPreview.kind.in_(list(kinds)),
            MediaPreview.media_id.in_(here),
            MediaPreview.media_id.not_in(needed),
        )
    )
    return int(result.rowcount or 0)


def exhibit_preview_count(session: Session, exhibit_id: int) -> int:
    """How many of this exhibit's media that need a person have a review thumb: previews
    counted per exhibit, not per case (a picture shared with another exhibit counts in both)."""
    from safeguard.store.models import ExhibitMedia
    from safeguard.store.review_items import REVIEW_STATUSES
    from safeguard.store.review_models import THUMB

    return int(
        session.scalar(
            select(func.count(func.distinct(ExhibitMedia.media_id)))
            .join(MediaPreview, MediaPreview.media_id == ExhibitMedia.media_id)
            .where(
                ExhibitMedia.exhibit_id == exhibit_id,
                ExhibitMedia.status.in_(REVIEW_STATUSES),
                MediaPreview.kind == THUMB,
            )
        )
        or 0
    )

"""What review reads from triage: the items of a case that need a person, and where media live."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from safeguard.store.models import DupGroup, Exhibit, ExhibitMedia, FileRecord, Media

#: ExhibitMedia statuses a person must look at.
REVIEW_STATUSES = ("new", "graded_perceptual", "conflicting")


@dataclass(frozen=True)
class ReviewItem:
    exhibit_id: int
    exhibit: str
    media_id: int
    sha256: str
    status: str
    #: The banks' category for a perceptual match awaiting confirmation.
    bank_category: str | None
    group_id: int | None
    kind: str
    width: int | None
    height: int | None
    #: The camera (make, model, serial) is also on other media of the same exhibit.
    shared_device: bool
    camera: str | None
    #: The content could not be decoded: there can be no preview.
    undecodable: bool = False


def _camera(make: str | None, model: str | None, serial: str | None) -> tuple | None:
    if not (make or model):
        return None
    return ((make or "").strip(), (model or "").strip(), (serial or "").strip())


def _label(camera: tuple[str, str, str]) -> str:
    make, model, serial = camera
    name = model if model.lower().startswith(make.lower()) else f"{make} {model}".strip()
    return f"{name} #{serial}" if serial else name


def review_items(session: Session, case_id: int) -> list[ReviewItem]:
    """Every item of the case's exhibits whose triage status needs a person."""
    exhibits = dict(
        session.execute(
            select(Exhibit.id, Exhibit.reference).where(Exhibit.case_id == case_id)
        ).all()
    )
    if not exhibits:
        return []
    devices: Counter = Counter()
    rows = session.execute(
        select(ExhibitMedia, Media)
        .join(Media, Media.id == ExhibitMedia.media_id)
        .where(ExhibitMedia.exhibit_id.in_(list(exhibits)))
        .order_by(ExhibitMedia.exhibit_id, Media.id)
    ).all()
    for em, media in rows:
        camera = _camera(media.exif_make, media.exif_model, media.exif_serial)
        if camera:
            devices[(em.exhibit_id, camera)] += 1
    items = []
    for em, media in rows:
        if em.status not in REVIEW_STATUSES:
            continue
        camera = _camera(media.exif_make, media.exif_model, media.exif_serial)
        items.append(
            ReviewItem(
                exhibit_id=em.exhibit_id,
                exhibit=exhibits[em.exhibit_id],
                media_id=media.id,
                sha256=media.sha256,
                status=em.status,
                bank_category=em.category if em.status == "graded_perceptual" else None,
                group_id=em.group_id,
                kind=media.kind,
                width=media.width,
                height=media.height,
                shared_device=bool(camera and devices[(em.exhibit_id, camera)] > 1),
                camera=_label(camera) if camera else None,
                undecodable=media.decode_error is not None,
            )
        )
    return items


def item_in_case(session: Session, case_id: int, exhibit_id: int, media_id: int) -> str | None:
    """The triage status of (exhibit, media) if that exhibit belongs to the case, else None."""
    return session.scalar(
        select(ExhibitMedia.status)
        .join(Exhibit, Exhibit.id == ExhibitMedia.exhibit_id)
        .where(
            Exhibit.case_id == case_id,
            ExhibitMedia.exhibit_id == exhibit_id,
            ExhibitMedia.media_id == media_id,
        )
    )


def first_paths(session: Session, exhibit_id: int, media_ids: list[int]) -> dict[int, str]:
    """The first logical path (walk order) of each media id in an exhibit."""
    if not media_ids:
        return {}
    seq = (
        select(FileRecord.media_id, func.min(FileRecord.seq).label("seq"))
        .where(FileRecord.exhibit_id == exhibit_id, FileRecord.media_id.in_(media_ids))
        .group_by(FileRecord.media_id)
        .subquery()
    )
    rows = session.execute(
        select(FileRecord.media_id, FileRecord.logical_path)
        .join(
            seq,
            (seq.c.media_id == FileRecord.media_id) & (seq.c.seq == FileRecord.seq),
        )
        .where(FileRecord.exhibit_id == exhibit_id)
    )
    return dict(rows.all())


def exhibit_progress(session: Session, case_id: int) -> list[dict]:
    """Each exhibit's state and how many files are stored so far (for a progress display)."""
    rows = session.execute(
        select(
            Exhibit.id,
            Exhibit.reference,
            Exhibit.state,
            Exhibit.completed_at,
            func.count(FileRecord.id),
        )
        .outerjoin(FileRecord, FileRecord.exhibit_id == Exhibit.id)
        .where(Exhibit.case_id == case_id)
        .group_by(Exhibit.id, Exhibit.reference, Exhibit.state, Exhibit.completed_at)
        .order_by(Exhibit.reference)
    )
    return [
        {"id": i, "reference": r, "state": s, "completed_at": c, "files": n}
        for i, r, s, c, n in rows
    ]


def group_representatives(session: Session, exhibit_ids: list[int]) -> dict[int, int]:
    """Near-duplicate group id -> the media id triage chose to represent it."""
    if not exhibit_ids:
        return {}
    rows = session.execute(
        select(DupGroup.id, DupGroup.representative_media_id).where(
            DupGroup.exhibit_id.in_(exhibit_ids)
        )
    )
    return dict(rows.all())

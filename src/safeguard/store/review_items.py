"""What review reads from triage: the items of a case that need a person, and where media live."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from safeguard.hashing.pdq import DIHEDRAL_ORDER
from safeguard.store.models import (
    Bank,
    BankEntry,
    DupGroup,
    Exhibit,
    ExhibitMedia,
    FileRecord,
    Match,
    Media,
)

#: How each of PDQ's eight dihedral variants reads to a person.
VARIANT_LABELS = {
    "original": "as stored",
    "rotate90": "rotated 90°",
    "rotate180": "rotated 180°",
    "rotate270": "rotated 270°",
    "flipx": "mirrored left-right",
    "flipy": "mirrored top-bottom",
    "flip_plus1": "mirrored on the diagonal",
    "flip_minus1": "mirrored on the anti-diagonal",
}


@dataclass(frozen=True)
class BankSuggestion:
    """The bank entry behind a perceptual match awaiting confirmation."""

    entry_id: int
    bank: str
    entry_ref: str | None
    distance: int
    #: Which rotation/flip of the item matched, in words.
    variant: str
    #: "pdq" for pictures, "vpdq" for videos (distance: median frame distance).
    hash_kind: str = "pdq"

    @classmethod
    def of(cls, entry: BankEntry, bank: str, match: Match) -> BankSuggestion:
        index = match.variant or 0
        name = DIHEDRAL_ORDER[index] if 0 <= index < len(DIHEDRAL_ORDER) else str(index)
        ref = entry.external_id or (f"line {entry.line}" if entry.line else f"#{entry.id}")
        return cls(
            entry.id, bank, ref, match.distance, VARIANT_LABELS.get(name, name), match.hash_kind
        )


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
    #: For a perceptual match: the bank entry, distance and rotation/flip that matched.
    suggestion: BankSuggestion | None = None
    #: Bytes of the item.
    size: int | None = None
    decode_error: str | None = None


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
    deciding = [em.deciding_match_id for em, _ in rows if em.deciding_match_id is not None]
    suggestions: dict[int, BankSuggestion] = {}
    for chunk in (deciding[i : i + 500] for i in range(0, len(deciding), 500)):
        for match, entry, bank in session.execute(
            select(Match, BankEntry, Bank.name)
            .join(BankEntry, BankEntry.id == Match.bank_entry_id)
            .join(Bank, Bank.id == BankEntry.bank_id)
            .where(Match.id.in_(chunk))
        ).all():
            suggestions[match.id] = BankSuggestion.of(entry, bank, match)
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
                suggestion=(
                    suggestions.get(em.deciding_match_id)
                    if em.status == "graded_perceptual" and em.deciding_match_id
                    else None
                ),
                size=media.size,
                decode_error=media.decode_error,
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


@dataclass(frozen=True)
class FileOccurrence:
    path: str
    modified: str | None
    size: int | None


def occurrences(
    session: Session, exhibit_id: int, media_ids: list[int], limit: int = 20
) -> dict[int, list[FileOccurrence]]:
    """Each media item's files in an exhibit (walk order, at most ``limit`` each)."""
    found: dict[int, list[FileOccurrence]] = {m: [] for m in media_ids}
    for chunk in (media_ids[i : i + 500] for i in range(0, len(media_ids), 500)):
        for media_id, path, modified, size in session.execute(
            select(
                FileRecord.media_id, FileRecord.logical_path, FileRecord.modified, FileRecord.size
            )
            .where(FileRecord.exhibit_id == exhibit_id, FileRecord.media_id.in_(chunk))
            .order_by(FileRecord.seq)
        ):
            if len(found[media_id]) < limit:
                stamp = modified.strftime("%Y-%m-%d %H:%M UTC") if modified else None
                found[media_id].append(FileOccurrence(path, stamp, size))
    return found


def unviewable_items(session: Session, exhibit_id: int) -> list[tuple[Media, str]]:
    """Items of an exhibit that need a person but could not be decoded: (media, triage status)."""
    rows = session.execute(
        select(Media, ExhibitMedia.status)
        .join(ExhibitMedia, ExhibitMedia.media_id == Media.id)
        .where(
            ExhibitMedia.exhibit_id == exhibit_id,
            ExhibitMedia.status.in_(REVIEW_STATUSES),
            Media.decode_error.is_not(None),
        )
        .order_by(Media.id)
    )
    return [(m, s) for m, s in rows.all()]

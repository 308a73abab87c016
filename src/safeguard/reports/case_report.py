"""The case (charging) report: counts per category for images and videos, first-generation
items, errors, and the citation behind every automatic grade."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from safeguard.config import scheme as load_scheme
from safeguard.domain.categories import CategoryScheme
from safeguard.domain.kinds import MediaKind, MediaStatus
from safeguard.domain.orientation import DEFAULT_MIN_QUALITY, DIHEDRAL_LABELS
from safeguard.reports.review_grades import REVIEWABLE, final_review_grades
from safeguard.store.cases import get_case
from safeguard.store.models import (
    Bank,
    BankEntry,
    Exhibit,
    ExhibitMedia,
    FileRecord,
    Match,
    Media,
)
from safeguard.store.video import match_details

AWAITING = "awaiting review"
GRADED = (MediaStatus.GRADED_EXACT, MediaStatus.GRADED_PERCEPTUAL)


@dataclass
class CategoryCount:
    category: str
    label: str
    unique_items: int = 0
    files: int = 0
    runtime_s: float = 0.0


@dataclass
class Tally:
    """Counts for one kind of media (images or videos), per category."""

    rows: dict[str, CategoryCount] = field(default_factory=dict)

    def add(self, code: str, label: str, files: int, runtime_s: float) -> None:
        row = self.rows.setdefault(code, CategoryCount(code, label))
        row.unique_items += 1
        row.files += files
        row.runtime_s += runtime_s

    @property
    def unique_items(self) -> int:
        return sum(r.unique_items for r in self.rows.values())

    @property
    def files(self) -> int:
        return sum(r.files for r in self.rows.values())

    @property
    def runtime_s(self) -> float:
        return sum(r.runtime_s for r in self.rows.values())


@dataclass
class Citation:
    """Why an item was graded automatically: the bank entry, hash kind and distance."""

    exhibit: str
    sha256: str
    paths: list[str]
    category: str
    bank: str
    bank_entry_id: int
    bank_entry_external_id: str | None
    bank_entry_line: int | None
    match_kind: str
    hash_kind: str
    distance: int
    #: For a clip of a known video: where it falls, e.g. "clip of 0:00:05-0:00:10 of the known
    #: video".
    clip: str | None = None
    #: For a PDQ match: which rotation/flip of the file matched, e.g. "mirrored left to right".
    orientation: str | None = None


@dataclass
class NotMatchable:
    """A picture whose PDQ hash is missing (no detail: a constant hash is never stored) or of
    quality below the matching threshold: it can only ever match exactly, by digest."""

    exhibit: str
    sha256: str
    paths: list[str]
    pdq_quality: int | None
    reason: str


@dataclass
class FileError:
    exhibit: str
    path: str
    error: str


@dataclass
class ExhibitSection:
    reference: str
    source: str
    state: str
    files: int = 0
    #: Unique pictures and videos (distinct SHA-256), the same definition as the image and video
    #: tables: not-media files (documents, unknown types) are counted in ``not_media`` only.
    unique_media: int = 0
    first_generation: int = 0
    conflicting: int = 0
    not_media: int = 0
    near_duplicate_groups: int = 0
    errors: int = 0
    #: Pictures that can only match by digest (see :class:`NotMatchable`).
    not_perceptually_matchable: int = 0
    #: Items graded by people in the review workstation (final by consensus or moderation).
    graded_by_review: int = 0
    images: Tally = field(default_factory=Tally)
    videos: Tally = field(default_factory=Tally)


@dataclass
class CaseReport:
    case: str
    title: str | None
    generated_at: str
    scheme: CategoryScheme
    exhibits: list[ExhibitSection]
    images: Tally
    videos: Tally
    first_generation: int
    citations: list[Citation]
    errors: list[FileError]
    not_matchable: list[NotMatchable] = field(default_factory=list)

    def summary_sentence(self) -> str:
        """The charging summary in words, e.g. '12 photographs, 3 at the highest category'."""
        top = self.scheme.highest()
        parts = []
        for noun, tally in (("photograph", self.images), ("video", self.videos)):
            indecent = [r for r in tally.rows.values() if self._indecent(r.category)]
            total = sum(r.unique_items for r in indecent)
            highest = tally.rows.get(top.code)
            text = f"{total:,} indecent {noun}{'s' if total != 1 else ''}"
            text += f", {highest.unique_items if highest else 0:,} at {top.label}"
            if noun == "video":
                runtime = sum(r.runtime_s for r in indecent)
                text += f", total runtime {format_runtime(runtime)}"
            parts.append(text)
        parts.append(f"{self.first_generation:,} first-generation item(s) awaiting review")
        return "; ".join(parts) + "."

    def _indecent(self, code: str) -> bool:
        return code in self.scheme and self.scheme.get(code).indecent


def format_runtime(seconds: float) -> str:
    total = int(round(seconds))
    return f"{total // 3600}:{total // 60 % 60:02d}:{total % 60:02d}"


def clip_position(start_s: float, end_s: float) -> str:
    """Where a clip falls in the known video, in words."""
    return f"clip of {format_runtime(start_s)}-{format_runtime(end_s)} of the known video"


def _label(scheme: CategoryScheme, code: str | None) -> tuple[str, str]:
    if code is None:
        return AWAITING, "Awaiting review"
    return code, scheme.get(code).label if code in scheme else code


def _not_matchable_reason(media: Media, min_quality: int) -> str | None:
    """Why a picture cannot match perceptually, or None when it can."""
    if media.kind != MediaKind.IMAGE or media.decode_error:
        return None
    if media.pdq is None:
        return "no PDQ hash: the picture has no detail (a constant hash is never stored)"
    if media.pdq_quality is not None and media.pdq_quality < min_quality:
        return f"PDQ quality {media.pdq_quality} is below the threshold of {min_quality}"
    return None


def build_case_report(
    session: Session, case_reference: str, *, min_quality: int = DEFAULT_MIN_QUALITY
) -> CaseReport:
    """The charging report of a case; ``min_quality`` is the PDQ quality under which a picture
    is reported as not perceptually matchable (the matching default)."""
    case = get_case(session, case_reference)
    scheme = load_scheme(case.scheme)
    exhibits = list(
        session.scalars(
            select(Exhibit).where(Exhibit.case_id == case.id).order_by(Exhibit.reference)
        )
    )
    sections: list[ExhibitSection] = []
    case_media: dict[int, tuple[str, str | None, int, float]] = {}
    case_files: dict[int, int] = defaultdict(int)
    citations: list[Citation] = []
    errors: list[FileError] = []
    new_media: set[int] = set()
    not_matchable: list[NotMatchable] = []
    for exhibit in exhibits:
        section = ExhibitSection(exhibit.reference, exhibit.source_path, exhibit.state)
        paths: dict[int, list[str]] = defaultdict(list)
        reviewed = final_review_grades(session, exhibit.id)
        for media_id, path, error in session.execute(
            select(FileRecord.media_id, FileRecord.logical_path, FileRecord.error)
            .where(FileRecord.exhibit_id == exhibit.id)
            .order_by(FileRecord.seq)
        ):
            section.files += 1
            if media_id is None or error:
                section.errors += 1
                errors.append(FileError(exhibit.reference, path, error or "unreadable"))
            if media_id is not None:
                paths[media_id].append(path)
        for em, media in session.execute(
            select(ExhibitMedia, Media)
            .join(Media, Media.id == ExhibitMedia.media_id)
            .where(ExhibitMedia.exhibit_id == exhibit.id)
            .order_by(Media.id)
        ).all():
            n_files = len(paths[media.id])
            case_files[media.id] += n_files
            if media.decode_error:
                section.errors += 1
                errors.append(FileError(exhibit.reference, paths[media.id][0], media.decode_error))
            status = MediaStatus(em.status)
            if status is MediaStatus.NOT_MEDIA:
                section.not_media += 1
                continue
            section.unique_media += 1
            reason = _not_matchable_reason(media, min_quality)
            if reason is not None:
                section.not_perceptually_matchable += 1
                not_matchable.append(
                    NotMatchable(
                        exhibit.reference, media.sha256, paths[media.id], media.pdq_quality, reason
                    )
                )
            if status is MediaStatus.NEW:
                section.first_generation += 1
                if media.id not in reviewed:  # graded in review: no longer awaiting it
                    new_media.add(media.id)
            if status is MediaStatus.CONFLICTING:
                section.conflicting += 1
            code = em.category if status in GRADED else None
            if status in REVIEWABLE and media.id in reviewed:  # graded in review
                code = reviewed[media.id]
                section.graded_by_review += 1
            tally = section.videos if media.kind == MediaKind.VIDEO else section.images
            runtime = media.duration_s or 0.0
            tally.add(*_label(scheme, code), n_files, runtime)
            previous = case_media.get(media.id)
            if previous is None or _severity(scheme, code) > _severity(scheme, previous[1]):
                case_media[media.id] = (media.kind, code, n_files, runtime)
        section.near_duplicate_groups = len(
            {
                g
                for g in session.scalars(
                    select(ExhibitMedia.group_id).where(
                        ExhibitMedia.exhibit_id == exhibit.id, ExhibitMedia.group_id.is_not(None)
                    )
                )
            }
        )
        citations.extend(_citations(session, exhibit, paths))
        sections.append(section)
    images, videos = Tally(), Tally()
    for media_id, (kind, code, _, runtime) in sorted(case_media.items()):
        tally = videos if kind == MediaKind.VIDEO else images
        tally.add(*_label(scheme, code), case_files[media_id], runtime)
    return CaseReport(
        case=case.reference,
        title=case.title,
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
        scheme=scheme,
        exhibits=sections,
        images=images,
        videos=videos,
        first_generation=len(new_media),
        citations=citations,
        errors=errors,
        not_matchable=not_matchable,
    )


def _severity(scheme: CategoryScheme, code: str | None) -> int:
    if code is None or code not in scheme:
        return -100
    return scheme.get(code).severity


def _citations(session: Session, exhibit: Exhibit, paths: dict[int, list[str]]) -> list[Citation]:
    rows = session.execute(
        select(ExhibitMedia, Media.sha256, Match, BankEntry, Bank.name)
        .join(Media, Media.id == ExhibitMedia.media_id)
        .join(Match, Match.id == ExhibitMedia.deciding_match_id)
        .join(BankEntry, BankEntry.id == Match.bank_entry_id)
        .join(Bank, Bank.id == BankEntry.bank_id)
        .where(ExhibitMedia.exhibit_id == exhibit.id)
        .order_by(Media.sha256)
    ).all()
    clips = {
        match_id: clip_position(d.start_s, d.end_s)
        for match_id, d in match_details(session, (row[2].id for row in rows)).items()
        if d.is_clip and d.start_s is not None and d.end_s is not None
    }
    return [
        Citation(
            exhibit=exhibit.reference,
            sha256=sha256,
            paths=paths[em.media_id],
            category=em.category,
            bank=bank,
            bank_entry_id=entry.id,
            bank_entry_external_id=entry.external_id,
            bank_entry_line=entry.line,
            match_kind=match.kind,
            hash_kind=match.hash_kind,
            distance=match.distance,
            clip=clips.get(match.id),
            orientation=(
                DIHEDRAL_LABELS[match.variant]
                if match.hash_kind == "pdq" and match.variant is not None
                and 0 <= match.variant < len(DIHEDRAL_LABELS)
                else None
            ),
        )
        for em, sha256, match, entry, bank in rows
    ]

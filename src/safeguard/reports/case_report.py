"""The case (charging) report: counts per category for images and videos, first-generation
items, errors, and the citation behind every automatic grade."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from safeguard.config import review_policy
from safeguard.config import scheme as load_scheme
from safeguard.domain.categories import CategoryScheme
from safeguard.domain.kinds import MediaKind, MediaStatus
from safeguard.domain.review_policy import ReviewPolicy
from safeguard.domain.signals import DIHEDRAL_LABELS, PDQ_MIN_QUALITY
from safeguard.reports.review_grades import REVIEWABLE, final_review_grades, final_review_outcomes
from safeguard.store.cases import get_case
from safeguard.store.image_models import ExhibitImage
from safeguard.store.images import image_of
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
#: The outcome of an item a person should grade but whose content could not be decoded.
UNVIEWABLE = "could not be viewed"
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
class ScheduleLine:
    """One graded item of the charging schedule: what it is, where it was, how it was graded."""

    exhibit: str
    sha256: str
    kind: str
    category: str
    label: str
    #: "exact match", "perceptual match (accepted by policy)", "perceptual match (confirmed in
    #: review)", "perceptual match (awaiting confirmation)", "review (consensus)", "review
    #: (moderation)".
    method: str
    #: The evidence for the grade: bank entry and distance, or votes and moderation.
    basis: str
    flags: list[str]
    paths: list[str]
    #: Each file's last-modified time (UTC, as stored), in the order of ``paths``.
    modified: list[str]
    size: int | None = None
    runtime_s: float | None = None


@dataclass
class Unviewable:
    """An item a person should grade that could not be decoded: for the examiner, not a card."""

    exhibit: str
    sha256: str
    kind: str
    status: str
    reason: str
    paths: list[str]


@dataclass
class FileError:
    exhibit: str
    path: str
    error: str


@dataclass
class DiskImage:
    """The disk image behind an exhibit: acquisition metadata and, if checked, verification."""

    format: str
    segments: int
    media_size: int
    stored_md5: str | None
    stored_sha1: str | None
    case_number: str | None
    evidence_number: str | None
    examiner: str | None
    description: str | None
    notes: str | None
    acquired: str | None
    acquisition_tool: str | None
    acquisition_os: str | None
    #: "verified", "mismatch", "unreadable", "computed", or None when not verified.
    verification: str | None
    verification_detail: str | None
    computed_md5: str | None
    computed_sha1: str | None
    verified_at: str | None


@dataclass
class RecoveredFile:
    """A deleted or carved file of a disk image, with its file-system facts (VICS MediaFile's
    Deleted, Unallocated and PhysicalLocation)."""

    exhibit: str
    path: str
    sha256: str | None
    deleted: bool
    unallocated: bool
    carved: bool
    physical_offset: int | None
    inode: int | None
    created: str | None
    modified: str | None
    accessed: str | None
    changed: str | None


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
    #: Perceptual matches still waiting for a person to confirm the bank's grade.
    awaiting_confirmation: int = 0
    #: Perceptual matches the review policy accepted without a person.
    auto_accepted: int = 0
    #: Items needing a person whose content could not be decoded.
    could_not_be_viewed: int = 0
    images: Tally = field(default_factory=Tally)
    videos: Tally = field(default_factory=Tally)
    #: Files recovered from a disk image: deleted (found by the file system) and carved.
    deleted_files: int = 0
    carved_files: int = 0
    image: DiskImage | None = None


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
    recovered: list[RecoveredFile] = field(default_factory=list)
    schedule: list[ScheduleLine] = field(default_factory=list)
    unviewable: list[Unviewable] = field(default_factory=list)
    policy: ReviewPolicy = field(default_factory=ReviewPolicy)
    awaiting_confirmation: int = 0

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
        parts.append(
            f"{self.awaiting_confirmation:,} perceptual match(es) awaiting confirmation of a "
            "known grade"
        )
        if self.unviewable:
            parts.append(f"{len(self.unviewable):,} item(s) could not be viewed")
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
    if code == UNVIEWABLE:
        return UNVIEWABLE, "Could not be viewed"
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
    session: Session,
    case_reference: str,
    policy: ReviewPolicy | None = None,
    *,
    min_quality: int = PDQ_MIN_QUALITY,
) -> CaseReport:
    """The report of a case. ``policy`` (default: the unit's, from the environment) says which
    perceptual matches were accepted without a person, and is stated in the report;
    ``min_quality`` is the PDQ quality under which a picture is reported as not perceptually
    matchable (the matching default)."""
    policy = policy or review_policy()
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
    recovered: list[RecoveredFile] = []
    new_media: set[int] = set()
    not_matchable: list[NotMatchable] = []
    schedule: list[ScheduleLine] = []
    unviewable: list[Unviewable] = []
    awaiting_confirmation: set[int] = set()
    for exhibit in exhibits:
        section = ExhibitSection(exhibit.reference, exhibit.source_path, exhibit.state)
        paths: dict[int, list[str]] = defaultdict(list)
        modified: dict[int, list[str]] = defaultdict(list)
        reviewed = final_review_grades(session, exhibit.id)
        section.image = _disk_image(session, exhibit.id)
        outcomes = final_review_outcomes(session, exhibit.id)
        for media_id, path, error, deleted, carved, when in session.execute(
            select(
                FileRecord.media_id,
                FileRecord.logical_path,
                FileRecord.error,
                FileRecord.deleted,
                FileRecord.carved,
                FileRecord.modified,
            )
            .where(FileRecord.exhibit_id == exhibit.id)
            .order_by(FileRecord.seq)
        ):
            section.files += 1
            section.deleted_files += bool(deleted)
            section.carved_files += bool(carved)
            if media_id is None or error:
                section.errors += 1
                errors.append(FileError(exhibit.reference, path, error or "unreadable"))
            if media_id is not None:
                paths[media_id].append(path)
                modified[media_id].append(when.strftime("%Y-%m-%d %H:%M:%S") if when else "")
        matches = _deciding_matches(session, exhibit.id)
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
            viewable = media.decode_error is None
            if status is MediaStatus.NEW:
                section.first_generation += 1
                if media.id not in reviewed and viewable:  # graded in review: not awaiting it
                    new_media.add(media.id)
            if status is MediaStatus.CONFLICTING:
                section.conflicting += 1
            code = em.category if status in GRADED else None
            match = matches.get(em.deciding_match_id) if em.deciding_match_id else None
            if status is MediaStatus.GRADED_PERCEPTUAL and media.id not in reviewed:
                if (
                    viewable
                    and match
                    and policy.auto_accepted(status, match[0].distance, match[0].hash_kind)
                ):
                    section.auto_accepted += 1
                elif viewable:
                    section.awaiting_confirmation += 1
                    awaiting_confirmation.add(media.id)
            if status in REVIEWABLE and media.id in reviewed:  # graded in review
                code = reviewed[media.id]
                section.graded_by_review += 1
            elif (
                status in REVIEWABLE
                and not viewable
                and status is not MediaStatus.GRADED_PERCEPTUAL
            ):
                code = UNVIEWABLE
            if status in REVIEWABLE and not viewable and media.id not in reviewed:
                section.could_not_be_viewed += 1
                unviewable.append(
                    Unviewable(
                        exhibit.reference,
                        media.sha256,
                        media.kind,
                        em.status,
                        media.decode_error or "could not be decoded",
                        paths[media.id],
                    )
                )
            if code is not None and code != UNVIEWABLE:
                schedule.append(
                    _schedule_line(
                        scheme,
                        policy,
                        exhibit.reference,
                        media,
                        em.status,
                        code,
                        match,
                        outcomes.get(media.id),
                        paths[media.id],
                        modified[media.id],
                        media.id in awaiting_confirmation,
                    )
                )
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
        recovered.extend(_recovered(session, exhibit))
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
        recovered=recovered,
        schedule=schedule,
        unviewable=unviewable,
        policy=policy,
        awaiting_confirmation=len(awaiting_confirmation),
    )


def _deciding_matches(session: Session, exhibit_id: int) -> dict[int, tuple[Match, BankEntry, str]]:
    """match id -> (match, bank entry, bank name) for every deciding match of the exhibit."""
    rows = session.execute(
        select(Match, BankEntry, Bank.name)
        .join(ExhibitMedia, ExhibitMedia.deciding_match_id == Match.id)
        .join(BankEntry, BankEntry.id == Match.bank_entry_id)
        .join(Bank, Bank.id == BankEntry.bank_id)
        .where(ExhibitMedia.exhibit_id == exhibit_id)
    ).all()
    return {m.id: (m, e, b) for m, e, b in rows}


_FLAG_NAMES = {
    "victim_identified": "victim identified",
    "series": "series",
    "self_generated": "self-generated",
    "ai_generated": "AI-generated suspected",
}


def _schedule_line(
    scheme: CategoryScheme,
    policy: ReviewPolicy,
    exhibit: str,
    media: Media,
    status: str,
    code: str,
    match: tuple[Match, BankEntry, str] | None,
    outcome: object | None,
    paths: list[str],
    modified: list[str],
    awaiting: bool,
) -> ScheduleLine:
    """How one item got its grade, in the words a prosecutor's schedule needs."""
    flags: list[str] = []
    basis = ""
    if match is not None:
        m, entry, bank = match
        ref = entry.external_id or (f"line {entry.line}" if entry.line else f"#{entry.id}")
        basis = f"bank {bank}, entry {ref}, {m.hash_kind} distance {m.distance}"
        if entry.victim_identified:
            flags.append("victim identified")
        if entry.series:
            flags.append(f"series {entry.series}")
        if entry.self_generated:
            flags.append("self-generated")
    if outcome is not None:
        votes = getattr(outcome, "votes", 0)
        method = getattr(outcome, "method", None) or "consensus"
        review = f"{votes} reviewer vote(s)" + (
            ", decided by a supervisor" if method == "moderation" else ", agreeing"
        )
        flags = [label for name, label in _FLAG_NAMES.items() if getattr(outcome, name, False)]
        if status == MediaStatus.GRADED_PERCEPTUAL:
            how = "perceptual match (confirmed in review)"
            basis = f"{basis}; {review}" if basis else review
        else:
            how = f"review ({method})"
            basis = review
    elif status == MediaStatus.GRADED_EXACT:
        how = "exact match"
    elif awaiting:
        how = "perceptual match (awaiting confirmation)"
    elif status == MediaStatus.GRADED_PERCEPTUAL:
        how = f"perceptual match (accepted by policy: under {policy.auto_accept_below} bits)"
    else:
        how = status
    _, label = _label(scheme, code)
    return ScheduleLine(
        exhibit=exhibit,
        sha256=media.sha256,
        kind=media.kind,
        category=code,
        label=label,
        method=how,
        basis=basis,
        flags=flags,
        paths=paths,
        modified=modified,
        size=media.size,
        runtime_s=media.duration_s,
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


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:  # SQLite hands back naive UTC
        value = value.replace(tzinfo=UTC)
    return value.isoformat()


def _disk_image(session: Session, exhibit_id: int) -> DiskImage | None:
    row: ExhibitImage | None = image_of(session, exhibit_id)
    if row is None:
        return None
    return DiskImage(
        format=row.format,
        segments=row.segments,
        media_size=row.media_size,
        stored_md5=row.stored_md5,
        stored_sha1=row.stored_sha1,
        case_number=row.case_number,
        evidence_number=row.evidence_number,
        examiner=row.examiner,
        description=row.description,
        notes=row.notes,
        acquired=row.acquired,
        acquisition_tool=row.acquisition_tool,
        acquisition_os=row.acquisition_os,
        verification=row.verification,
        verification_detail=row.verification_detail,
        computed_md5=row.computed_md5,
        computed_sha1=row.computed_sha1,
        verified_at=_iso(row.verified_at),
    )


def _recovered(session: Session, exhibit: Exhibit) -> list[RecoveredFile]:
    rows = session.execute(
        select(FileRecord, Media.sha256)
        .outerjoin(Media, Media.id == FileRecord.media_id)
        .where(
            FileRecord.exhibit_id == exhibit.id,
            (FileRecord.deleted.is_(True)) | (FileRecord.carved.is_(True)),
        )
        .order_by(FileRecord.seq)
    ).all()
    return [
        RecoveredFile(
            exhibit=exhibit.reference,
            path=f.logical_path,
            sha256=sha256,
            deleted=f.deleted,
            unallocated=f.unallocated,
            carved=f.carved,
            physical_offset=f.physical_offset,
            inode=f.inode,
            created=_iso(f.created),
            modified=_iso(f.modified),
            accessed=_iso(f.accessed),
            changed=_iso(f.changed),
        )
        for f, sha256 in rows
    ]

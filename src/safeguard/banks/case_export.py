"""A case's final grades as a bank: the loop back to the national database.

Every media item of the case with a final grade becomes one ``BankRecord`` with its digests,
PDQ (and quality), category and flags:

* a review outcome that is final (consensus or a supervisor's decision) wins;
* otherwise an automatic grade: ``graded_exact``, and ``graded_perceptual`` unless
  ``confirmed_only`` (a perceptual match a person has not confirmed), with the flags of the bank
  entry that decided it.

Items graded in several exhibits of the case are written once (a review grade first, then the
first exhibit's). A review's "series" flag becomes the case reference as the series name. Videos
carry their vPDQ frames (VICS only). Every export is appended to the audit log.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TextIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from safeguard.config import vics_profile
from safeguard.domain.grades import AUTOMATIC, FINAL_STATE, REVIEWABLE
from safeguard.domain.known import BankRecord, MediaFileFacts, VideoFrameHash
from safeguard.interchange import BankFormat, write_bank
from safeguard.store import audit
from safeguard.store.cases import get_case
from safeguard.store.database import session_scope
from safeguard.store.models import (
    BankEntry,
    Case,
    Exhibit,
    ExhibitMedia,
    FileRecord,
    Match,
    Media,
)
from safeguard.store.review_models import ReviewOutcome
from safeguard.store.video import media_frames


@dataclass(frozen=True)
class CaseExportSummary:
    case: str
    format: str
    profile: str
    entries: int
    #: SHA-256 of the text written (also in the audit entry).
    sha256: str


class _Digesting:
    """A text sink that passes writes through and hashes them."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.hash = hashlib.sha256()

    def write(self, text: str) -> int:
        self.hash.update(text.encode("utf-8"))
        return self.out.write(text)


def final_grade_records(
    session: Session, case: Case, *, confirmed_only: bool = False
) -> list[BankRecord]:
    """One record per media item of the case that has a final grade, in media id order."""
    exhibits = dict(
        session.execute(
            select(Exhibit.id, Exhibit.reference)
            .where(Exhibit.case_id == case.id)
            .order_by(Exhibit.id)
        ).all()
    )
    if not exhibits:
        return []
    ids = list(exhibits)
    # The final-grade rule (domain/grades.py): review decides only items triage left for it.
    reviewed = session.scalars(
        select(ReviewOutcome)
        .join(
            ExhibitMedia,
            (ExhibitMedia.exhibit_id == ReviewOutcome.exhibit_id)
            & (ExhibitMedia.media_id == ReviewOutcome.media_id),
        )
        .where(
            ReviewOutcome.exhibit_id.in_(ids),
            ReviewOutcome.state == FINAL_STATE,
            ReviewOutcome.category.is_not(None),
            ExhibitMedia.status.in_(sorted(REVIEWABLE)),
        )
        .order_by(ReviewOutcome.exhibit_id, ReviewOutcome.media_id)
    ).all()
    grades: dict[int, tuple[str, bool, str | None, bool, str, bool]] = {}
    for row in reviewed:
        if row.media_id not in grades:
            series = case.reference if row.series else None
            where = f"{case.reference}/{exhibits[row.exhibit_id]}"
            grades[row.media_id] = (
                row.category,
                row.victim_identified,
                series,
                row.self_generated,
                where,
                row.ai_generated,
            )
    statuses = ("graded_exact",) if confirmed_only else AUTOMATIC
    automatic = session.execute(
        select(ExhibitMedia, BankEntry)
        .outerjoin(Match, Match.id == ExhibitMedia.deciding_match_id)
        .outerjoin(BankEntry, BankEntry.id == Match.bank_entry_id)
        .where(
            ExhibitMedia.exhibit_id.in_(ids),
            ExhibitMedia.status.in_(statuses),
            ExhibitMedia.category.is_not(None),
        )
        .order_by(ExhibitMedia.exhibit_id, ExhibitMedia.media_id)
    ).all()
    for em, entry in automatic:
        if em.media_id not in grades:
            grades[em.media_id] = (
                em.category,
                bool(entry and entry.victim_identified),
                entry.series if entry else None,
                bool(entry and entry.self_generated),
                f"{case.reference}/{exhibits[em.exhibit_id]}",
                False,  # banks carry no AI-generated flag
            )
    if not grades:
        return []
    media = {
        m.id: m
        for start in range(0, len(grades), 5000)
        for m in session.scalars(
            select(Media).where(Media.id.in_(sorted(grades)[start : start + 5000]))
        )
    }
    frames = media_frames(session, [m for m, row in media.items() if row.kind == "video"])
    files = _media_files(session, exhibits, sorted(grades))
    records = []
    for media_id in sorted(grades):
        category, victim, series, self_generated, where, ai_generated = grades[media_id]
        m = media[media_id]
        records.append(
            BankRecord(
                category=category,
                md5=m.md5,
                sha1=m.sha1,
                sha256=m.sha256,
                pdq=m.pdq,
                pdq_quality=m.pdq_quality if m.pdq else None,
                victim_identified=victim,
                series=series,
                self_generated=self_generated,
                ai_generated=ai_generated,
                source=where,
                external_id=str(media_id),
                vpdq=tuple(
                    VideoFrameHash(f.frame_number, f.quality, f.pdq, f.timestamp_s)
                    for f in frames.get(media_id, ())
                ),
                files=tuple(files.get(media_id, ())),
            )
        )
    return records


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


def _media_files(
    session: Session, exhibits: dict[int, str], media_ids: list[int]
) -> dict[int, list[MediaFileFacts]]:
    """Every file of the case's exhibits holding each item, as VICS MediaFiles (path prefixed
    with the exhibit reference), in walk order."""
    found: dict[int, list[MediaFileFacts]] = defaultdict(list)
    for start in range(0, len(media_ids), 5000):
        rows = session.scalars(
            select(FileRecord)
            .where(
                FileRecord.exhibit_id.in_(list(exhibits)),
                FileRecord.media_id.in_(media_ids[start : start + 5000]),
            )
            .order_by(FileRecord.exhibit_id, FileRecord.seq)
        )
        for f in rows:
            found[f.media_id].append(  # type: ignore[index]
                MediaFileFacts(
                    path=f"{exhibits[f.exhibit_id]}/{f.logical_path}",
                    created=_iso(f.created),
                    written=_iso(f.modified),
                    accessed=_iso(f.accessed),
                    deleted=f.deleted,
                    unallocated=f.unallocated,
                    physical_location=f.physical_offset,
                )
            )
    return found


def export_case(
    reference: str,
    out: TextIO,
    fmt: BankFormat | str,
    *,
    profile: str | None = None,
    confirmed_only: bool = False,
    username: str | None = None,
    user_id: int | None = None,
    database_url: str | None = None,
) -> CaseExportSummary:
    """Write the case's final grades as a bank file and log the export; returns what was written.

    ``profile`` (VICS code table, default the case's scheme) must be of the case's scheme:
    categories are never translated between schemes. Raises NotFound or ValueError.
    """
    fmt = BankFormat(fmt)
    with session_scope(database_url) as session:
        case = get_case(session, reference)
        profile = profile or case.scheme
        table = vics_profile(profile)
        if table.scheme != case.scheme:
            raise ValueError(
                f"profile {profile!r} codes the {table.scheme!r} scheme, "
                f"but case {reference!r} is graded in {case.scheme!r}"
            )
        records = final_grade_records(session, case, confirmed_only=confirmed_only)
        sink = _Digesting(out)
        count = write_bank(records, sink, fmt, profile=profile, name=reference)  # type: ignore[arg-type]
        summary = CaseExportSummary(reference, str(fmt), profile, count, sink.hash.hexdigest())
        audit.append(
            session,
            "export",
            user_id=user_id,
            username=username,
            case_id=case.id,
            detail={
                "what": "final grades as a bank",
                "format": summary.format,
                "profile": profile,
                "entries": count,
                "items": len(records),
                "sha256": summary.sha256,
                "confirmed_only": confirmed_only,
            },
        )
    return summary

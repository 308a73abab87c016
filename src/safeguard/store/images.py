"""Acquisition metadata and verification results of the disk image behind an exhibit."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from safeguard.store.image_models import ExhibitImage

#: E01 header keys -> ExhibitImage columns.
HEADER_COLUMNS = {
    "case_number": "case_number",
    "evidence_number": "evidence_number",
    "examiner_name": "examiner",
    "description": "description",
    "notes": "notes",
    "acquiry_date": "acquired",
    "acquiry_operating_system": "acquisition_os",
}


def record_image(
    session: Session,
    exhibit_id: int,
    *,
    format: str,  # noqa: A002 - the column's name
    segments: int,
    media_size: int,
    bytes_per_sector: int | None,
    stored_md5: str | None,
    stored_sha1: str | None,
    headers: dict[str, str],
) -> ExhibitImage:
    """Create or refresh the exhibit's image row (a re-run of the ingest finds the same facts)."""
    row = image_of(session, exhibit_id)
    if row is None:
        row = ExhibitImage(exhibit_id=exhibit_id)
        session.add(row)
    row.format, row.segments, row.media_size = format, segments, media_size
    row.bytes_per_sector, row.stored_md5, row.stored_sha1 = (
        bytes_per_sector,
        stored_md5,
        stored_sha1,
    )
    for key, column in HEADER_COLUMNS.items():
        setattr(row, column, headers.get(key))
    tool = " ".join(
        v for v in (headers.get("acquiry_software"), headers.get("acquiry_software_version")) if v
    )
    row.acquisition_tool = tool or None
    session.flush()
    return row


def record_verification(
    session: Session,
    exhibit_id: int,
    result: str,
    detail: str,
    md5: str | None,
    sha1: str | None,
) -> None:
    row = image_of(session, exhibit_id)
    if row is None:
        raise LookupError(f"exhibit {exhibit_id} has no disk image recorded")
    row.verification, row.verification_detail = result, detail
    row.computed_md5, row.computed_sha1 = md5, sha1
    row.verified_at = datetime.now(UTC)


def image_of(session: Session, exhibit_id: int) -> ExhibitImage | None:
    return session.scalar(select(ExhibitImage).where(ExhibitImage.exhibit_id == exhibit_id))

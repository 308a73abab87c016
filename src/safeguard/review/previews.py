"""Review previews: small pictures of the items that need a person, kept in the case store.

The store holds hashes and metadata; the pixels stay in the exhibit (read-only). The ingest
workers make a colour "thumb" (at most 320 px) and "full" (at most 1024 px) JPEG of every
picture from the decode they already do (``hashing.previews``) and the ingest keeps those of the
items that need review in ``media_previews``. :func:`prepare_case` is the fallback for pictures
that have none (stores made before, or an ingest run with previews off): it walks the exhibit
and stores them after checking that the bytes still hash to the media's SHA-256. The web server
derives the blurred greyscale version from the thumb on request (:func:`blurred`); the unblurred
bytes leave the server only when a reviewer deliberately reveals an item, and every reveal is
audited.
"""

from __future__ import annotations

import hashlib
import io
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageFilter
from sqlalchemy import select

from safeguard.evidence import EvidenceError, EvidenceLimits, iter_evidence
from safeguard.evidence.names import unique_logical_path
from safeguard.hashing.images import DEFAULT_MAX_PIXELS, pixel_limit
from safeguard.hashing.previews import FULL_PX, THUMB_PX, exif_orientation, preview_jpegs
from safeguard.store.cases import get_case
from safeguard.store.database import session_scope
from safeguard.store.hardening_models import PURGED
from safeguard.store.models import Exhibit, FileRecord
from safeguard.store.previews import preview_counts, put_previews
from safeguard.store.retention import retention_state
from safeguard.store.review_items import review_items
from safeguard.store.review_models import FULL, THUMB

#: Exhibit states: matching done; and its review previews being stored.
COMPLETE, PREVIEWING = "complete", "previews"


@dataclass
class PrepareSummary:
    wanted: int = 0
    stored: int = 0
    already: int = 0
    #: Media whose bytes were not found in the exhibit, or no longer match their hash.
    problems: list[str] = field(default_factory=list)


def _jpeg(image: Image.Image, quality: int = 85) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, optimize=True)
    return out.getvalue()


def make_previews(
    data: bytes,
    thumb_px: int = THUMB_PX,
    full_px: int = FULL_PX,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> tuple[bytes, bytes]:
    """(thumb, full) colour JPEGs of a picture's first frame, upright as EXIF says.

    The pixel limit is the hashing one (``DEFAULT_MAX_PIXELS``), not Pillow's own smaller
    default: every picture that was hashed gets its preview.
    """
    with pixel_limit(max_pixels), Image.open(io.BytesIO(data)) as source:
        source.draft("RGB", (full_px, full_px))
        orientation = exif_orientation(source)
        image = source.convert("RGB")
    return preview_jpegs(image, orientation, thumb_px, full_px)


def blurred(jpeg: bytes) -> bytes:
    """A greyscale, heavily blurred JPEG of a preview: shapes and tones, no detail."""
    with Image.open(io.BytesIO(jpeg)) as source:
        image = source.convert("L")
    radius = max(4.0, max(image.size) / 16)
    return _jpeg(image.filter(ImageFilter.GaussianBlur(radius)), quality=80)


def _prepare_exhibit(
    root: Path,
    wanted: dict[str, tuple[int, str]],
    summary: PrepareSummary,
    database_url: str | None,
    batch: int,
) -> set[int]:
    """Walk one exhibit; store previews for ``wanted`` (path -> (media id, sha256))."""
    done: set[int] = set()
    failed: set[int] = set()
    pending: list[tuple[int, str, int, bytes]] = []
    seen: set[str] = set()

    def flush() -> None:
        if pending:
            with session_scope(database_url) as session:
                put_previews(session, pending)
            pending.clear()

    carve = any(path.startswith("$Carved/") for path in wanted)  # carved out of a disk image
    for found in iter_evidence(root, EvidenceLimits(), carve=carve):
        if isinstance(found, EvidenceError) and found.logical_path in seen:
            continue
        path = unique_logical_path(found.logical_path, seen)
        seen.add(path)
        if isinstance(found, EvidenceError):
            continue
        target = wanted.get(path)
        if target is None or target[0] in done:
            found.discard()
            continue
        media_id, sha256 = target
        try:
            with found.open() as stream:
                data = stream.read()
        finally:
            found.discard()
        if hashlib.sha256(data).hexdigest() != sha256:
            summary.problems.append(f"{path}: the bytes no longer match the stored SHA-256")
            failed.add(media_id)
            continue
        try:
            thumb, full = make_previews(data)
        except Exception as error:  # noqa: BLE001 - one bad picture must not stop the others
            summary.problems.append(f"{path}: no preview ({type(error).__name__}: {error})")
            failed.add(media_id)
            continue
        pending += [(media_id, THUMB, 0, thumb), (media_id, FULL, 0, full)]
        done.add(media_id)
        summary.stored += 1
        if len(pending) >= 2 * batch:
            flush()
    flush()
    return done | failed


def _previews_stored(exhibit_id: int, database_url: str | None) -> None:
    with session_scope(database_url) as session:
        exhibit = session.get(Exhibit, exhibit_id)
        if exhibit is not None and exhibit.state == PREVIEWING:
            exhibit.state = COMPLETE


def prepare_case(
    case_reference: str,
    database_url: str | None = None,
    batch: int = 32,
    exhibit_reference: str | None = None,
) -> PrepareSummary:
    """Store previews for every picture of the case (or of one exhibit of it) that needs review
    and has none yet. The counts are of that scope: a picture in two exhibits counts in each."""
    summary = PrepareSummary()
    with session_scope(database_url) as session:
        case = get_case(session, case_reference)
        if retention_state(session, case.id) == PURGED:
            summary.problems.append(f"case {case_reference} is purged: no previews are stored")
            return summary
        items = [
            i
            for i in review_items(session, case.id)
            if i.kind == "image"
            and not i.undecodable
            and (exhibit_reference is None or i.exhibit == exhibit_reference)
        ]
        have = preview_counts(session, {i.media_id for i in items}, THUMB)
        by_exhibit: dict[int, dict[int, str]] = defaultdict(dict)
        for item in items:
            if item.media_id in have:
                summary.already += 1
            else:
                by_exhibit[item.exhibit_id][item.media_id] = item.sha256
        work = []
        for exhibit_id, media in sorted(by_exhibit.items()):
            exhibit = session.get(Exhibit, exhibit_id)
            paths = session.execute(
                select(FileRecord.logical_path, FileRecord.media_id).where(
                    FileRecord.exhibit_id == exhibit_id, FileRecord.media_id.in_(list(media))
                )
            ).all()
            wanted = {path: (m, media[m]) for path, m in paths}
            work.append((Path(exhibit.source_path), wanted, set(media), exhibit.id))
            if exhibit.state == COMPLETE:
                exhibit.state = PREVIEWING  # not shown complete while its previews are stored
    done: set[int] = set()
    for root, wanted, media_ids, exhibit_id in work:
        pending = media_ids - done
        summary.wanted += len(pending)
        wanted = {p: t for p, t in wanted.items() if t[0] in pending}
        if not root.exists():
            summary.problems.append(f"{root}: the exhibit is not reachable")
            continue
        done |= _prepare_exhibit(root, wanted, summary, database_url, batch)
        for media_id in sorted(pending - done):
            summary.problems.append(f"media {media_id}: not found in {root}")
        _previews_stored(exhibit_id, database_url)
    for *_, exhibit_id in work:  # an exhibit whose folder was not reachable, too
        _previews_stored(exhibit_id, database_url)
    return summary

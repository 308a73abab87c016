"""Match an exhibit's media against every enabled bank, decide statuses, group what is new.

The whole phase is one transaction that first clears the exhibit's previous results, so it can be
re-run at any time (after a crash, or after a new bank arrives) and always ends in the same state.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from safeguard.domain.kinds import MatchKind, MediaKind, MediaStatus
from safeguard.matching.decide import FoundMatch, decide
from safeguard.matching.groups import near_duplicate_groups, video_links
from safeguard.matching.video_match import pack_frames
from safeguard.store.database import session_scope
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
from safeguard.store.video import media_frames
from safeguard.triage.bank_indexes import bank_index
from safeguard.triage.progress import NoProgress, Progress
from safeguard.triage.video_matching import VideoMatching


@dataclass(frozen=True)
class MatchOptions:
    #: PDQ Hamming distance at or below which a bank hash matches (PDQ's usual threshold).
    radius: int = 31
    #: PDQ hashes of lower quality (flat or tiny images) are too unreliable to match on.
    min_quality: int = 50
    #: Distance for near-duplicate grouping of new media.
    group_radius: int = 31
    #: vPDQ: frame distance and minimum frame quality (Meta's defaults).
    video_distance: int = 31
    video_min_quality: int = 50


def _exact_matches(session: Session, exhibit_id: int) -> dict[int, list[FoundMatch]]:
    found: dict[int, list[FoundMatch]] = defaultdict(list)
    for digest in ("md5", "sha1", "sha256"):
        query = (
            select(ExhibitMedia.media_id, BankEntry.id, BankEntry.category)
            .join(Media, Media.id == ExhibitMedia.media_id)
            .join(BankEntry, getattr(BankEntry, digest) == getattr(Media, digest))
            .join(Bank, Bank.id == BankEntry.bank_id)
            .where(ExhibitMedia.exhibit_id == exhibit_id, Bank.enabled.is_(True))
        )
        for media_id, entry_id, category in session.execute(query):
            found[media_id].append(FoundMatch(entry_id, category, MatchKind.EXACT, digest, 0))
    return found


def _categories_of(session: Session, entry_ids: list[int], chunk: int = 10_000) -> dict[int, str]:
    """Bank entry id -> category, asked in chunks (databases cap the parameters of one query)."""
    categories: dict[int, str] = {}
    for start in range(0, len(entry_ids), chunk):
        part = entry_ids[start : start + chunk]
        query = select(BankEntry.id, BankEntry.category).where(BankEntry.id.in_(part))
        categories.update(session.execute(query).all())
    return categories


def _perceptual_matches(
    session: Session, exhibit_id: int, options: MatchOptions
) -> dict[int, list[FoundMatch]]:
    found: dict[int, list[FoundMatch]] = defaultdict(list)
    banks = session.scalars(select(Bank).where(Bank.enabled.is_(True)).order_by(Bank.id)).all()
    indexes = [index for bank in banks if (index := bank_index(session, bank, options.min_quality))]
    if not indexes:
        return found
    media = session.execute(
        select(Media.id, Media.pdq_dihedral)
        .join(ExhibitMedia, ExhibitMedia.media_id == Media.id)
        .where(
            ExhibitMedia.exhibit_id == exhibit_id,
            Media.pdq_dihedral.is_not(None),
            Media.pdq_quality >= options.min_quality,
        )
        .order_by(Media.id)
    ).all()
    owners: list[tuple[int, int]] = []
    queries: list[bytes] = []
    for media_id, dihedral in media:
        for variant, pdq in enumerate(dihedral.split()):
            owners.append((media_id, variant))
            queries.append(bytes.fromhex(pdq))
    if not queries:
        return found
    array = np.frombuffer(b"".join(queries), dtype=np.uint8).reshape(-1, 32)
    best: dict[tuple[int, int], tuple[int, int]] = {}
    for index in indexes:
        result = index.search(array, options.radius)
        for q, entry_id, distance in zip(
            result.query_index.tolist(),
            result.ids.tolist(),
            result.distances.tolist(),
            strict=True,
        ):
            media_id, variant = owners[q]
            key = (media_id, entry_id)
            if key not in best or (distance, variant) < best[key]:
                best[key] = (distance, variant)
    categories = _categories_of(session, sorted({entry_id for _, entry_id in best}))
    for (media_id, entry_id), (distance, variant) in sorted(best.items()):
        found[media_id].append(
            FoundMatch(
                entry_id, categories[entry_id], MatchKind.PERCEPTUAL, "pdq", distance, variant
            )
        )
    return found


def _clear(session: Session, exhibit_id: int) -> None:
    session.execute(
        update(ExhibitMedia)
        .where(ExhibitMedia.exhibit_id == exhibit_id)
        .values(deciding_match_id=None, group_id=None)
    )
    session.execute(delete(DupGroup).where(DupGroup.exhibit_id == exhibit_id))
    session.execute(delete(Match).where(Match.exhibit_id == exhibit_id))
    session.execute(delete(ExhibitMedia).where(ExhibitMedia.exhibit_id == exhibit_id))


def _group_new_media(
    session: Session, exhibit_id: int, rows: dict[int, ExhibitMedia], options: MatchOptions
) -> None:
    new = sorted(m for m, row in rows.items() if row.status == MediaStatus.NEW)
    if not new:
        return
    # Only the columns grouping needs, joined rather than listed (no parameter cap to meet).
    wanted = set(new)
    media = {
        media_id: (dihedral, quality, width, height, kind)
        for media_id, dihedral, quality, width, height, kind in session.execute(
            select(
                Media.id,
                Media.pdq_dihedral,
                Media.pdq_quality,
                Media.width,
                Media.height,
                Media.kind,
            )
            .join(ExhibitMedia, ExhibitMedia.media_id == Media.id)
            .where(ExhibitMedia.exhibit_id == exhibit_id)
        )
        if media_id in wanted
    }
    hashes = [
        media[m][0].split() if media[m][0] and (media[m][1] or 0) >= options.min_quality else None
        for m in new
    ]
    # New videos are grouped by vPDQ: re-encodings and clips of one video make one card.
    position = {m: i for i, m in enumerate(new)}
    frames = {
        position[m]: pack_frames(f, quality=options.video_min_quality)
        for m, f in media_frames(
            session, (m for m in new if media[m][4] == MediaKind.VIDEO)
        ).items()
    }
    links = video_links(frames, options.video_distance)
    groups: list[tuple[DupGroup, list[int]]] = []
    for members in near_duplicate_groups(hashes, options.group_radius, links):
        ids = [new[i] for i in members]
        # The representative is the best-quality, largest member: what a reviewer should see.
        representative = max(
            ids,
            key=lambda m: (media[m][1] or 0, (media[m][2] or 0) * (media[m][3] or 0), -m),
        )
        group = DupGroup(
            exhibit_id=exhibit_id, representative_media_id=representative, size=len(ids)
        )
        groups.append((group, ids))
    # One flush inserts every group, in this order (so with the ids one flush per group gave).
    session.add_all([group for group, _ in groups])
    session.flush()
    for group, ids in groups:
        for m in ids:
            rows[m].group_id = group.id


def match_exhibit(
    exhibit_id: int,
    options: MatchOptions | None = None,
    progress: Progress | None = None,
    database_url: str | None = None,
) -> None:
    options = options or MatchOptions()
    progress = progress or NoProgress()
    with session_scope(database_url) as session:
        _clear(session, exhibit_id)
        media_kinds = dict(
            session.execute(
                select(Media.id, Media.kind)
                .join(FileRecord, FileRecord.media_id == Media.id)
                .where(FileRecord.exhibit_id == exhibit_id)
                .distinct()
            ).all()
        )
        progress.phase("matching", len(media_kinds))
        rows = {
            media_id: ExhibitMedia(exhibit_id=exhibit_id, media_id=media_id, status="new")
            for media_id in sorted(media_kinds)
        }
        session.add_all(rows.values())
        session.flush()
        exact = _exact_matches(session, exhibit_id)
        perceptual = _perceptual_matches(session, exhibit_id, options)
        video = VideoMatching(  # vPDQ full and clip matches of videos with no exact match
            session, exhibit_id, exact, distance=options.video_distance,
            quality=options.video_min_quality,
        )  # fmt: skip
        deciding: list[tuple[ExhibitMedia, Match]] = []
        for media_id, row in rows.items():
            found = exact.get(media_id, []) + perceptual.get(media_id, []) + video.found(media_id)
            stored = {}
            for m in found:
                match = Match(
                    exhibit_id=exhibit_id,
                    media_id=media_id,
                    bank_entry_id=m.bank_entry_id,
                    kind=str(m.kind),
                    hash_kind=m.hash_kind,
                    distance=m.distance,
                    variant=m.variant,
                )
                session.add(match)
                stored[m] = match
            video.remember(media_id, stored)
            decision = decide(MediaKind(media_kinds[media_id]), found)
            row.status = str(decision.status)
            row.category = decision.category
            if decision.deciding is not None:
                deciding.append((row, stored[decision.deciding]))
            progress.advance()
        session.flush()  # every match inserted, in the order added: now they have their ids
        for row, match in deciding:
            row.deciding_match_id = match.id
        video.store_details(session)
        _group_new_media(session, exhibit_id, rows, options)
        exhibit = session.get(Exhibit, exhibit_id)
        exhibit.state = "complete"
        exhibit.completed_at = datetime.now(UTC)

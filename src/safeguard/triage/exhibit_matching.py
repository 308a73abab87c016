"""Match an exhibit's media against every enabled bank, decide statuses, group what is new.

The whole phase is one transaction that first clears the exhibit's previous results, so it can be
re-run at any time (after a crash, or after a new bank arrives) and always ends in the same state.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from sqlalchemy import Row, bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from safeguard.domain.kinds import MatchKind, MediaKind, MediaStatus
from safeguard.domain.orientation import DEFAULT_MIN_QUALITY
from safeguard.matching.decide import Decision, FoundMatch, decide
from safeguard.matching.groups import near_duplicate_groups, video_links
from safeguard.matching.video_match import pack_frames
from safeguard.store.bulk import in_steps, insert_returning_ids
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
    min_quality: int = DEFAULT_MIN_QUALITY
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


#: Media read, hashed and searched per step: memory stays bounded however large the exhibit.
_STEP = 20_000


def _perceptual_matches(
    session: Session, exhibit_id: int, options: MatchOptions
) -> dict[int, list[FoundMatch]]:
    found: dict[int, list[FoundMatch]] = defaultdict(list)
    banks = session.scalars(select(Bank).where(Bank.enabled.is_(True)).order_by(Bank.id)).all()
    indexes = [index for bank in banks if (index := bank_index(session, bank, options.min_quality))]
    if not indexes:
        return found
    query = (
        select(Media.id, Media.pdq_dihedral)
        .join(ExhibitMedia, ExhibitMedia.media_id == Media.id)
        .where(
            ExhibitMedia.exhibit_id == exhibit_id,
            Media.pdq_dihedral.is_not(None),
            Media.pdq_quality >= options.min_quality,
        )
        .order_by(Media.id)
    )
    best: dict[tuple[int, int], tuple[int, int]] = {}
    for part in session.execute(query.execution_options(yield_per=_STEP)).partitions():
        media_ids, dihedral = _packed_dihedral(part)
        queries = dihedral.reshape(-1, 32)  # query q is variant q % 8 of media q // 8
        for index in indexes:
            result = index.search(queries, options.radius)
            for q, entry_id, distance in zip(
                result.query_index.tolist(),
                result.ids.tolist(),
                result.distances.tolist(),
                strict=True,
            ):
                key = (int(media_ids[q // 8]), entry_id)
                if key not in best or (distance, q % 8) < best[key]:
                    best[key] = (distance, q % 8)
    categories = _categories_of(session, sorted({entry_id for _, entry_id in best}))
    for (media_id, entry_id), (distance, variant) in sorted(best.items()):
        found[media_id].append(
            FoundMatch(
                entry_id, categories[entry_id], MatchKind.PERCEPTUAL, "pdq", distance, variant
            )
        )
    return found


def _packed_dihedral(rows: Sequence[Row]) -> tuple[np.ndarray, np.ndarray]:
    """(media ids, uint8[n, 8, 32] hashes) of (media id, eight space-separated hex hashes) rows."""
    media_ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    raw = bytes.fromhex("".join(r[1] for r in rows))  # fromhex skips the spaces
    return media_ids, np.frombuffer(raw, dtype=np.uint8).reshape(len(rows), 8, 32)


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
    session: Session, exhibit_id: int, new: np.ndarray, options: MatchOptions
) -> Iterable[tuple[int, int]]:
    """Insert the near-duplicate groups of the new media (sorted ids); (media id, group id)."""
    if not new.size:
        return ()
    n = int(new.size)
    dihedral = np.zeros((n, 8, 32), np.uint8)
    usable = np.zeros(n, bool)
    quality = np.zeros(n, np.int64)
    pixels = np.zeros(n, np.int64)
    videos: list[int] = []
    query = (
        select(
            Media.id, Media.pdq_dihedral, Media.pdq_quality, Media.width, Media.height, Media.kind
        )
        .join(ExhibitMedia, ExhibitMedia.media_id == Media.id)
        .where(ExhibitMedia.exhibit_id == exhibit_id, ExhibitMedia.status == MediaStatus.NEW)
        .order_by(Media.id)
    )
    for part in session.execute(query.execution_options(yield_per=_STEP)).partitions():
        at = np.searchsorted(new, [r[0] for r in part])
        hashed = [k for k, r in enumerate(part) if r[1] and (r[2] or 0) >= options.min_quality]
        if hashed:
            _, packed = _packed_dihedral([part[k] for k in hashed])
            dihedral[at[hashed]] = packed
            usable[at[hashed]] = True
        for k, (media_id, _, q, width, height, kind) in enumerate(part):
            quality[at[k]] = q or 0
            pixels[at[k]] = (width or 0) * (height or 0)
            if kind == MediaKind.VIDEO:
                videos.append(media_id)
    # New videos are grouped by vPDQ: re-encodings and clips of one video make one card.
    frames = {
        int(np.searchsorted(new, m)): pack_frames(f, quality=options.video_min_quality)
        for m, f in media_frames(session, videos).items()
    }
    links = video_links(frames, options.video_distance)
    grouped = near_duplicate_groups(dihedral, usable, options.group_radius, links)
    del dihedral
    # The representative is the best-quality, largest member: what a reviewer should see.
    representatives = [
        max(members, key=lambda k: (quality[k], pixels[k], -new[k])) for members in grouped
    ]
    ids = insert_returning_ids(
        session,
        DupGroup,
        (
            {"exhibit_id": exhibit_id, "representative_media_id": int(new[k]), "size": len(m)}
            for k, m in zip(representatives, grouped, strict=True)
        ),
    )
    return (
        (int(new[k]), group_id)
        for members, group_id in zip(grouped, ids, strict=True)
        for k in members
    )


def match_exhibit(
    exhibit_id: int,
    options: MatchOptions | None = None,
    progress: Progress | None = None,
    database_url: str | None = None,
) -> None:
    """Match, decide and group the exhibit's media in one transaction (see the module doc).

    Memory: arrays of the exhibit's media ids and kinds, the matches found, and, for grouping,
    the new media's hashes (about 300 bytes an item); rows are written with bulk statements.
    """
    options = options or MatchOptions()
    progress = progress or NoProgress()
    with session_scope(database_url) as session:
        _clear(session, exhibit_id)
        media_ids, kinds = _exhibit_media(session, exhibit_id)
        other = kinds == _KINDS.index(MediaKind.OTHER)
        progress.phase("matching", int(media_ids.size))
        for start in range(0, media_ids.size, _STEP):  # no match: new, or not media
            session.execute(
                insert(ExhibitMedia),
                [
                    {
                        "exhibit_id": exhibit_id,
                        "media_id": int(m),
                        "status": str(MediaStatus.NOT_MEDIA if o else MediaStatus.NEW),
                        "category": None,
                    }
                    for m, o in zip(
                        media_ids[start : start + _STEP], other[start : start + _STEP], strict=True
                    )
                ],
            )
        exact = _exact_matches(session, exhibit_id)
        perceptual = _perceptual_matches(session, exhibit_id, options)
        video = VideoMatching(  # vPDQ full and clip matches of videos with no exact match
            session, exhibit_id, exact, distance=options.video_distance,
            quality=options.video_min_quality,
        )  # fmt: skip
        decided: list[tuple[int, Decision, Match | None]] = []
        for media_id in sorted(set(exact) | set(perceptual) | set(video.media_ids())):
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
            at = int(np.searchsorted(media_ids, media_id))
            decision = decide(_KINDS[kinds[at]], found)
            deciding = stored[decision.deciding] if decision.deciding is not None else None
            decided.append((media_id, decision, deciding))
        session.flush()  # every match inserted, in the order added: now they have their ids
        _update_rows(
            session,
            exhibit_id,
            [
                {
                    "m": media_id,
                    "status": str(decision.status),
                    "category": decision.category,
                    "deciding_match_id": match.id if match is not None else None,
                }
                for media_id, decision, match in decided
            ],
        )
        progress.advance(int(media_ids.size))
        video.store_details(session)
        new = np.setdiff1d(
            media_ids[~other],
            [m for m, d, _ in decided if d.status != MediaStatus.NEW],
            assume_unique=True,
        )
        memberships = _group_new_media(session, exhibit_id, new, options)
        _update_rows(session, exhibit_id, ({"m": m, "group_id": g} for m, g in memberships))
        exhibit = session.get(Exhibit, exhibit_id)
        exhibit.state = "complete"
        exhibit.completed_at = datetime.now(UTC)


#: Media kinds by code, for arrays of kinds.
_KINDS: list[MediaKind] = list(MediaKind)


def _exhibit_media(session: Session, exhibit_id: int) -> tuple[np.ndarray, np.ndarray]:
    """The exhibit's media ids (sorted) and their kinds (codes: positions in ``_KINDS``)."""
    rows = session.execute(
        select(Media.id, Media.kind)
        .join(FileRecord, FileRecord.media_id == Media.id)
        .where(FileRecord.exhibit_id == exhibit_id)
        .distinct()
        .order_by(Media.id)
    ).all()
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    codes = {str(kind): code for code, kind in enumerate(_KINDS)}
    kinds = np.fromiter((codes[r[1]] for r in rows), dtype=np.int8, count=len(rows))
    return ids, kinds


def _update_rows(session: Session, exhibit_id: int, values: Iterable[dict]) -> None:
    """Set columns of the exhibit's rows by media id (key ``m``), in bulk, in steps."""
    statement = None
    for part in in_steps(values, _STEP):
        if statement is None:
            columns = [k for k in part[0] if k != "m"]
            table = ExhibitMedia.__table__
            statement = (
                update(table)
                .where(table.c.exhibit_id == exhibit_id, table.c.media_id == bindparam("m"))
                .values({c: bindparam(c) for c in columns})
            )
        session.execute(statement, part)

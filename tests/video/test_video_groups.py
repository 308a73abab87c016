"""New videos are grouped by vPDQ: a re-encoding and a clip of one unknown video make one card."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from safeguard.hashing.video import synthetic_video, transcode
from safeguard.store.cases import create_case
from safeguard.store.database import session_scope
from safeguard.store.models import DupGroup, ExhibitMedia, FileRecord
from safeguard.triage.ingest import IngestOptions, ingest_exhibit
from tests.video.conftest import SIZE


@pytest.fixture(scope="module")
def unknown_videos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("unknown-videos")
    garden = synthetic_video(root / "garden.mp4", seconds=8, seed=33, **SIZE)
    transcode(garden, root / "garden-small.mkv", width=128, height=96, bit_rate=150_000)
    transcode(garden, root / "garden-part.webm", start_s=2, end_s=6, width=128, height=96)
    synthetic_video(root / "park.mp4", seconds=6, seed=44, **SIZE)
    synthetic_video(root / "beach.mp4", seconds=5, seed=55, **SIZE)
    return root


def test_reencodings_and_clips_of_a_new_video_share_a_group(
    database_url: str, unknown_videos: Path
) -> None:
    with session_scope(database_url) as session:
        create_case(session, "OP-GROUPS")
    ingest_exhibit(
        "OP-GROUPS", "EX-1", unknown_videos, IngestOptions(workers=1), database_url=database_url
    )
    with session_scope(database_url) as session:
        rows = session.execute(
            select(FileRecord.logical_path, ExhibitMedia.status, ExhibitMedia.group_id).join(
                ExhibitMedia, ExhibitMedia.media_id == FileRecord.media_id
            )
        ).all()
        groups = {g.id: g for g in session.scalars(select(DupGroup))}
    assert {status for _, status, _ in rows} == {"new"}
    group_of = {path: group for path, _, group in rows}
    garden = {group_of[p] for p in ("garden.mp4", "garden-small.mkv", "garden-part.webm")}
    assert len(garden) == 1
    (garden_group,) = garden
    assert groups[garden_group].size == 3
    assert len({garden_group, group_of["park.mp4"], group_of["beach.mp4"]}) == 3
    assert groups[group_of["park.mp4"]].size == 1
    # The representative is the largest of the three: the original.
    representative = groups[garden_group].representative_media_id
    with session_scope(database_url) as session:
        path = session.scalar(
            select(FileRecord.logical_path).where(FileRecord.media_id == representative)
        )
    assert path == "garden.mp4"

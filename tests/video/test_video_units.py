"""Video facts in ``analyse_file``, the rules of clip categories, and the video schema."""

from __future__ import annotations

import io
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from safeguard.domain.kinds import MediaKind
from safeguard.domain.known import Segment
from safeguard.hashing import analyse_file
from safeguard.hashing.video_analysis import decoder_threads, empty_video_error
from safeguard.store.database import upgrade
from safeguard.store.models import Base
from safeguard.triage.video_matching import segment_category
from tests.video.conftest import VideoExhibit

VIDEO_TABLES = {
    "video_frames",
    "media_previews",
    "bank_video_frames",
    "bank_segments",
    "video_match_details",
}


def test_analyse_file_reads_video_from_a_path_bytes_or_a_stream(video_exhibit: VideoExhibit):
    path = video_exhibit.root / "new" / "park.wmv"
    by_path = analyse_file(path)
    assert (by_path.kind, by_path.format, by_path.error) == (MediaKind.VIDEO, "WMV", None)
    video = by_path.video
    assert video is not None and not video.partial
    assert (video.info.codec, video.info.width, video.info.height) == ("wmv2", 160, 120)
    assert video.info.duration_s == pytest.approx(5.0, abs=0.2)
    assert len(video.frames) == 50 and len(video.keyframes) == 8  # every frame of 5 s at 10 fps
    data = path.read_bytes()
    assert analyse_file(data) == by_path
    assert analyse_file(io.BytesIO(data)) == by_path
    moved = io.BytesIO(b"x" + data)
    moved.read(1)  # a stream that does not start at the file's start cannot be read again
    facts = analyse_file(moved)
    assert facts.digests == by_path.digests and facts.video is None
    assert facts.error is not None and "cannot re-read" in facts.error


def test_bad_videos_keep_their_digests_and_say_why(video_exhibit: VideoExhibit) -> None:
    for name, expected in (
        ("corrupt.mp4", "cannot decode video"),
        ("truncated.mp4", "cannot decode video"),
        ("truncated.mkv", "video damaged or truncated"),
    ):
        facts = analyse_file(video_exhibit.root / "bad" / name)
        assert facts.kind is MediaKind.VIDEO and facts.digests.size > 0
        assert facts.error is not None and expected in facts.error, name
        assert (facts.video is not None) == name.endswith(".mkv")


def test_empty_files_named_like_videos_are_errors() -> None:
    empty = analyse_file(b"")
    assert empty.kind is MediaKind.OTHER and empty.error is None
    assert "empty video file" in (empty_video_error(empty, "dir/clip.MP4") or "")
    assert "empty video file" in (empty_video_error(empty, "a.zip!/b/c.webm") or "")
    assert empty_video_error(empty, "notes.txt") is None
    assert empty_video_error(analyse_file(b"x"), "x.mp4") is None
    assert empty_video_error(None, "x.mp4") is None


def test_worker_processes_decode_with_one_thread() -> None:
    assert decoder_threads() == 0
    with ProcessPoolExecutor(1) as pool:
        assert pool.submit(decoder_threads).result() == 1


@pytest.mark.parametrize(
    ("span", "expected"),
    [
        ((1.0, 5.0), "C"),  # inside the C segment
        ((4.0, 9.0), "A"),  # across both: the more severe
        ((5.6, 9.0), "A"),  # touches C by less than the tolerance
        ((12.5, 20.0), None),  # after every segment: not graded from this entry
        ((2.0, 2.0), None),  # no length
    ],
)
def test_clip_category_from_segments(span: tuple[float, float], expected: str | None) -> None:
    segments = [Segment(0.0, 6.0, "C"), Segment(6.0, 12.0, "A")]
    assert segment_category(segments, span, "uk") == expected


def test_segment_overlap() -> None:
    segment = Segment(2.0, 6.0, "B")
    assert segment.overlap_s(0.0, 3.0) == 1.0
    assert segment.overlap_s(3.0, 4.0) == 1.0
    assert segment.overlap_s(6.0, 9.0) == 0.0


def test_video_migration_matches_the_models(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'schema.sqlite'}"
    upgrade(url)
    engine = create_engine(url)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()

    def tables(change: object) -> set[str]:
        """Table names a change mentions: Table, Index/Constraint/Column tables, or names."""
        item = change[0] if isinstance(change, list) else change
        names: set[str] = set()
        for part in item[1:]:  # type: ignore[index]
            if isinstance(part, str):
                names.add(part)
            for owner in (part, getattr(part, "table", None)):
                if owner is not None and hasattr(owner, "columns") and hasattr(owner, "name"):
                    names.add(owner.name)
        return names

    assert [c for c in diff if tables(c) & VIDEO_TABLES] == []
    assert set(Base.metadata.tables) >= VIDEO_TABLES

"""Previews and keyframes are sealed at rest; closing and purging a case removes them for good."""

from __future__ import annotations

import io
import os
import stat
from types import SimpleNamespace

import pytest
from cryptography.exceptions import InvalidTag
from PIL import Image
from sqlalchemy import func, select
from typer.testing import CliRunner

from safeguard.banks.bank_files import import_bank_file
from safeguard.cli.main import app
from safeguard.demo.corpus import DemoCorpus, generate_demo
from safeguard.review.previews import prepare_case
from safeguard.store import audit, keys
from safeguard.store.cases import create_case
from safeguard.store.database import session_scope
from safeguard.store.models import ExhibitMedia, FileRecord, Media
from safeguard.store.previews import get_preview
from safeguard.store.review_models import AuditEvent
from safeguard.store.video import keyframes, store_video_facts
from safeguard.store.video_models import KEYFRAME, MediaPreview
from safeguard.triage.ingest import IngestOptions, ingest_exhibit
from safeguard.triage.retention import RetentionError, close_case, purge_case

JPEG_START = b"\xff\xd8\xff"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> DemoCorpus:
    return generate_demo(tmp_path_factory.mktemp("sealed-demo"), seed=5, n_base=10)


def _ingest(url: str, corpus: DemoCorpus, case: str, exhibit: str = "EX1") -> None:
    with session_scope(url) as session:
        create_case(session, case)
    if case == "OP-A":
        import_bank_file(corpus.bank_csv, "demo", database_url=url)
    ingest_exhibit(case, exhibit, corpus.exhibit_dir, IngestOptions(workers=1), database_url=url)
    prepare_case(case, url)


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.radial_gradient("L").convert("RGB").save(out, "JPEG")
    return out.getvalue()


def test_previews_and_keyframes_are_sealed_with_a_key_outside_the_store(
    database_url: str, corpus: DemoCorpus, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAFEGUARD_KEY_DIR", str(tmp_path / "own-keys"))  # replaced below
    _ingest(database_url, corpus, "OP-A")
    with session_scope(database_url) as session:
        rows = session.execute(
            select(MediaPreview.media_id, MediaPreview.kind, MediaPreview.jpeg)
        ).all()
        assert rows
        for media_id, kind, blob in rows:
            assert JPEG_START not in blob[:64] and blob.startswith(b"SGM1")
            plain = get_preview(session, media_id, kind)
            assert plain.startswith(JPEG_START) and Image.open(io.BytesIO(plain)).size
        media_id = rows[0][0]
        strip = [_jpeg(), _jpeg()[:-2] + b"\xff\xd9"]
        store_video_facts(session, {media_id: SimpleNamespace(frames=[], keyframes=strip)})
    with session_scope(database_url) as session:
        raw = session.scalars(select(MediaPreview.jpeg).where(MediaPreview.kind == KEYFRAME)).all()
        assert raw and not any(blob.startswith(JPEG_START) for blob in raw)
        assert keyframes(session, media_id) == strip
    key = keys.key_dir(database_url) / "media.key"
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    key.write_bytes(os.urandom(32))  # a copy of the store without its key shows nothing
    keys._LOADED.clear()
    with session_scope(database_url) as session, pytest.raises(InvalidTag):
        get_preview(session, rows[0][0], rows[0][1])


def test_closing_then_purging_removes_previews_for_good_and_keeps_the_rest(
    database_url: str, corpus: DemoCorpus
) -> None:
    _ingest(database_url, corpus, "OP-A")
    with session_scope(database_url) as session:
        before = session.scalar(select(func.count()).select_from(MediaPreview))
        statuses = session.scalar(select(func.count()).select_from(ExhibitMedia))
        assert before > 0
        with pytest.raises(RetentionError):
            purge_case(session, "OP-A")
    with session_scope(database_url) as session:
        close_case(session, "OP-A", username="sup")
    with session_scope(database_url) as session:
        summary = purge_case(session, "OP-A", username="sup")
    assert sum(summary.deleted.values()) == before
    with session_scope(database_url) as session:
        assert session.scalar(select(func.count()).select_from(MediaPreview)) == 0
        assert session.scalar(select(func.count()).select_from(ExhibitMedia)) == statuses
        assert session.scalar(select(func.count()).select_from(Media)) > 0
        body = session.scalar(select(AuditEvent.body).where(AuditEvent.action == "case_purged"))
        assert '"deleted":{' in body and str(summary.deleted["thumb"]) in body
        assert audit.verify(session) is None
    assert prepare_case("OP-A", database_url).stored == 0  # a purged case gets no new previews
    with session_scope(database_url) as session:
        assert session.scalar(select(func.count()).select_from(MediaPreview)) == 0


def test_media_shared_with_an_open_case_keep_their_previews(
    sqlite_url: str, corpus: DemoCorpus
) -> None:
    _ingest(sqlite_url, corpus, "OP-A")
    _ingest(sqlite_url, corpus, "OP-B")  # the same exhibit again, in another case
    runner = CliRunner()
    assert runner.invoke(app, ["case", "purge", "OP-A", "--yes"]).exit_code == 1
    assert runner.invoke(app, ["case", "close", "OP-A"]).exit_code == 0
    assert runner.invoke(app, ["case", "purge", "OP-A"]).exit_code == 1  # needs --yes
    result = runner.invoke(app, ["case", "purge", "OP-A", "--yes"])
    assert result.exit_code == 0, result.stderr
    assert "deleted no previews" in result.stdout
    with session_scope(sqlite_url) as session:
        assert session.scalar(select(func.count()).select_from(MediaPreview)) > 0
        assert session.scalar(select(func.count()).select_from(FileRecord)) > 0


def test_an_exhibit_is_not_shown_complete_while_its_previews_are_stored(
    sqlite_url: str, corpus: DemoCorpus, monkeypatch: pytest.MonkeyPatch
) -> None:
    from safeguard.review import previews
    from safeguard.store.models import Exhibit

    with session_scope(sqlite_url) as session:
        create_case(session, "OP-S")
    import_bank_file(corpus.bank_csv, "demo", database_url=sqlite_url)
    # Workers make previews during the ingest; without them the fallback preparation does,
    # and that is the window this test watches.
    options = IngestOptions(workers=1, previews=False)
    ingest_exhibit("OP-S", "EX1", corpus.exhibit_dir, options, None, sqlite_url)
    states: list[str] = []
    original = previews._prepare_exhibit

    def watched(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        with session_scope(sqlite_url) as session:
            states.append(session.scalar(select(Exhibit.state)))
        return original(*args, **kwargs)

    monkeypatch.setattr(previews, "_prepare_exhibit", watched)
    assert prepare_case("OP-S", sqlite_url).stored > 0
    with session_scope(sqlite_url) as session:
        assert states == ["previews"] and session.scalar(select(Exhibit.state)) == "complete"

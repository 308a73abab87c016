"""Previews: after an ingest, the pictures that need review get a small preview in the store,
and what the server sends by default is blurred and greyscale."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import select
from typer.testing import CliRunner

from safeguard.banks.bank_files import import_bank_file
from safeguard.cli.main import app
from safeguard.demo.corpus import DemoCorpus
from safeguard.review.previews import blurred, prepare_case
from safeguard.store.cases import create_case
from safeguard.store.database import session_scope
from safeguard.store.models import ExhibitMedia, Media
from safeguard.store.previews import get_preview
from safeguard.store.video_models import MediaPreview
from safeguard.triage.ingest import IngestOptions, ingest_exhibit


@pytest.fixture(scope="module")
def small_demo(demo_corpus: DemoCorpus) -> DemoCorpus:
    return demo_corpus


def ingest(
    url: str, corpus: DemoCorpus, root: Path | None = None, *, previews: bool = True
) -> None:
    with session_scope(url) as session:
        create_case(session, "OP-PREVIEW")
    import_bank_file(corpus.bank_csv, "demo", database_url=url)
    options = IngestOptions(workers=1, previews=previews)
    ingest_exhibit("OP-PREVIEW", "EX1", root or corpus.exhibit_dir, options, database_url=url)


def high_frequency(image: Image.Image) -> float:
    """Share of the (windowed) spectrum's power above 1/16 cycle per pixel: detail and edges."""
    a = np.asarray(image.convert("L"), dtype=np.float64)
    a = (a - a.mean()) * np.outer(np.hanning(a.shape[0]), np.hanning(a.shape[1]))
    power = np.abs(np.fft.fft2(a)) ** 2
    fy, fx = np.meshgrid(np.fft.fftfreq(a.shape[0]), np.fft.fftfreq(a.shape[1]), indexing="ij")
    return float(power[np.hypot(fx, fy) > 1 / 16].sum() / power.sum())


def test_previews_are_stored_only_for_pictures_needing_review(
    database_url: str, small_demo: DemoCorpus
) -> None:
    ingest(database_url, small_demo)
    # The ingest workers made them (one pass): nothing is left for prepare_case to do.
    summary = prepare_case("OP-PREVIEW", database_url)
    assert summary.stored == 0 and summary.already > 0 and not summary.problems
    with session_scope(database_url) as session:
        status = dict(session.execute(select(ExhibitMedia.media_id, ExhibitMedia.status)).all())
        kinds = dict(session.execute(select(Media.id, Media.kind)).all())
        broken = set(session.scalars(select(Media.id).where(Media.decode_error.is_not(None))))
        previews = session.execute(select(MediaPreview.media_id, MediaPreview.kind)).all()
    wanted = {
        m
        for m, s in status.items()
        if s in ("new", "graded_perceptual", "conflicting") and kinds[m] == "image"
    }
    thumbs = {m for m, k in previews if k == "thumb"}
    assert thumbs == wanted - broken
    assert {m for m, k in previews if k == "full"} == thumbs
    assert not any(status[m] == "graded_exact" for m in thumbs)
    assert summary.already == len(thumbs)


def test_prepare_case_stores_what_an_ingest_without_previews_left(
    database_url: str, small_demo: DemoCorpus
) -> None:
    ingest(database_url, small_demo, previews=False)
    summary = prepare_case("OP-PREVIEW", database_url)
    assert summary.stored > 0 and not summary.problems
    with session_scope(database_url) as session:
        thumbs = set(
            session.scalars(select(MediaPreview.media_id).where(MediaPreview.kind == "thumb"))
        )
    assert summary.stored == len(thumbs)
    again = prepare_case("OP-PREVIEW", database_url)
    assert again.stored == 0 and again.already == summary.stored


def test_the_served_thumbnail_is_greyscale_and_blurred(
    sqlite_url: str, small_demo: DemoCorpus
) -> None:
    database_url = sqlite_url
    ingest(database_url, small_demo)
    prepare_case("OP-PREVIEW", database_url)
    with session_scope(database_url) as session:
        keys = session.execute(
            select(MediaPreview.media_id, MediaPreview.kind).order_by(MediaPreview.media_id)
        ).all()
        rows = [(k, get_preview(session, m, k)) for m, k in keys]
    thumbs = [j for k, j in rows if k == "thumb"]
    fulls = [j for k, j in rows if k == "full"]
    assert thumbs
    for thumb, full in zip(thumbs, fulls, strict=True):
        original = Image.open(io.BytesIO(thumb))
        assert original.mode == "RGB" and max(original.size) <= 320
        assert max(Image.open(io.BytesIO(full)).size) <= 1024
        served = Image.open(io.BytesIO(blurred(thumb)))
        rgb = np.asarray(served.convert("RGB"), dtype=np.int16)
        assert (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all()
        assert served.size == original.size
        assert high_frequency(served) < 0.05 * high_frequency(original)


def test_bytes_that_no_longer_match_their_hash_get_no_preview(
    sqlite_url: str, small_demo: DemoCorpus, tmp_path: Path
) -> None:
    database_url = sqlite_url
    root = tmp_path / "exhibit"
    shutil.copytree(small_demo.exhibit_dir, root)
    ingest(database_url, small_demo, root, previews=False)
    unseen = next(p for p in small_demo.by_role("unseen") if "!/" not in p.logical_path)
    target = root / unseen.logical_path
    target.write_bytes(target.read_bytes() + b"tampered")
    summary = prepare_case("OP-PREVIEW", database_url)
    assert any(unseen.logical_path in p and "SHA-256" in p for p in summary.problems)
    with session_scope(database_url) as session:
        media_id = session.scalar(select(Media.id).where(Media.sha256 == unseen.sha256))
        assert session.get(MediaPreview, (media_id, "thumb", 0)) is None


def test_the_ingest_command_prepares_review(sqlite_url: str, small_demo: DemoCorpus) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["case", "create", "OP-CLI"]).exit_code == 0
    result = runner.invoke(
        app, ["ingest", "OP-CLI", "EX1", str(small_demo.exhibit_dir), "--workers", "1"]
    )
    assert result.exit_code == 0, result.output
    # One pass: the workers made the previews; counted for this exhibit.
    assert "pictures for review with previews" in result.stdout
    assert "review (exhibit EX1): 0 previews stored" in result.stderr
    with session_scope(sqlite_url) as session:
        assert session.scalar(select(MediaPreview.media_id).limit(1)) is not None

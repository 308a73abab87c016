"""Report detail and one-pass previews (issue 11 items 3-4, issue 15 "one pass").

A small benign exhibit ingested end to end: the report names the rotation/flip that matched,
lists the pictures that can only ever match by digest, counts unique media one way everywhere;
the ingest workers make the previews (no second pass over the exhibit) and they are counted per
exhibit.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import select

from safeguard.banks.bank_files import import_bank_file
from safeguard.demo.pictures import render_picture
from safeguard.hashing.pdq import pdq_from_image
from safeguard.reports.case_report import build_case_report
from safeguard.reports.render import render
from safeguard.review import previews as review_previews
from safeguard.review.previews import prepare_case
from safeguard.store.cases import create_case
from safeguard.store.database import session_scope
from safeguard.store.models import ExhibitMedia, Media
from safeguard.store.previews import get_preview
from safeguard.store.review_models import FULL, THUMB
from safeguard.triage.ingest import IngestOptions, ingest_exhibit


def _save(image: Image.Image, path: Path, fmt: str) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt)
    path.write_bytes(out.getvalue())
    return out.getvalue()


@pytest.fixture
def exhibits(tmp_path: Path) -> dict:
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    shared = _save(render_picture(1, (400, 300)), one / "a.jpg", "JPEG")
    (two / "a-copy.jpg").write_bytes(shared)
    _save(render_picture(2, (400, 300)), one / "b.png", "PNG")
    turned = render_picture(3, (384, 384))
    _save(turned.transpose(Image.Transpose.ROTATE_90), one / "turned.png", "PNG")
    known = _save(render_picture(4, (400, 300)), one / "known.jpg", "JPEG")
    _save(Image.new("RGB", (300, 200), (90, 90, 90)), one / "flat.png", "PNG")
    grey = np.asarray(render_picture(5, (320, 240)).convert("L")).astype(np.uint16)
    _save(Image.fromarray(grey), one / "grey16.png", "PNG")  # 16-bit, values 0-255
    (one / "notes.txt").write_text("not a picture\n")
    _save(render_picture(6, (400, 300)), two / "c.jpg", "JPEG")
    bank = tmp_path / "bank.csv"
    bank.write_text(
        "sha256,pdq,category\n"
        f"{hashlib.sha256(known).hexdigest()},,A\n"
        f",{pdq_from_image(turned).hex},B\n"
    )
    return {"one": one, "two": two, "bank": bank}


def _ingest(url: str, exhibits: dict) -> dict:
    with session_scope(url) as session:
        create_case(session, "OP-DETAIL")
    assert import_bank_file(exhibits["bank"], "kb", database_url=url).imported == 2
    options = IngestOptions(workers=1, batch=4)
    return {
        ref: ingest_exhibit("OP-DETAIL", ref, exhibits[name], options, database_url=url)
        for ref, name in (("EX1", "one"), ("EX2", "two"))
    }


def test_report_detail_and_one_pass_previews(
    database_url: str, exhibits: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    summaries = _ingest(database_url, exhibits)
    with session_scope(database_url) as session:
        report = build_case_report(session, "OP-DETAIL")
        media = {
            m.sha256: (m, em.status)
            for em, m in session.execute(
                select(ExhibitMedia, Media).join(Media, Media.id == ExhibitMedia.media_id)
            )
        }
        by_path = {}
        for path in exhibits["one"].iterdir():
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            by_path[path.name] = media[digest]
        # One pass: the workers' previews are there for what needs review, not for known items.
        for name in ("a.jpg", "b.png", "turned.png", "flat.png", "grey16.png"):
            row, status = by_path[name]
            assert status in ("new", "graded_perceptual"), name
            for kind in (THUMB, FULL):
                jpeg = get_preview(session, row.id, kind)
                assert jpeg is not None and jpeg[:2] == b"\xff\xd8", (name, kind)
        known, status = by_path["known.jpg"]
        assert status == "graded_exact"
        assert get_preview(session, known.id, THUMB) is None  # no one needs to see it again
        assert by_path["grey16.png"][0].pdq is not None  # 16-bit PNG of 0-255: a real hash
        assert by_path["flat.png"][0].pdq is None  # no constant hash stored

    # Previews counted per exhibit: EX2 has two pictures for review (one shared with EX1).
    assert summaries["EX1"].previews == 5 and summaries["EX2"].previews == 2
    # ... and nothing is left to prepare, so no second read/decode of any file.
    monkeypatch.setattr(
        review_previews, "make_previews", lambda *a, **k: pytest.fail("decoded again")
    )
    for ref, expected in (("EX1", 5), ("EX2", 2)):
        again = prepare_case("OP-DETAIL", database_url, exhibit_reference=ref)
        assert (again.stored, again.already, again.problems) == (0, expected, [])

    # The rotation/flip that matched.
    grades = {c.paths[0]: c for c in report.citations}
    assert grades["turned.png"].orientation == "rotated 90° clockwise"
    assert grades["known.jpg"].orientation is None  # an exact (digest) match
    text = render(report, "text")
    assert "rotated 90° clockwise" in text
    assert "rotated 90° clockwise" in render(report, "html")
    assert any(
        row.startswith("grade,") and "rotated 90° clockwise" in row
        for row in render(report, "csv").splitlines()
    )

    # Not perceptually matchable: listed with the reason, in every format.
    weak = {n.paths[0]: n for n in report.not_matchable}
    assert set(weak) == {"flat.png"}
    assert "no PDQ hash" in weak["flat.png"].reason
    assert "Not perceptually matchable" in text and "flat.png" in text
    assert "not_perceptually_matchable,EX1" in render(report, "csv")

    # One definition of unique media: pictures and videos, the same as the tables count.
    ex1 = next(s for s in report.exhibits if s.reference == "EX1")
    assert ex1.not_media == 1
    assert ex1.unique_media == ex1.images.unique_items + ex1.videos.unique_items == 6
    assert ex1.not_perceptually_matchable == 1

"""Issue 11's smaller defects: schema addresses, concurrent ingests, index location, previews."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from typer.testing import CliRunner

from safeguard.banks.bank_files import import_bank_file
from safeguard.banks.lookup import HashQuery, lookup
from safeguard.cli.main import app as cli
from safeguard.demo.corpus import DemoCorpus
from safeguard.hashing.facts import ImageRejected
from safeguard.review.previews import make_previews
from safeguard.review.settings import ReviewSettings
from safeguard.store import api_tokens
from safeguard.store.cases import create_case
from safeguard.store.database import session_scope
from safeguard.store.locks import ExhibitBusy, exhibit_lock
from safeguard.triage.ingest import IngestOptions, ingest_exhibit
from safeguard.web.app import create_app


def test_the_openapi_schema_and_docs_are_where_the_readme_says_with_a_token(
    database_url: str,
) -> None:
    with session_scope(database_url) as session:
        token = api_tokens.issue_token(session, "tool")
    client = TestClient(create_app(ReviewSettings(), database_url))
    auth = {"Authorization": f"Bearer {token}"}
    for path in ("/openapi.json", "/api/openapi.json"):
        assert client.get(path, follow_redirects=False).status_code in (303, 401)
        schema = client.get(path, headers=auth).json()
        upload = schema["paths"]["/api/v1/lookup/file"]["post"]["requestBody"]["content"]
        assert "multipart/form-data" in upload
    bad = {"Authorization": "Bearer sgt_nope"}
    assert client.get("/openapi.json", headers=bad).status_code == 401
    page = client.get("/docs", headers=auth)
    assert page.status_code == 200 and "POST /api/v1/lookup/file" in page.text
    assert client.get("/docs", follow_redirects=False).status_code == 303


def test_a_second_ingest_of_one_exhibit_stops_with_a_clear_error(
    database_url: str, tmp_path: Path
) -> None:
    exhibit = tmp_path / "exhibit"
    exhibit.mkdir()
    (exhibit / "a.txt").write_bytes(b"a")
    with session_scope(database_url) as session:
        create_case(session, "OP-LOCK")
    with exhibit_lock(database_url, "OP-LOCK", "EX1"):
        with pytest.raises(ExhibitBusy, match="being ingested by another process"):
            ingest_exhibit("OP-LOCK", "EX1", exhibit, IngestOptions(workers=1), None, database_url)
        result = CliRunner().invoke(cli, ["ingest", "OP-LOCK", "EX1", str(exhibit)])
        assert result.exit_code == 1 and "being ingested by another process" in result.stderr
        # another exhibit of the case is not held up
        ingest_exhibit("OP-LOCK", "EX2", exhibit, IngestOptions(workers=1), None, database_url)
    summary = ingest_exhibit(
        "OP-LOCK", "EX1", exhibit, IngestOptions(workers=1), None, database_url
    )
    assert summary.files_seen == 1


def test_bank_indexes_are_kept_beside_the_database_not_in_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, demo_corpus: DemoCorpus
) -> None:
    monkeypatch.delenv("SAFEGUARD_INDEX_DIR")
    store = tmp_path / "store"
    url = f"sqlite:///{store / 'safeguard.sqlite'}"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    import_bank_file(demo_corpus.bank_csv, "demo", database_url=url)
    with session_scope(url) as session:
        lookup(session, [HashQuery("pdq", "0" * 64)], 31)
    assert list((store / "indexes").glob("bank-*.pdq"))
    assert not (elsewhere / "var").exists()


def _png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (90, 120, 30)).save(out, "PNG")
    return out.getvalue()


def test_previews_use_the_hashing_pixel_limit_not_pillows_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    picture = _png(400, 300)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # Pillow's own limit, much smaller
    thumb, full = make_previews(picture)
    assert Image.MAX_IMAGE_PIXELS == 1000  # restored afterwards
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    assert Image.open(io.BytesIO(full)).size == (400, 300)
    with pytest.raises(
        (ImageRejected, Image.DecompressionBombError, Image.DecompressionBombWarning)
    ):
        make_previews(picture, max_pixels=100_000)
    assert os.environ.get("SAFEGUARD_KEY_DIR")  # keys stay in the test's folder

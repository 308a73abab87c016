"""Files in referrals: reported hashes against the banks, uploads matched like an exhibit in a
case opened for the referral, and the authority gate for files the ESP did not view."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from safeguard.demo.pictures import render_picture
from safeguard.referrals import service, views
from safeguard.referrals.service import Actor, import_referrals
from safeguard.review import auth, media
from safeguard.review.previews import prepare_case
from safeguard.store.database import session_scope
from safeguard.store.models import Case
from safeguard.store.referral_models import Referral
from safeguard.triage.banks import import_bank_file
from tests.referrals.builders import full_report, write_report
from tests.review.helpers import make_user


@pytest.fixture(autouse=True)
def _setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFEGUARD_REFERRAL_UPLOADS", str(tmp_path / "uploads"))
    monkeypatch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024))


def _jpeg(seed: int) -> bytes:
    out = io.BytesIO()
    render_picture(seed, (256, 192)).save(out, "JPEG", quality=90)
    return out.getvalue()


def _bundle(tmp_path: Path, viewed: str = "false") -> tuple[Path, bytes, bytes]:
    """A report with two files: an upload (new to every bank) and a hash a bank knows."""
    upload, known = _jpeg(11), _jpeg(12)
    report = full_report("8100001", md5=hashlib.md5(upload).hexdigest())
    second = dict(report["fileDetails"][0])
    second.update(
        fileId="F2",
        fileName="not-in-bundle.jpg",
        fileViewedByEsp="true",
        originalFileHash=[{"@hashType": "MD5", "#text": hashlib.md5(known).hexdigest()}],
    )
    report["fileDetails"][0]["fileViewedByEsp"] = viewed
    report["fileDetails"].append(second)
    folder = tmp_path / "bundle"
    write_report(folder, report)
    (folder / "8100001").mkdir()
    (folder / "8100001" / "upload-1.jpg").write_bytes(upload)
    bank = tmp_path / "bank.csv"
    bank.write_text(f"md5,category\n{hashlib.md5(known).hexdigest()},B\n", encoding="utf-8")
    return folder, upload, known


def test_files_are_matched_and_gated_until_authority_is_recorded(
    database_url: str, tmp_path: Path
) -> None:
    folder, upload, _ = _bundle(tmp_path)
    import_bank_file(tmp_path / "bank.csv", "caid", database_url=database_url)
    done = import_referrals(folder, source="ncmec", actor=Actor("t"), database_url=database_url)
    assert len(done.cases) == 1
    prepare_case(done.cases[0], database_url)
    referral_id = done.imported[0][0]
    with session_scope(database_url) as session:
        d = views.detail(session, referral_id, actor=Actor("t"))
        upload_row, hash_row = d["files"]
        assert upload_row["match_status"] == "new" and upload_row["media_id"] is not None
        assert hash_row["match_status"] == "graded_exact" and hash_row["category"] == "B"
        assert d["file_counts"] == {"category:B": 1, "graded_exact": 1, "new": 1}
        referral = session.get(Referral, referral_id)
        case = session.get(Case, referral.case_id)
        reviewer = make_user(session, "rx", "reviewer", case.id)
        officer = make_user(session, "io", "intelligence")
        exhibit_id, media_id = referral.exhibit_id, upload_row["media_id"]
        assert media.blurred_preview(session, reviewer, case, exhibit_id, media_id)
        with pytest.raises(media.AuthorityRequired, match=f"referral {referral_id}"):
            media.reveal(session, reviewer, case, exhibit_id, media_id)
        with pytest.raises(media.AuthorityRequired):
            media.reveal(session, reviewer, case, exhibit_id, media_id, full=True)
        with pytest.raises(service.NotPermitted):
            service.record_authority(
                session, referral_id, reference="X", actor=Actor("rx", reviewer.id, "reviewer")
            )
        who = Actor(officer.username, officer.id, officer.role)
        with pytest.raises(service.Refused, match="reference"):
            service.record_authority(session, referral_id, reference=" ", actor=who)
        rows = service.record_authority(session, referral_id, reference="AUTH-42", actor=who)
        assert [r.id for r in rows] == [upload_row["id"]]
    with session_scope(database_url) as session:
        case = session.get(Case, case.id)
        reviewer = session.get(type(reviewer), reviewer.id)
        images = media.reveal(session, reviewer, case, exhibit_id, media_id)
        assert images and images[0][:2] == b"\xff\xd8"
        d = views.detail(session, referral_id, actor=Actor("t"))
        assert d["files"][0]["authority_by"] == "io"
        assert d["files"][0]["authority_reference"] == "AUTH-42"
        with pytest.raises(service.Refused, match="no file"):
            service.record_authority(session, referral_id, reference="again", actor=who)


def test_viewed_files_and_ungated_sources_need_no_authority(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAFEGUARD_VIEW_AUTHORITY_SOURCES", "nca")
    folder, _, _ = _bundle(tmp_path)
    done = import_referrals(folder, source="ncmec", actor=Actor("t"), database_url=database_url)
    prepare_case(done.cases[0], database_url)
    with session_scope(database_url) as session:
        d = views.detail(session, done.imported[0][0], actor=Actor("t"))
        assert d["files"][0]["file_viewed_by_esp"] is False
        assert d["files"][0]["authority_required"] is False
        referral = session.get(Referral, done.imported[0][0])
        case = session.get(Case, referral.case_id)
        reviewer = make_user(session, "rx", "reviewer", case.id)
        assert media.reveal(session, reviewer, case, referral.exhibit_id, d["files"][0]["media_id"])


def test_the_workstation_answers_403_until_authority_then_reveals(
    database_url: str, tmp_path: Path
) -> None:
    from fastapi.testclient import TestClient

    from safeguard.review.settings import ReviewSettings
    from safeguard.web.app import create_app
    from tests.web.conftest import login

    folder, _, _ = _bundle(tmp_path)
    done = import_referrals(folder, source="ncmec", actor=Actor("t"), database_url=database_url)
    prepare_case(done.cases[0], database_url)
    referral_id = done.imported[0][0]
    with session_scope(database_url) as session:
        referral = session.get(Referral, referral_id)
        make_user(session, "rx", "reviewer", referral.case_id)
        make_user(session, "io", "intelligence")
        media_id = views.detail(session, referral_id, actor=Actor("t"))["files"][0]["media_id"]
        url = f"/api/cases/{referral.case_id}/items/{referral.exhibit_id}/{media_id}"
    app = create_app(ReviewSettings(), database_url)
    rx = TestClient(app, base_url="http://testserver")
    token = login(rx, "rx")
    assert rx.get(url + "/blurred").status_code == 200
    for action in ("reveal", "full"):
        refused = rx.post(f"{url}/{action}", headers={"X-CSRF-Token": token})
        assert refused.status_code == 403 and "authority" in refused.json()["detail"]
    io_client = TestClient(app, base_url="http://testserver")
    io_token = login(io_client, "io")
    recorded = io_client.post(
        f"/api/referrals/{referral_id}/authority",
        json={"reference": "AUTH-1"},
        headers={"X-CSRF-Token": io_token},
    )
    assert recorded.status_code == 200
    shown = rx.post(f"{url}/reveal", headers={"X-CSRF-Token": token})
    assert shown.status_code == 200 and shown.json()["images"]

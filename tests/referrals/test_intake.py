"""Intake into the store: every schema field round-trips, XML and JSON agree, re-import changes
nothing, a malformed report names its file and line while the others import."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from safeguard.referrals import views
from safeguard.referrals.service import Actor, import_referrals
from safeguard.store.database import session_scope
from safeguard.store.referral_models import (
    Identifier,
    Referral,
    ReferralDocument,
    ReferralFile,
    ReferralParty,
)
from safeguard.store.review_models import AuditEvent
from tests.referrals.builders import full_report, write_report

ACTOR = Actor("tester")


@pytest.fixture(autouse=True)
def _uploads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFEGUARD_REFERRAL_UPLOADS", str(tmp_path / "uploads"))


def _detail(url: str, referral_id: int) -> dict:
    with session_scope(url) as session:
        return views.detail(session, referral_id, actor=ACTOR)


def _only(items: list[dict], **where: object) -> dict:
    found = [i for i in items if all(i.get(k) == v for k, v in where.items())]
    assert len(found) == 1, (where, found)
    return found[0]


def test_every_schema_field_round_trips_into_the_store(database_url: str, tmp_path: Path) -> None:
    path = write_report(tmp_path / "in", full_report())
    report = import_referrals(path, source="ncmec", actor=ACTOR, database_url=database_url)
    assert report.errors == [] and len(report.imported) == 1
    d = _detail(database_url, report.imported[0][0])
    assert d["external_id"] == "7100001" and d["source"] == "ncmec" and d["state"] == "received"
    assert d["document"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    inc = d["incident"]
    assert inc["incident_type"] == "Online Enticement of Children for Sexual Acts"
    assert inc["platform"] == "PixShare"
    assert inc["escalate_to_high_priority"] is True
    assert inc["report_annotations"] == "sextortion csamSolicitation"
    assert inc["incident_at"] == "2026-03-01T09:00:00Z" and inc["incident_offset_minutes"] == 60
    assert inc["incident_at_original"] == "2026-03-01T10:00:00+01:00"
    assert inc["incident_description"] == "time of the last upload"
    assert d["reporter_name"] == "PixShare Inc."
    assert d["reporter"]["reportingPerson"]["email"] == "t@example.com"
    assert d["law_enforcement"] == {"agencyName": "Test Agency", "caseNumber": "LE-1"}
    assert d["additional_info"] == "report info"
    assert d["extra"]["internetDetails"][0]["webPageIncident"]["url"].endswith("/p/1")

    reported = _only(d["parties"], role="reported")
    expected_party = {
        "first_name": "Avery",
        "last_name": "Example",
        "age": "34",
        "date_of_birth": "1991-04-05",
        "esp_identifier": "PX123456789",
        "esp_service": "PixShare",
        "compromised_account": False,
        "screen_name": "@AveryX",
        "profile_bio": "Just a test bio",
        "third_party_user_reported": False,
        "prior_ct_reports": "111 222",
        "group_identifier": "group-7",
        "account_temporarily_disabled": True,
        "account_permanently_disabled": False,
        "estimated_location": "Testville, GB",
        "associated_account": "PX987654321",
        "additional_info": "reported user info",
    }
    assert {k: reported[k] for k in expected_party} == expected_party
    assert _only(d["parties"], role="intended_recipient")["first_name"] == "Rec"
    assert _only(d["parties"], role="victim")["age"] == "13"

    ids = d["identifiers"]
    assert _only(ids, kind="name", original="Avery Example")["value"] == "avery example"
    assert _only(ids, kind="phone", original="07700 900123")["value"] == "+447700900123"
    assert _only(ids, kind="phone", original="+44 20 7946 0555")["value"] == "+442079460555"
    email = _only(ids, kind="email", original="Avery.Example@EXAMPLE.com")
    assert email["value"] == "avery.example@example.com"
    assert _only(ids, kind="email", original="second@example.org")["valid"]
    assert _only(ids, kind="address")["value"] == "1 test street, testville, sw1a 1aa, gb"
    assert _only(ids, kind="postcode")["value"] == "SW1A 1AA"
    assert _only(ids, kind="date_of_birth")["value"] == "1991-04-05"
    account = _only(ids, kind="esp_account", original="PX123456789")
    assert account["service"] == "PixShare"
    assert _only(ids, kind="esp_account", original="PX987654321")["note"] == "associatedAccount"
    assert _only(ids, kind="screen_name", original="@AveryX")["value"] == "averyx"
    assert {i["original"] for i in ids if i["kind"] == "display_name"} == {"Avery E.", "AE"}
    assert _only(ids, kind="profile_url")["original"].endswith("/u/averyx")
    v4 = _only(ids, kind="ip", value="192.0.2.10")
    assert v4["event_at"] == "2026-03-01T14:15:30Z" and v4["event_offset_minutes"] == -300
    assert v4["event_at_original"] == "2026-03-01T09:15:30-05:00"
    assert v4["port"] == 51234 and v4["event_name"] == "Login" and v4["possible_proxy"] is False
    v6 = _only(ids, kind="ip", value="2001:db8::1")
    assert v6["original"] == "2001:DB8:0:0:0:0:0:1" and v6["possible_proxy"] is True
    assert v6["port"] is None and v6["event_offset_minutes"] == 0
    assert _only(ids, kind="device_id", value="ABCDEF0123456789")["note"] == "IDFA"
    assert _only(ids, kind="screen_name", original="recipient1")["party_id"] != v4["party_id"]

    (f,) = d["files"]
    assert f == {
        **f,
        "file_id": "F1",
        "file_name": "upload-1.jpg",
        "original_file_name": "IMG_0001.jpg",
        "uploaded_at": "2026-03-01T17:00:00Z",
        "uploaded_offset_minutes": -480,
        "file_viewed_by_esp": False,
        "exif_viewed_by_esp": True,
        "publicly_available": False,
        "file_relevance": "Reported",
        "file_annotations": "possibleSelfProduction generativeAi",
        "industry_classification": "A1",
        "md5": "0" * 31 + "1",
        "sha1": "a" * 40,
        "match_status": "unknown",
        "authority_required": True,
    }
    file_ip = _only(ids, kind="ip", value="198.51.100.7")
    assert file_ip["file_row_id"] == f["id"] and file_ip["port"] == 4444
    assert _only(ids, kind="device_id", value="490154203237518")["file_row_id"] == f["id"]
    with session_scope(database_url) as session:
        row = session.scalar(select(ReferralFile))
        assert json.loads(row.details_json) == [
            {"name": "Make", "value": "TestCam", "type": "EXIF"}
        ]
        assert json.loads(row.hashes_json)[0]["hashType"] == "MD5"
        doc = session.scalar(select(ReferralDocument))
        assert doc.content == path.read_bytes()  # the original, unchanged


def test_xml_and_json_of_one_report_store_the_same_facts(database_url: str, tmp_path: Path):
    xml = write_report(tmp_path / "x", full_report())
    js = write_report(tmp_path / "j", full_report(), fmt="json")
    a = import_referrals(xml, source="ncmec", actor=ACTOR, database_url=database_url)
    b = import_referrals(js, source="nca", actor=ACTOR, database_url=database_url)
    da, db = _detail(database_url, a.imported[0][0]), _detail(database_url, b.imported[0][0])

    def facts(d: dict) -> dict:
        strip = {"id", "party_id", "file_row_id", "location"}  # line numbers: XML only
        return {
            "incident": d["incident"],
            "reporter": d["reporter"],
            "extra": d["extra"],
            "parties": [{k: v for k, v in p.items() if k != "id"} for p in d["parties"]],
            "identifiers": [
                {k: v for k, v in i.items() if k not in strip} for i in d["identifiers"]
            ],
            "files": [{k: v for k, v in f.items() if k != "id"} for f in d["files"]],
        }

    assert facts(da) == facts(db)


def _counts(url: str) -> tuple[int, ...]:
    with session_scope(url) as session:
        return tuple(
            session.scalar(select(func.count()).select_from(model))
            for model in (
                Referral,
                ReferralDocument,
                Identifier,
                ReferralParty,
                ReferralFile,
                AuditEvent,
            )
        )


def test_importing_again_changes_nothing_and_says_so(database_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    write_report(folder, full_report("1"))
    write_report(folder, full_report("2"), fmt="json")
    (folder / "frag.csv").write_text(
        "referral,kind,value,time,port,source,note\n"
        "PUB-1,ip,192.0.2.1,2026-01-01T00:00:00Z,80,public,\n"
        "PUB-1,email,X@Example.com,,,,\n",
        encoding="utf-8",
    )
    first = import_referrals(folder, source="public", actor=ACTOR, database_url=database_url)
    assert len(first.imported) == 3 and first.already == []
    before = _counts(database_url)
    second = import_referrals(folder, source="public", actor=ACTOR, database_url=database_url)
    assert second.imported == [] and len(second.already) == 3
    assert _counts(database_url) == before
    # the same report in a different document (re-exported) is still the same referral
    (tmp_path / "again").mkdir()
    again = write_report(tmp_path / "again", full_report("1"), fmt="json")
    third = import_referrals(again, source="public", actor=ACTOR, database_url=database_url)
    assert third.imported == [] and "public/1" in third.already[0]
    assert _counts(database_url) == before


def test_a_malformed_report_is_named_and_the_others_import(database_url: str, tmp_path: Path):
    folder = tmp_path / "in"
    write_report(folder, full_report("1"))
    (folder / "broken.xml").write_bytes(b"<report>\n<reportId>2</reportId>\n<incidentSummary>\n")
    (folder / "frag.csv").write_text(
        "kind,value,time,port\nip,192.0.2.5,2026-01-01T00:00:00Z,99999\nemail,,,\n"
        "carrier-pigeon,coo,,\n",
        encoding="utf-8",
    )
    report = import_referrals(folder, source="public", actor=ACTOR, database_url=database_url)
    messages = [str(e) for e in report.errors]
    assert any("broken.xml" in m and "line 4" in m and "not well-formed" in m for m in messages)
    assert any("frag.csv" in m and "line 3" in m and "no value" in m for m in messages)
    assert len(report.imported) == 2
    with session_scope(database_url) as session:
        frag = session.scalar(select(Referral).where(Referral.external_id.like("frag.csv:%")))
        idents = {
            i.kind: i
            for i in session.scalars(select(Identifier).where(Identifier.referral_id == frag.id))
        }
    assert "bad_port" in idents["ip"].flags and idents["ip"].port is None
    assert idents["other"].original == "coo" and "unknown_kind" in idents["other"].flags


def test_values_that_do_not_parse_are_kept_and_flagged(database_url: str, tmp_path: Path):
    report = full_report("9")
    person = report["personOrUserReported"]["personOrUserReportedPerson"]
    person["email"] = ["not an email"]
    person["dateOfBirth"] = "sometime in the 90s"
    report["personOrUserReported"]["ipCaptureEvent"][0]["ipAddress"] = "192.0.2.999"
    report["personOrUserReported"]["ipCaptureEvent"][0]["dateTime"] = "last tuesday"
    path = write_report(tmp_path / "in", report)
    done = import_referrals(path, source="ncmec", actor=ACTOR, database_url=database_url)
    ids = _detail(database_url, done.imported[0][0])["identifiers"]
    email = _only(ids, kind="email")
    assert email["valid"] is False and email["original"] == "not an email"
    assert "unparsed" in email["flags"]
    assert _only(ids, kind="date_of_birth")["valid"] is False
    bad_ip = _only(ids, kind="ip", original="192.0.2.999")
    assert bad_ip["valid"] is False and bad_ip["event_at_original"] == "last tuesday"
    assert bad_ip["event_at"] is None and "time_unparsed" in bad_ip["flags"]


def test_a_zip_bundle_with_several_reports(database_url: str, tmp_path: Path) -> None:
    import zipfile

    from safeguard.demo.referrals import report_xml

    bundle = tmp_path / "bundle.zip"
    with zipfile.ZipFile(bundle, "w") as z:
        z.writestr("a/1.xml", report_xml(full_report("1")))
        z.writestr("b/2.json", json.dumps({"report": full_report("2")}))
        wrapper = b"<reports>" + report_xml(full_report("3")).split(b"?>", 1)[1] + b"</reports>"
        z.writestr("c/3.xml", wrapper)
    done = import_referrals(
        bundle,
        source="ncmec",
        actor=ACTOR,
        database_url=database_url,
        received_at=datetime(2026, 5, 1, tzinfo=UTC),
    )
    assert sorted(e for _, e in done.imported) == ["1", "2", "3"] and done.errors == []
    assert _detail(database_url, done.imported[0][0])["received_at"] == "2026-05-01T00:00:00Z"

"""Providers, communications-data requests with deadlines, their lifecycle, exports, returns."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from safeguard.referrals import request_rules as rules
from safeguard.referrals import resolution, service, views, workflow
from safeguard.referrals.provider_rules import (
    KnownRange,
    ProviderResolver,
    parse_provider_table,
    parse_range,
)
from safeguard.referrals.service import Actor, Refused, import_referrals
from safeguard.store.database import session_scope
from tests.referrals.builders import full_report, write_report

DRAFTER = Actor("dora")
AUTHORISER = Actor("sam")

TABLE = b"""provider,range,retention_days,contact
Example Broadband,192.0.2.0/24,365,disclosure@broadband.example.net
Example Broadband,192.0.2.128/25,365,
Example Mobile,192.0.2.192/26,180,spoc@mobile.example.net
Example IPv6,2001:db8::/32,90,
Example Mail,example.com,365,
Example Mail,example.org,365,
Example Mobile,+447700,180,
Broken,192.0.2.1/24,365,
Broken,not a range!,365,
Broken,198.51.100.0/24,forever,
"""


def test_the_provider_table_and_longest_prefix() -> None:
    rows, errors = parse_provider_table(TABLE)
    assert [e.line for e in errors] == [9, 10, 11]
    assert "host bits" in errors[0].message or "CIDR" in errors[0].message
    ids = {name: i for i, name in enumerate(dict.fromkeys(r.provider for r in rows))}
    find = ProviderResolver(
        [KnownRange(ids[r.provider], r.range.kind, r.range.value) for r in rows]
    )
    assert find.provider_for("ip", "192.0.2.10") == ids["Example Broadband"]
    assert find.provider_for("ip", "192.0.2.200") == ids["Example Mobile"]  # /26 beats /25
    assert find.provider_for("ip", "2001:db8:5::1") == ids["Example IPv6"]
    assert find.provider_for("ip", "203.0.113.1") is None
    assert find.provider_for("email", "a@mail.example.com") == ids["Example Mail"]
    assert find.provider_for("email", "a@example.net") is None
    assert find.provider_for("phone", "+447700900123") == ids["Example Mobile"]
    assert parse_range("Example.COM.").value == "example.com"
    assert parse_range("192.0.2.0/24").start_hex == "00000000000000000000ffffc0000200"


def test_request_rules() -> None:
    at = datetime(2026, 3, 1, 12, tzinfo=UTC)
    window = rules.request_window(at, None, at + timedelta(days=3))
    assert window.start == at - timedelta(minutes=1) and window.end == at + timedelta(minutes=1)
    assert rules.deadline(window, 90) == window.start + timedelta(days=90)
    fallback = rules.request_window(None, None, at)
    assert fallback.end == at and fallback.start == at - timedelta(days=30)
    assert rules.check_move("drafted", "sent") is not None
    assert rules.check_move("drafted", "authorised", actor="a", drafted_by="a") is not None
    assert rules.check_move("drafted", "authorised", actor="b", drafted_by="a") is None
    assert rules.check_move("returned", "expired") is not None
    due = at + timedelta(days=5)
    assert rules.is_overdue("sent", due, at)  # within the 7-day warning
    assert not rules.is_overdue("returned", due, at)
    assert rules.should_expire("authorised", due, due + timedelta(seconds=1))
    assert workflow.check_move("received", "resolved", "x") is not None
    assert workflow.check_move("received", "resolving", "") is not None
    assert workflow.check_move("closed", "received", "reopened") is None


@pytest.fixture(autouse=True)
def _uploads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFEGUARD_REFERRAL_UPLOADS", str(tmp_path / "uploads"))


def _setup(url: str, tmp_path: Path) -> int:
    path = write_report(tmp_path / "in", full_report())
    done = import_referrals(path, source="ncmec", actor=DRAFTER, database_url=url)
    with session_scope(url) as session:
        resolution.import_provider_table(session, TABLE, actor=DRAFTER)
    return done.imported[0][0]


def test_request_lifecycle_deadlines_returns(database_url: str, tmp_path: Path) -> None:
    referral_id = _setup(database_url, tmp_path)
    with session_scope(database_url) as session:
        drafted = resolution.draft_requests(session, referral_id, actor=DRAFTER)
        again = resolution.draft_requests(session, referral_id, actor=DRAFTER)
    assert again.drafted == [] and again.already == len(drafted.drafted)
    with session_scope(database_url) as session:
        d = views.detail(session, referral_id, actor=DRAFTER)
    assert d["state"] == "resolving" and d["history"][-1]["reason"] == "requests drafted"
    requests = {(q["kind"], q["identifier"]): q for q in d["requests"]}
    # 192.0.2.10 (Broadband /24), 2001:db8::1 (IPv6), avery.example@example.com and
    # second@example.org (Mail), +447700900123 (Mobile); 198.51.100.7 and +4420... unknown
    assert set(requests) == {
        ("ip", "192.0.2.10"),
        ("ip", "2001:db8::1"),
        ("email", "avery.example@example.com"),
        ("email", "second@example.org"),
        ("phone", "+447700900123"),
    }
    v4 = requests[("ip", "192.0.2.10")]
    assert v4["window_start_utc"] == "2026-03-01T14:14:30Z"
    assert v4["window_end_utc"] == "2026-03-01T14:16:30Z"
    assert v4["port"] == 51234 and v4["provider"] == "Example Broadband"
    assert v4["deadline_utc"] == "2027-03-01T14:14:30Z"  # 365 days from the window's start
    v6 = requests[("ip", "2001:db8::1")]
    assert v6["deadline_utc"] == "2026-05-30T14:59:00Z"  # 90 days
    email = requests[("email", "avery.example@example.com")]
    assert email["window_start_utc"] == "2026-03-01T08:59:00Z"  # incident time (no event)

    ref = v4["reference"]
    with session_scope(database_url) as session, pytest.raises(Refused, match="other than"):
        resolution.advance_request(session, ref, "authorised", actor=DRAFTER)
    with session_scope(database_url) as session, pytest.raises(Refused, match="cannot become"):
        resolution.advance_request(session, ref, "sent", actor=AUTHORISER)
    with session_scope(database_url) as session:
        resolution.advance_request(
            session, ref, "authorised", actor=AUTHORISER, authorisation_reference="DP-1"
        )
        exported = resolution.export_requests(session, "Example Broadband", "csv", actor=DRAFTER)
        as_json = json.loads(
            resolution.export_requests(session, "Example Broadband", "json", actor=DRAFTER)
        )
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert [r["reference"] for r in rows] == [ref]
    assert rows[0]["authorised_by"] == "sam" and rows[0]["authorisation_reference"] == "DP-1"
    assert as_json["requests"][0]["port"] == 51234

    with session_scope(database_url) as session:
        for q in d["requests"]:
            if q["reference"] != ref:
                resolution.advance_request(session, q["reference"], "authorised", actor=AUTHORISER)
            resolution.advance_request(session, q["reference"], "sent", actor=DRAFTER)
    mail = requests[("email", "second@example.org")]["reference"]
    phone = requests[("phone", "+447700900123")]["reference"]
    returned = (
        "reference,identifier,provider,window_start,port,subscriber_name,address,email,phone,"
        "account,service_start,service_end,nil\n"
        f'{ref},,,,,Avery Example,"1 Test Street, Testville, SW1A 1AA",,07700 900123,'
        "ACC-1,2020-01-01T00:00:00Z,,\n"
        f",second@example.org,Example Mail,,,,,,,,,,true\n"
        f"CDR-999999,,,,,x,,,,,,,\n"
        f",192.0.2.10,Example Broadband,2026-03-01T14:15:30Z,51234,Second Row,,,,,,,\n"
    ).encode()
    with session_scope(database_url) as session:
        report = resolution.import_returns(session, returned, actor=DRAFTER)
        again = resolution.import_returns(session, returned, actor=DRAFTER)
    assert (report.attached, report.nil, report.already) == (2, 1, 0)
    assert [e.line for e in report.errors] == [4]
    assert again.already == 3 and again.attached == 0
    with session_scope(database_url) as session:
        d = views.detail(session, referral_id, actor=DRAFTER)
    states = {q["reference"]: q["state"] for q in d["requests"]}
    assert states[ref] == "returned" and states[mail] == "nil_return"
    assert states[phone] == "sent"
    from_return = [i for i in d["identifiers"] if i["origin"] == "return"]
    assert {(i["kind"], i["value"]) for i in from_return} >= {
        ("name", "avery example"),
        ("phone", "+447700900123"),
        ("esp_account", "ACC-1"),
        ("address", "1 test street, testville, sw1a 1aa"),
        ("name", "second row"),
    }
    returns = next(q for q in d["requests"] if q["reference"] == ref)["returns"]
    assert returns[0]["subscriber_name"] == "Avery Example"
    assert returns[0]["service_start"] == "2020-01-01T00:00:00Z"

    # nothing answers the rest: past their deadlines they expire, and the referral is resolved
    later = datetime(2028, 1, 1, tzinfo=UTC)
    with session_scope(database_url) as session:
        expired = resolution.expire_overdue(session, actor=DRAFTER, now=later)
        d = views.detail(session, referral_id, actor=DRAFTER)
    assert phone in expired and ref not in expired
    assert d["state"] == "resolved" and "expired" in d["history"][-1]["reason"]


def test_overdue_requests_and_the_queue(database_url: str, tmp_path: Path) -> None:
    referral_id = _setup(database_url, tmp_path)
    with session_scope(database_url) as session:
        resolution.draft_requests(session, referral_id, actor=DRAFTER)
        # the IPv6 request's deadline is 2026-05-30: overdue from 7 days before
        soon = datetime(2026, 5, 25, tzinfo=UTC)
        overdue = views.queue(session, actor=DRAFTER, overdue=True, now=soon)
        early = views.queue(
            session, actor=DRAFTER, overdue=True, now=datetime(2026, 4, 1, tzinfo=UTC)
        )
        grouped = views.requests_by_provider(session, actor=DRAFTER, now=soon)
    assert [r["id"] for r in overdue] == [referral_id] and overdue[0]["overdue_requests"] == 1
    assert early == []
    assert [q["overdue"] for q in grouped["Example IPv6"]] == [True]


def test_workflow_moves_are_audited_with_reasons(database_url: str, tmp_path: Path) -> None:
    referral_id = _setup(database_url, tmp_path)
    with session_scope(database_url) as session:
        with pytest.raises(Refused, match="reason"):
            service.move(session, referral_id, "resolving", reason=" ", actor=DRAFTER)
        service.assign(session, referral_id, "ann", reason="her patch", actor=DRAFTER)
        service.move(session, referral_id, "closed", reason="duplicate of another", actor=DRAFTER)
    with session_scope(database_url) as session:
        with pytest.raises(service.NotPermitted):
            service.move(
                session, referral_id, "received", reason="x", actor=Actor("rev", 1, "reviewer")
            )
        d = views.detail(session, referral_id, actor=DRAFTER)
        from sqlalchemy import select

        from safeguard.store.review_models import AuditEvent

        actions = [e.action for e in session.scalars(select(AuditEvent))]
    assert d["state"] == "closed" and d["assignee"] == "ann"
    assert [(h["to"], h["reason"]) for h in d["history"]][-2:] == [
        ("received", "her patch"),
        ("closed", "duplicate of another"),
    ]
    assert actions.count("referral_state") == 1 and "referral_assign" in actions
    assert "referral_import" in actions and "provider_table_import" in actions

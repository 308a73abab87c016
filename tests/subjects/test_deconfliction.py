"""Deconfliction files: keyed hashes only, two stores with the same and different keys,
key rotation, hostile files."""

from __future__ import annotations

import json
import secrets

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safeguard.referrals import deconflict_service, subjects
from safeguard.referrals.deconfliction import (
    DeconflictError,
    Held,
    Keyring,
    build_file,
    find_hits,
    parse_file,
    parse_keyring,
)
from safeguard.referrals.linking import LinkRecord, Strong
from safeguard.store import subjects as repo
from safeguard.store.database import session_scope
from tests.conftest import POSTGRES, scratch_postgres_database
from tests.subjects.helpers import add_referral, user


def ring(*keys: tuple[str, bytes, bool]) -> Keyring:
    doc = {"keys": [{"id": i, "secret": s.hex(), "current": c} for i, s, c in keys]}
    parsed = parse_keyring(json.dumps(doc).encode())
    assert isinstance(parsed, Keyring), parsed
    return parsed


K1, K2 = secrets.token_bytes(32), secrets.token_bytes(32)
HELD = [
    Held("email", "x@example.com", "OP-A/1", "2026-10-01"),
    Held("phone", "+447700900555", "OP-A/2", "2026-10-02"),
    Held("esp_account", "acct9", "OP-A/3", "2026-10-03", service="chatapp"),
]


def test_the_file_holds_no_raw_value_and_matches_under_the_same_key() -> None:
    doc = build_file(HELD, ring(("k1", K1, True)), "Force A", "2026-12-01T00:00:00+00:00")
    text = json.dumps(doc)
    for h in HELD:
        assert h.value not in text and h.value.split("@")[0] not in text
    parsed = parse_file(text.encode(), ring(("k1", K1, True)))
    assert not isinstance(parsed, DeconflictError)
    ours = [
        Held("email", "x@example.com", "B/77", "2026-11-01"),
        Held("esp_account", "acct9", "B/78", "2026-11-02", service="photoshare"),
    ]
    hits = find_hits(ours, [parsed], ring(("k1", K1, True)))
    assert [str(h) for h in hits] == ["also held by Force A, OP-A/1, since 2026-10-01"]


def test_wrong_key_and_unknown_key_are_refused_clearly() -> None:
    text = json.dumps(build_file(HELD, ring(("k1", K1, True)), "Force A", "t")).encode()
    wrong = parse_file(text, ring(("k1", K2, True)), "a.json")
    assert isinstance(wrong, DeconflictError) and "wrong key" in str(wrong)
    assert str(wrong).startswith("a.json: ")
    unknown = parse_file(text, ring(("k2", K2, True)), "a.json")
    assert isinstance(unknown, DeconflictError)
    assert "made with key 'k1', which this keyring does not hold (it holds: k2)" in str(unknown)


def test_rotation_old_files_still_import_with_the_old_key_in_the_ring() -> None:
    old = json.dumps(build_file(HELD, ring(("k1", K1, True)), "Force A", "t")).encode()
    rotated = ring(("k1", K1, False), ("k2", K2, True))
    assert not isinstance(parse_file(old, rotated), DeconflictError)
    new = build_file(HELD, rotated, "Force A", "t")
    assert new["key_id"] == "k2"
    assert {e["digest"] for e in new["entries"]}.isdisjoint(
        e["digest"] for e in json.loads(old)["entries"]
    )


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"keys": []}, "expected"),
        ({"keys": [{"id": "a", "secret": "zz", "current": True}]}, "not hex"),
        ({"keys": [{"id": "a", "secret": "00" * 8, "current": True}]}, "shorter than 32"),
        ({"keys": [{"id": "a", "secret": "00" * 32}]}, "exactly one key must be marked current"),
    ],
)
def test_bad_keyrings(doc: dict, message: str) -> None:
    result = parse_keyring(json.dumps(doc).encode(), "ring.json")
    assert isinstance(result, DeconflictError) and message in str(result)


@settings(max_examples=150, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=400),
        st.recursive(
            st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20)),
            lambda inner: (
                st.lists(inner, max_size=4)
                | st.dictionaries(st.text(max_size=8), inner, max_size=4)
            ),
            max_leaves=20,
        ).map(lambda v: json.dumps(v).encode()),
    )
)
def test_hostile_files_give_an_error_never_an_exception(data: bytes) -> None:
    result = parse_file(data, ring(("k1", K1, True)), "x.json")
    assert isinstance(result, DeconflictError)


def test_deeply_nested_file_is_an_error() -> None:
    data = b"[" * 200_000 + b"]" * 200_000
    assert isinstance(parse_file(data, ring(("k1", K1, True))), DeconflictError)


def _store(url: str, records: list[tuple[str, str]], assignee: str) -> None:
    with session_scope(url) as session:
        user(session, "alice", "analyst")
        for ref, email in records:
            add_referral(session, LinkRecord(ref, (Strong("email", email),)), assignee=assignee)


def test_two_stores_same_key_and_different_key(database_url: str, sqlite_url: str) -> None:
    """Force A on ``database_url``; Force B on a second SQLite store."""
    force_b = sqlite_url.replace("store.sqlite", "force_b.sqlite")
    _store(database_url, [("A-1", "shared@example.com"), ("A-2", "only.a@example.com")], "a1")
    _store(force_b, [("B-9", "shared@example.com")], "b1")
    shared = ring(("2026-q4", K1, True))
    with session_scope(database_url) as session:
        doc = deconflict_service.export(session, repo_user(session), shared, "Force A")
    data = json.dumps(doc).encode()
    assert b"shared@example.com" not in data
    with session_scope(force_b) as session:
        with pytest.raises(subjects.Refused, match="wrong key"):
            deconflict_service.import_file(
                session, repo_user(session), data, ring(("2026-q4", K2, True)), "a.json"
            )
        result = deconflict_service.import_file(session, repo_user(session), data, shared, "a.json")
        assert result["new_hits"] == 1
        b9 = repo.find_referral(session, "B-9")
        assert [h.detail for h in repo.hits_for(session, b9.id)] == [
            f"also held by Force A, ncmec:A-1, since {doc['entries'][0]['since']} (email)"
        ]
        assert repo.open_hold(session, b9.id) is not None
        again = deconflict_service.import_file(session, repo_user(session), data, shared, "a.json")
        assert again["new_hits"] == 0 and again["new_entries"] == 0


def repo_user(session):  # noqa: ANN001, ANN201
    from safeguard.store.users import find_user

    return find_user(session, "alice")


@pytest.mark.skipif(not POSTGRES, reason="PostgreSQL is not reachable")
def test_two_postgres_stores(tmp_path) -> None:  # noqa: ANN001
    with scratch_postgres_database() as a, scratch_postgres_database() as b:
        _store(a, [("A-1", "x@example.net")], "a1")
        _store(b, [("B-1", "x@example.net")], "b1")
        key = ring(("k", K1, True))
        with session_scope(a) as session:
            data = json.dumps(deconflict_service.export(session, repo_user(session), key, "A"))
        with session_scope(b) as session:
            out = deconflict_service.import_file(
                session, repo_user(session), data.encode(), key, "a.json"
            )
            assert out["new_hits"] == 1


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=200).map(str.encode))
def test_any_keyring_gives_a_keyring_or_an_error(data: bytes) -> None:
    assert isinstance(parse_keyring(data, "k.json"), Keyring | DeconflictError)

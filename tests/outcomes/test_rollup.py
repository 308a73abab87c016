"""The signed national roll-up: good, tampered, unsigned, unknown-key and wrong-force files, a
person counted by two forces counted once, and the CLI from key generation to the national
table."""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from safeguard.cli.main import app as cli
from safeguard.outcomes import rollup
from safeguard.outcomes import services as svc
from safeguard.outcomes.kinds import ActionIn
from safeguard.outcomes.periods import Period
from safeguard.store.database import session_scope
from safeguard.store.review_models import AuditEvent
from tests.outcomes.conftest import People

PERIOD = Period(date(2023, 1, 1), date(2023, 12, 31))
KEY = "shared-deconfliction-key-for-tests"


def _arrest(force: str, person: str, day: int) -> ActionIn:
    return ActionIn(
        "arrest",
        datetime(2023, 3, day, 10, tzinfo=UTC),
        force,
        "case",
        "OP-T",
        person_key=person,
    )


def _two_forces(people: People, monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """Two forces' stores in one database (scoped by force), one person arrested by both."""
    monkeypatch.setenv(svc.KEY_ENV, KEY)
    shared = svc.resolve_person("email:shared.person@example.com", "referral", "R")
    only_a = svc.resolve_person("phone:07700 900001", "referral", "R")
    with session_scope(people.url) as session:
        svc.record_actions(
            session,
            people.analyst,
            [
                _arrest("FORCE-A", shared, 1),
                _arrest("FORCE-A", only_a, 2),
                _arrest("FORCE-A", "local:subject:S-1", 3),
                _arrest("FORCE-B", shared, 4),
                _arrest("FORCE-B", "local:subject:S-1", 5),  # a different person: local keys
            ],
            "two forces",
        )
    keys = {}
    for force in ("FORCE-A", "FORCE-B"):
        private, public = rollup.new_key()
        keys[force] = private
        with session_scope(people.url) as session:
            svc.register_force_key(session, people.admin, force, public)
    files = {}
    with session_scope(people.url) as session:
        for force, private in keys.items():
            files[force] = svc.export_rollup(session, people.admin, PERIOD, force, private)
    return files


def test_good_files_import_and_a_person_two_forces_arrested_counts_once(
    people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = _two_forces(people, monkeypatch)
    with session_scope(people.url) as session:
        for force, data in files.items():
            result = svc.import_rollup(session, people.admin, data, f"{force}.json")
            assert result.accepted and result.force == force, result.error
    with session_scope(people.url) as session:
        table = svc.national_table(session, people.analyst, PERIOD)
    assert table.forces == ("FORCE-A", "FORCE-B")
    assert table.per_force["FORCE-A"]["arrests"] == 3
    assert table.per_force["FORCE-B"]["arrests"] == 2
    assert table.national["arrests"] == 4
    assert table.deduplicated["arrests"] == 1
    text = svc.national_as_table(table)
    assert "Arrests: 4 (1 counted by more than one force, counted once)" in text.lines


def test_tampered_unsigned_unknown_key_and_wrong_force_files_are_refused(
    people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = _two_forces(people, monkeypatch)
    good = json.loads(files["FORCE-A"])
    tampered = json.loads(files["FORCE-A"])
    tampered["payload"]["statistics"]["premises_searched"] = 300
    unsigned = json.loads(files["FORCE-A"])
    del unsigned["signature"]
    other_private, _ = rollup.new_key()  # never registered
    unknown = rollup.sign(
        rollup.ForceFigures("FORCE-A", PERIOD, {"arrests": 0}, {"arrests": []}),
        rollup.load_private(other_private),
    )
    # FORCE-B's registered key signing a file that claims to be FORCE-A's
    wrong_force = json.loads(files["FORCE-B"])
    wrong_force["payload"]["force"] = "FORCE-A"
    cases = {
        "tampered": (json.dumps(tampered).encode(), "does not match the content"),
        "unsigned": (json.dumps(unsigned).encode(), "unsigned"),
        "unknown": (unknown, "which is not registered here"),
        "wrong-force": (json.dumps(wrong_force).encode(), "belongs to FORCE-B, not FORCE-A"),
    }
    with session_scope(people.url) as session:
        for name, (data, reason) in cases.items():
            result = svc.import_rollup(session, people.admin, data, f"{name}.json")
            assert not result.accepted and reason in result.error, (name, result.error)
            assert result.error.startswith(f"{name}.json: ")
        assert svc.national_table(session, people.admin, PERIOD).forces == ()
        refused = session.query(AuditEvent).filter(AuditEvent.action == "stats_import_refused")
        assert refused.count() == 4
    # and the good one still verifies after the refusals
    with session_scope(people.url) as session:
        assert svc.import_rollup(
            session, people.admin, json.dumps(good).encode(), "a.json"
        ).accepted


def test_the_signature_covers_every_person_key(people: People, monkeypatch) -> None:  # noqa: ANN001
    files = _two_forces(people, monkeypatch)
    doc = json.loads(files["FORCE-A"])
    keys = doc["payload"]["people"]["arrests"]
    keys[0] = "hid:" + "0" * 64
    with session_scope(people.url) as session:
        result = svc.import_rollup(session, people.admin, json.dumps(doc).encode(), "swap.json")
    assert not result.accepted and "does not match" in result.error
    assert all(k.startswith(("hid:", "loc:")) for k in keys)
    assert not any("S-1" in k for k in keys), "local keys leave only hashed"


def test_the_cli_from_keygen_to_the_national_table(
    people: People, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(svc.KEY_ENV, KEY)
    runner = CliRunner()
    key = tmp_path / "force.key"
    made = runner.invoke(cli, ["stats", "keygen", "--out", str(key)])
    assert made.exit_code == 0, made.output
    assert key.stat().st_mode & 0o777 == 0o600
    pub = tmp_path / "force.key.pub"
    again = runner.invoke(cli, ["stats", "keygen", "--out", str(key)])
    assert again.exit_code == 1
    ana, adm = ["--user", "ana"], ["--user", "adm"]
    for person, day in (
        ("email:x@example.org", "2023-02-01"),
        ("email:x@example.org", "2023-03-01"),
    ):
        done = runner.invoke(
            cli,
            [
                "action",
                "record",
                "arrest",
                "--target",
                "case:OP-T",
                "--at",
                day,
                "--force",
                "WMP",
                "--person",
                person,
                *ana,
            ],
        )
        assert done.exit_code == 0, done.output
    refused = runner.invoke(cli, ["stats", "register-key", "WMP", str(pub), *ana])
    assert refused.exit_code == 1 and "may not" in refused.output
    assert runner.invoke(cli, ["stats", "register-key", "WMP", str(pub), *adm]).exit_code == 0
    out = tmp_path / "wmp.json"
    exported = runner.invoke(
        cli,
        [
            "stats",
            "export",
            "--from",
            "2023-01-01",
            "--to",
            "2023-12-31",
            "--force",
            "WMP",
            "--sign",
            str(key),
            "-o",
            str(out),
            *adm,
        ],
    )
    assert exported.exit_code == 0, exported.output
    bad = tmp_path / "bad.json"
    doc = json.loads(out.read_bytes())
    doc["payload"]["statistics"]["devices_seized"] = 2
    bad.write_text(json.dumps(doc))
    imported = runner.invoke(cli, ["stats", "import", str(out), str(bad), *adm])
    assert imported.exit_code == 1
    assert "imported wmp.json (WMP)" in imported.output
    assert "refused" in imported.output and "bad.json" in imported.output
    table = runner.invoke(
        cli,
        [
            "stats",
            "national",
            "--from",
            "2023-01-01",
            "--to",
            "2023-12-31",
            "--format",
            "csv",
            *adm,
        ],
    )
    assert table.exit_code == 0, table.output
    lines = table.output.splitlines()
    assert lines[0] == "statistic,national,de-duplicated,WMP"
    assert "Arrests,1,0,1" in lines


def test_reading_a_file_is_bounded_and_names_the_element() -> None:
    with pytest.raises(rollup.RollupError, match="f.json: nested deeper"):
        rollup.parse(b'{"a":' * 20 + b"1" + b"}" * 20, "f.json")
    with pytest.raises(rollup.RollupError, match="f.json: not JSON"):
        rollup.parse(b"\xff\xfe", "f.json")
    private, _ = rollup.new_key()
    data = json.loads(
        rollup.sign(
            rollup.ForceFigures("WMP", PERIOD, {"arrests": 1}, {"arrests": ["hid:" + "a" * 64]}),
            rollup.load_private(private),
        )
    )
    data["payload"]["people"]["arrests"] = ["not a key"]
    with pytest.raises(
        rollup.RollupError, match=r"payload\.people\.arrests\[0\]: not a person key"
    ):
        rollup.parse(json.dumps(data).encode(), "f.json")
    data["payload"]["statistics"]["made_up"] = 1
    with pytest.raises(rollup.RollupError, match=r"statistics\.made_up: not a statistic"):
        rollup.parse(json.dumps(data).encode(), "f.json")
    data["signature"]["value"] = base64.b64encode(b"x" * 10).decode()
    with pytest.raises(rollup.RollupError, match="not an Ed25519 signature"):
        rollup.parse(json.dumps(data).encode(), "f.json")


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None, max_examples=150)
@given(
    st.binary(max_size=400)
    | st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=10),
        lambda inner: (
            st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
        ),
        max_leaves=20,
    ).map(
        lambda v: json.dumps(
            {"format": rollup.FORMAT, "version": 1, "payload": v, "signature": v}
        ).encode()
    )
)
def test_any_input_is_refused_with_a_rollup_error_or_parsed(data: bytes) -> None:
    try:
        rollup.parse(data, "fuzz.json")
    except rollup.RollupError as error:
        assert str(error).startswith("fuzz.json")


def test_national_merge_is_a_union_of_people_and_a_sum_of_the_rest() -> None:
    a = rollup.ForceFigures(
        "A",
        PERIOD,
        {"arrests": 2, "premises_searched": 5},
        {"arrests": ["hid:" + "1" * 64, "loc:" + "2" * 40]},
    )
    b = rollup.ForceFigures(
        "B",
        PERIOD,
        {"arrests": 2, "premises_searched": 4},
        {"arrests": ["hid:" + "1" * 64, "loc:" + "3" * 40]},
    )
    table = rollup.national([a, b], PERIOD)
    assert table.national == {"arrests": 3, "premises_searched": 9}
    assert table.deduplicated == {"arrests": 1}

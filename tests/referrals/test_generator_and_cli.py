"""The synthetic referral generator (safe values only, a usable ground truth) and the
``safeguard referral`` commands over what it writes."""

from __future__ import annotations

import csv
import ipaddress
import json
import re
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from safeguard.cli.main import app
from safeguard.demo.referrals import generate_referrals

DOC = [
    ipaddress.ip_network(n)
    for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
]


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory):
    return generate_referrals(tmp_path_factory.mktemp("refs"), 24, people=8, seed=3)


def test_only_safe_values_and_a_ground_truth(generated) -> None:
    root = generated.directory
    text = "\n".join(
        p.read_text(encoding="utf-8")
        for p in root.rglob("*")
        if p.suffix in {".xml", ".json", ".csv"}
    )
    for found in re.findall(r"\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b", text):
        assert any(ipaddress.ip_address(found) in n for n in DOC[:3]), found
    for found in re.findall(r"2001:[0-9a-f:]+", text):
        assert ipaddress.ip_address(found) in DOC[3]
    domains = {m.lower().rstrip(".") for m in re.findall(r"\w@([A-Za-z0-9.-]+)", text)}
    assert all(d.endswith(("example.com", "example.org", "example.net")) for d in domains), domains
    for phone in re.findall(r"07700 ?900\d{3}|\+44 ?7700 ?900\d{3}", text):
        assert "900" in phone
    with (root / "truth.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["external_id"] for r in rows] == generated.referrals
    assert {r["format"] for r in rows} == {"xml", "json", "csv"}
    persons = Counter(r["person"] for r in rows)
    assert max(persons.values()) > 1  # some people have several referrals: linking has work
    truth = json.loads((root / "truth.json").read_text(encoding="utf-8"))
    assert set(truth["referrals"].values()) <= set(truth["persons"])
    households = Counter(p["household"] for p in truth["persons"].values())
    ips = Counter(p["ip"] for p in truth["persons"].values())
    assert max(households.values()) > 1 or max(ips.values()) > 1  # shared homes or CGNAT
    assert generated.uploads > 0


def test_same_seed_same_referrals(tmp_path: Path) -> None:
    a = generate_referrals(tmp_path / "a", 6, seed=5, uploads=False)
    b = generate_referrals(tmp_path / "b", 6, seed=5, uploads=False)
    for name in ("truth.csv", "xml/9000000.xml", "json/9000001.json"):
        assert (a.directory / name).read_bytes() == (b.directory / name).read_bytes()


def test_the_referral_commands(
    generated, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAFEGUARD_REFERRAL_UPLOADS", str(tmp_path / "uploads"))
    runner = CliRunner()
    root = generated.directory

    def run(*args: str) -> str:
        result = runner.invoke(app, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.stdout

    run("bank", "import", str(root / "bank.csv"), "--name", "refs")
    assert "6 new" in run("referral", "provider", "import", str(root / "providers.csv"))
    out = run("referral", "import", str(root / "xml"), "--source", "ncmec")
    assert "8 referrals imported" in out
    again = run("referral", "import", str(root / "xml"), "--source", "ncmec")
    assert "0 referrals imported, 8 already imported" in again
    run("referral", "import", str(root / "fragments"), "--source", "public")
    queue = json.loads(run("referral", "list", "--format", "json", "--source", "public"))
    assert len(queue) == 8 and {r["source"] for r in queue} == {"public"}
    shown = json.loads(run("referral", "show", str(queue[0]["id"]), "--format", "json"))
    assert any(i["kind"] == "ip" and i["port"] for i in shown["identifiers"])
    requests = json.loads(run("referral", "requests", "--format", "json"))
    assert requests and all(q["state"] == "drafted" for rows in requests.values() for q in rows)
    provider, rows = next(iter(requests.items()))
    ref = rows[0]["reference"]
    result = runner.invoke(app, ["referral", "request-send", ref])
    assert result.exit_code == 1 and "cannot become sent" in result.output
    # the CLI operator drafted it: the same operator may not authorise it
    result = runner.invoke(app, ["referral", "request-authorise", ref])
    assert result.exit_code == 1 and "other than" in result.output
    out_file = tmp_path / "export.csv"
    run("referral", "requests-export", provider, "--state", "drafted", "-o", str(out_file))
    assert ref in out_file.read_text(encoding="utf-8")
    moved = run("referral", "move", str(queue[0]["id"]), "closed", "--reason", "duplicate")
    assert "now closed" in moved
    bad = runner.invoke(app, ["referral", "move", str(queue[1]["id"]), "packaged", "--reason", "x"])
    assert bad.exit_code == 1 and "cannot move" in bad.output
    text = run("referral", "show", str(queue[1]["id"]))
    assert "identifiers" in text and "requests" in text

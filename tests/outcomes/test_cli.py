"""The command line: record, correct and read an action's history; outcome errors named; the
acting user's role checked."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from safeguard.cli.main import app as cli
from tests.outcomes.conftest import People


def test_record_correct_history_and_outcome_errors(people: People) -> None:
    runner = CliRunner()
    base = ["action", "record", "arrest", "--target", "case:OP-T", "--force", "WMP"]
    refused = runner.invoke(
        cli, [*base, "--at", "2023-05-01", "--person", "local:p", "--user", "rev"]
    )
    assert refused.exit_code == 1 and "a reviewer may not record actions" in refused.output
    made = runner.invoke(
        cli, [*base, "--at", "2023-05-01T10:00", "--person", "local:p", "--user", "ana"]
    )
    assert made.exit_code == 0, made.output
    ref = re.search(r"recorded action (A-[0-9A-F]+)", made.output).group(1)
    fixed = runner.invoke(
        cli,
        ["action", "correct", ref, "--reason", "custody record says 11:00", "--at",
         "2023-05-01T11:00", "--field", "custody_ref=C-1", "--user", "sue"],
    )  # fmt: skip
    assert fixed.exit_code == 0, fixed.output
    assert f"action {ref} is now version 2" in fixed.output
    history = runner.invoke(
        cli, ["action", "history", ref, "--user", "ana"], env={"COLUMNS": "250"}
    )
    assert history.exit_code == 0
    assert "custody record says 11:00" in history.output and "sue" in history.output
    no_diversion = runner.invoke(
        cli,
        ["outcome", "record", "CR-9", "--code", "22", "--decided", "2023-06-01", "--force",
         "WMP", "--user", "ana"],
    )  # fmt: skip
    assert no_diversion.exit_code == 1
    assert "outcome 22: diversion" in no_diversion.output
    nobody = runner.invoke(
        cli, ["stats", "--from", "2023-01-01", "--to", "2023-12-31"], env={"SAFEGUARD_USER": ""}
    )
    assert nobody.exit_code == 1 and "--user" in nobody.output

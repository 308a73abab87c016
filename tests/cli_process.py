"""Run the ``safeguard`` command in a child process against a given store, as the resume tests
need (a real process they can kill with SIGKILL mid-ingest)."""

from __future__ import annotations

import os
import subprocess
import sys


def cli_process(url: str, *args: str) -> subprocess.Popen:
    """``safeguard ARGS`` running on the store at ``url``; stderr is kept for the assertion."""
    env = {**os.environ, "SAFEGUARD_DATABASE_URL": url}
    return subprocess.Popen(
        [sys.executable, "-m", "safeguard.cli.main", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def run_cli(url: str, *args: str, timeout: float = 600) -> None:
    """``safeguard ARGS`` to its end; it must succeed (its stderr is the failure message)."""
    process = cli_process(url, *args)
    _, stderr = process.communicate(timeout=timeout)
    assert process.returncode == 0, stderr.decode()

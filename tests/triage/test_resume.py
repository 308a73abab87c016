"""kill -9 during an ingest, run it again: the store ends as if nothing had happened."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from sqlalchemy import create_engine, text

from safeguard.demo.corpus import DemoCorpus
from tests.cli_process import cli_process, run_cli
from tests.triage.store_dump import dump


def _cli(url: str, *args: str) -> subprocess.Popen:
    return cli_process(url, *args)


def _run(url: str, *args: str) -> None:
    run_cli(url, *args, timeout=600)


def _prepare(url: str, corpus: DemoCorpus) -> None:
    _run(url, "case", "create", "OP-RESUME")
    _run(url, "bank", "import", str(corpus.bank_csv), "--name", "demo")


def _stored_files(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(text("select count(*) from file_records")).scalar_one()
    except Exception:  # noqa: BLE001 - the table may not exist yet
        return 0
    finally:
        engine.dispose()


def test_ingest_killed_mid_run_resumes_to_the_same_store(
    tmp_path: Path, demo_corpus: DemoCorpus
) -> None:
    ingest = [
        "ingest",
        "OP-RESUME",
        "EX1",
        str(demo_corpus.exhibit_dir),
        "--workers",
        "1",
        "--batch",
        "4",
    ]
    reference = f"sqlite:///{tmp_path / 'reference.sqlite'}"
    _prepare(reference, demo_corpus)
    _run(reference, *ingest)
    total = len(dump(reference)["files"])

    resumed = f"sqlite:///{tmp_path / 'resumed.sqlite'}"
    _prepare(resumed, demo_corpus)
    process = _cli(resumed, *ingest)
    deadline = time.monotonic() + 120
    while _stored_files(resumed) < 8 and time.monotonic() < deadline:
        assert process.poll() is None, "ingest finished before it could be killed"
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    stored_at_kill = _stored_files(resumed)
    assert 0 < stored_at_kill < total, "the kill must land in the middle of the run"

    _run(resumed, *ingest)
    assert dump(resumed) == dump(reference)

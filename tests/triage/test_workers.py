"""The ingest's worker-pool seam, without Ray: what a pool gets, what comes back, and the hint
that ``--cluster`` gives when Ray is not installed."""

from __future__ import annotations

import sys
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path

import pytest
from typer.testing import CliRunner

from safeguard.cli.main import app
from safeguard.demo.corpus import DemoCorpus
from safeguard.evidence import EvidenceLimits
from safeguard.store.cases import create_case
from safeguard.store.database import session_scope
from safeguard.triage.ingest import IngestOptions, ingest_exhibit, worker_pool
from safeguard.triage.workers import ClusterError, Done, InlinePool
from tests.triage.store_dump import dump

#: Members of the demo's archive above this many bytes are spilled to a temporary file.
SPILL = 4096


class ForeignPool(InlinePool):
    """A pool whose workers are elsewhere: they cannot open this host's temporary files."""

    sees_local_files = False

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = root
        self.node = "elsewhere/0001"
        self.files = 0
        self.in_memory = 0

    def submit(self, fn: Callable, arg: list) -> Future[Done]:  # type: ignore[override]
        for task in arg:
            assert not task.temporary, task.logical_path
            if task.fs_path is not None:
                assert task.fs_path.is_relative_to(self.root), task.fs_path  # on the share
            self.in_memory += task.data is not None
        self.files += len(arg)
        return super().submit(fn, arg)


def _store(url: str, corpus: DemoCorpus) -> None:
    with session_scope(url) as session:
        create_case(session, "OP-POOL")


def test_a_pool_that_cannot_see_local_files_gets_spilled_members_as_bytes(
    demo_corpus: DemoCorpus, tmp_path: Path
) -> None:
    options = IngestOptions(workers=1, limits=EvidenceLimits(spill_bytes=SPILL))
    local = f"sqlite:///{tmp_path / 'local.sqlite'}"
    _store(local, demo_corpus)
    ingest_exhibit("OP-POOL", "EX1", demo_corpus.exhibit_dir, options, database_url=local)

    foreign = f"sqlite:///{tmp_path / 'foreign.sqlite'}"
    _store(foreign, demo_corpus)
    pool = ForeignPool(demo_corpus.exhibit_dir.absolute())
    summary = ingest_exhibit(
        "OP-POOL", "EX1", demo_corpus.exhibit_dir, options, database_url=foreign, pool=pool
    )
    assert dump(foreign) == dump(local)
    assert pool.in_memory > 0  # the archive's members, spilled ones included, went as bytes
    assert summary.nodes == {"elsewhere/0001": pool.files}
    assert set(summary.node_rates()) == {"elsewhere/0001"}


def test_local_pools_say_which_node_did_the_work(tmp_path: Path) -> None:
    pool = worker_pool(IngestOptions(workers=2), tmp_path)
    try:
        done = pool.submit(len, [1, 2, 3]).result(timeout=120)
    finally:
        pool.close()
    assert done.value == 3 and done.node
    assert pool.sees_local_files


def test_cluster_without_ray_says_what_to_install(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    with pytest.raises(ClusterError, match=r"pip install 'safeguard\[cluster\]'"):
        worker_pool(IngestOptions(cluster="auto"), tmp_path)
    with session_scope(database_url) as session:
        create_case(session, "OP-NORAY")
    (tmp_path / "a.txt").write_text("benign")
    result = CliRunner().invoke(app, ["ingest", "OP-NORAY", "EX1", str(tmp_path), "--cluster",
                                      "auto"])  # fmt: skip
    assert result.exit_code == 1
    assert "pip install 'safeguard[cluster]'" in " ".join(result.output.split())

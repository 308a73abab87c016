"""Shared fixtures: a real database per test (SQLite file, and PostgreSQL where it runs)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

POSTGRES_ADMIN_URL = os.environ.get(
    "SAFEGUARD_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def _postgres_available() -> bool:
    try:
        engine = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(text("select 1"))
        engine.dispose()
        return True
    except Exception:  # noqa: BLE001 - any failure means no server to test against
        return False


POSTGRES = _postgres_available()


@pytest.fixture(scope="session")
def demo_corpus():  # noqa: ANN201 - DemoCorpus, imported lazily
    """The suite's one benign demo corpus (cached between runs; shared, never modified)."""
    from tests.demo_cache import cached_demo

    return cached_demo()


@pytest.fixture(autouse=True)
def _index_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Persisted bank indexes go to the test's own folder, never the working tree."""
    monkeypatch.setenv("SAFEGUARD_INDEX_DIR", str(tmp_path / "indexes"))


@pytest.fixture(autouse=True, scope="session")
def _key_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Keys and audit checkpoints (store/keys.py) go to one folder for the whole run, never the
    working tree's var/: module-scoped fixtures seal previews that later tests read. Checkpoints
    are named per database, so stores do not share them."""
    saved = os.environ.get("SAFEGUARD_KEY_DIR")
    os.environ["SAFEGUARD_KEY_DIR"] = str(tmp_path_factory.mktemp("keys"))
    yield
    if saved is None:
        os.environ.pop("SAFEGUARD_KEY_DIR", None)
    else:
        os.environ["SAFEGUARD_KEY_DIR"] = saved


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty store on each real database engine; also set as the default URL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.sqlite'}"
        os.environ["SAFEGUARD_DATABASE_URL"] = url
        yield url
        return
    if not POSTGRES:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not reachable; ./run test should have started it")
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    with scratch_postgres_database() as url:
        os.environ["SAFEGUARD_DATABASE_URL"] = url
        try:
            yield url
        finally:
            os.environ.pop("SAFEGUARD_DATABASE_URL", None)


@contextmanager
def scratch_postgres_database() -> Iterator[str]:
    """A new, empty PostgreSQL database for the duration; dropped (connections closed) after."""
    name = f"sg_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        from safeguard.store.database import engine_for

        engine_for(url).dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    monkeypatch.setenv("SAFEGUARD_DATABASE_URL", url)
    return url


#: Modules whose tests take more than a few seconds each (real clusters, disk images, whole
#: demo ingests, browsers): the fast subset (``./run test -m "not slow and not postgresql"``)
#: leaves them out; CI runs everything.
SLOW_MODULES = (
    "tests/triage/test_cluster.py",
    "tests/images/",
    "tests/triage/test_ingest_demo.py",
    "tests/triage/test_resume.py",
    "tests/demo/test_demo_corpus.py",
    "tests/server/test_case_export.py",
    "tests/server/test_many_processes.py",
    "tests/server/test_concurrency.py",
    "tests/web/test_browser",
    "tests/web/test_stats_browser.py",
    "tests/review/test_demo_cards.py",
    "tests/video/test_video_ingest.py",
    "tests/outcomes/test_snapshot.py",
    "tests/cli/test_cli.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the slow modules ``slow`` and every PostgreSQL run of a test ``postgresql``."""
    root = Path(str(config.rootpath))
    for item in items:
        where = Path(str(item.fspath)).relative_to(root).as_posix()
        if where.startswith(SLOW_MODULES):
            item.add_marker(pytest.mark.slow)
        if "[postgresql" in item.nodeid:
            item.add_marker(pytest.mark.postgresql)

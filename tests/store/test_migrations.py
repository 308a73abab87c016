"""The Alembic migrations: one head, the whole model, and a clean way down and back up."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from safeguard.store.database import alembic_config, engine_for, upgrade
from safeguard.store.models import Base


def test_the_migrations_have_one_head(sqlite_url: str) -> None:
    heads = ScriptDirectory.from_config(alembic_config(sqlite_url)).get_heads()
    assert len(heads) == 1, heads


def test_upgrade_creates_exactly_the_models_and_downgrade_removes_them(database_url: str) -> None:
    engine = upgrade(database_url)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []
    with engine.begin() as connection:
        config = alembic_config(database_url)
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    tables = set(inspect(engine_for(database_url)).get_table_names()) - {"alembic_version"}
    assert tables == set()
    engine = upgrade(database_url)  # and back up again
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())

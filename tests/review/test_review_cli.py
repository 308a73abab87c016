"""The review commands: users, assignments, preparation, serving, and the schema they rely on."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from argon2 import PasswordHasher
from sqlalchemy import select
from typer.testing import CliRunner

from safeguard.cli.main import app
from safeguard.store.database import session_scope, upgrade
from safeguard.store.models import Base
from safeguard.store.review_models import AuditEvent, CaseAssignment, User

runner = CliRunner()
REVIEW_TABLES = {
    "users",
    "case_assignments",
    "web_sessions",
    "review_votes",
    "review_decisions",
    "review_outcomes",
    "review_splits",
    "audit_events",
    "audit_head",
}


def test_the_migration_creates_exactly_the_review_models(database_url: str) -> None:
    engine = upgrade(database_url)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)

    def table_of(change) -> str | None:  # noqa: ANN001
        change = change[0] if isinstance(change, list) else change
        for part in change[1:]:
            name = getattr(part, "name", None) if not isinstance(part, str) else None
            table = getattr(part, "table", None)
            if table is not None:
                return table.name
            if name in REVIEW_TABLES:
                return name
        return None

    assert [c for c in diff if table_of(c) in REVIEW_TABLES] == []


def test_users_are_added_with_argon2_and_assigned(database_url: str, monkeypatch) -> None:
    assert runner.invoke(app, ["case", "create", "OP-CLI"]).exit_code == 0
    result = runner.invoke(
        app,
        ["user", "add", "ann", "--role", "supervisor", "--name", "Ann"],
        input="a long passphrase\na long passphrase\n",
    )
    assert result.exit_code == 0, result.output
    short = runner.invoke(app, ["user", "add", "bob"], input="short\nshort\n")
    assert short.exit_code == 1 and "at least" in short.stderr
    again = runner.invoke(app, ["user", "add", "ann"], input="a long passphrase\n" * 2)
    assert again.exit_code == 1 and "already exists" in again.stderr
    assert runner.invoke(app, ["user", "assign", "ann", "OP-CLI"]).exit_code == 0
    assert runner.invoke(app, ["user", "assign", "ann", "OP-NONE"]).exit_code == 1
    listing = runner.invoke(app, ["user", "list"])
    assert "ann" in listing.stdout and "supervisor" in listing.stdout and "OP-CLI" in listing.stdout
    with session_scope(database_url) as session:
        user = session.scalar(select(User).where(User.username == "ann"))
        assert user.password_hash.startswith("$argon2id$")
        assert PasswordHasher().verify(user.password_hash, "a long passphrase")
        assert session.scalar(
            select(CaseAssignment.case_id).where(CaseAssignment.user_id == user.id)
        )
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)).all()
        assert actions == ["user_add", "assign"]
    assert runner.invoke(app, ["audit", "verify"]).exit_code == 0


def test_review_prepare_and_serve_commands(sqlite_url: str) -> None:
    result = runner.invoke(app, ["review", "prepare", "OP-NONE"])
    assert result.exit_code == 1 and "no case" in result.stderr
    assert runner.invoke(app, ["case", "create", "OP-EMPTY"]).exit_code == 0
    assert runner.invoke(app, ["review", "prepare", "OP-EMPTY"]).exit_code == 0
    help_text = runner.invoke(app, ["serve", "--help"]).stdout
    for option in ("--port", "--secure-cookies", "--votes-required", "--break-reveals"):
        assert option in help_text


def test_disable_enable_and_password_end_sessions(database_url: str) -> None:
    from safeguard.review import auth

    answer = "a long passphrase\n" * 2
    assert runner.invoke(app, ["user", "add", "cy"], input=answer).exit_code == 0
    with session_scope(database_url) as session:
        user = session.scalar(select(User).where(User.username == "cy"))
        token, _ = auth.start_session(session, user)
        assert auth.authenticate(session, "cy", "a long passphrase") is not None

    def signed_in() -> bool:
        with session_scope(database_url) as session:
            return auth.resume_session(session, token, 60) is not None

    assert signed_in()
    assert runner.invoke(app, ["user", "disable", "cy"]).exit_code == 0
    assert not signed_in()
    with session_scope(database_url) as session:
        assert auth.authenticate(session, "cy", "a long passphrase") is None
    assert runner.invoke(app, ["user", "enable", "cy"]).exit_code == 0
    with session_scope(database_url) as session:
        user = session.scalar(select(User).where(User.username == "cy"))
        assert auth.authenticate(session, "cy", "a long passphrase") is not None
        token, _ = auth.start_session(session, user)
    short = runner.invoke(app, ["user", "password", "cy"], input="short\nshort\n")
    assert short.exit_code == 1 and "at least" in short.stderr
    changed = runner.invoke(app, ["user", "password", "cy"], input="another passphrase\n" * 2)
    assert changed.exit_code == 0, changed.output
    assert not signed_in()
    with session_scope(database_url) as session:
        assert auth.authenticate(session, "cy", "a long passphrase") is None
        assert auth.authenticate(session, "cy", "another passphrase") is not None
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)).all()
    assert actions == ["user_add", "user_disable", "user_enable", "user_password"]
    assert runner.invoke(app, ["user", "disable", "nobody"]).exit_code == 1
    assert runner.invoke(app, ["audit", "verify"]).exit_code == 0

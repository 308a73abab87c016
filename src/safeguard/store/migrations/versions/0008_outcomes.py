"""outcomes: actions, crime outcomes, force signing keys, imported statistics roll-ups

Revision ID: 0008
Revises: 0007 (0005 before the referral hub was merged; the integrator chains it)
Create Date: 2026-12-02 15:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _tz() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("supersedes_id", sa.Integer(), nullable=True),
        sa.Column("withdrawn", sa.Boolean(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("occurred_at", _tz(), nullable=False),
        sa.Column("force", sa.String(length=40), nullable=False),
        sa.Column("team", sa.String(length=100), nullable=True),
        sa.Column("operation", sa.String(length=100), nullable=True),
        sa.Column("target_kind", sa.String(length=20), nullable=False),
        sa.Column("target_ref", sa.String(length=100), nullable=False),
        sa.Column("person_key", sa.String(length=100), nullable=True),
        sa.Column("counted_key", sa.String(length=200), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=True),
        sa.Column("flag", sa.Boolean(), nullable=True),
        sa.Column("band", sa.String(length=20), nullable=True),
        sa.Column("referral_received_at", _tz(), nullable=True),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.Column("recorded_at", _tz(), nullable=False),
        sa.ForeignKeyConstraint(["supersedes_id"], ["actions.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ref", "version"),
        sa.UniqueConstraint("supersedes_id"),
    )
    op.create_index("ix_actions_ref", "actions", ["ref"])
    op.create_index("ix_actions_kind_occurred", "actions", ["kind", "occurred_at"])
    op.create_index("ix_actions_target", "actions", ["target_kind", "target_ref"])
    op.create_table(
        "action_children",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("action_id", sa.Integer(), nullable=False),
        sa.Column("child_key", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["action_id"], ["actions.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("action_id", "child_key"),
    )
    op.create_table(
        "crime_outcomes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("crime_ref", sa.String(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("supersedes_id", sa.Integer(), nullable=True),
        sa.Column("withdrawn", sa.Boolean(), nullable=False),
        sa.Column("code", sa.Integer(), nullable=False),
        sa.Column("sub_code", sa.String(length=10), nullable=True),
        sa.Column("decided_at", _tz(), nullable=False),
        sa.Column("force", sa.String(length=40), nullable=False),
        sa.Column("team", sa.String(length=100), nullable=True),
        sa.Column("operation", sa.String(length=100), nullable=True),
        sa.Column("target_kind", sa.String(length=20), nullable=True),
        sa.Column("target_ref", sa.String(length=100), nullable=True),
        sa.Column("person_key", sa.String(length=100), nullable=True),
        sa.Column("referral_received_at", _tz(), nullable=True),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.Column("recorded_at", _tz(), nullable=False),
        sa.ForeignKeyConstraint(["supersedes_id"], ["crime_outcomes.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("crime_ref", "version"),
        sa.UniqueConstraint("supersedes_id"),
    )
    op.create_index("ix_crime_outcomes_crime_ref", "crime_outcomes", ["crime_ref"])
    op.create_index("ix_crime_outcomes_decided", "crime_outcomes", ["decided_at"])
    op.create_table(
        "force_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("force", sa.String(length=40), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("public_pem", sa.Text(), nullable=False),
        sa.Column("registered_by", sa.String(length=100), nullable=False),
        sa.Column("registered_at", _tz(), nullable=False),
        sa.Column("revoked_at", _tz(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key_id"),
    )
    op.create_index("ix_force_keys_force", "force_keys", ["force"])
    op.create_table(
        "rollup_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("force", sa.String(length=40), nullable=False),
        sa.Column("period_from", sa.String(length=10), nullable=False),
        sa.Column("period_to", sa.String(length=10), nullable=False),
        sa.Column("tz", sa.String(length=60), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("imported_by", sa.String(length=100), nullable=False),
        sa.Column("imported_at", _tz(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_rollup_imports_period", "rollup_imports", ["period_from", "period_to", "force"]
    )


def downgrade() -> None:
    op.drop_index("ix_rollup_imports_period", table_name="rollup_imports")
    op.drop_table("rollup_imports")
    op.drop_index("ix_force_keys_force", table_name="force_keys")
    op.drop_table("force_keys")
    op.drop_index("ix_crime_outcomes_decided", table_name="crime_outcomes")
    op.drop_index("ix_crime_outcomes_crime_ref", table_name="crime_outcomes")
    op.drop_table("crime_outcomes")
    op.drop_table("action_children")
    op.drop_index("ix_actions_target", table_name="actions")
    op.drop_index("ix_actions_kind_occurred", table_name="actions")
    op.drop_index("ix_actions_ref", table_name="actions")
    op.drop_table("actions")

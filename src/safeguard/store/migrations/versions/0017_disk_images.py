"""disk images: file-system facts on file records, acquisition metadata per exhibit

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 15:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

_FLAGS = ("deleted", "unallocated", "carved")


def upgrade() -> None:
    with op.batch_alter_table("file_records") as batch:
        batch.add_column(sa.Column("created", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("accessed", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("changed", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("inode", sa.BigInteger(), nullable=True))
        for flag in _FLAGS:
            batch.add_column(
                sa.Column(flag, sa.Boolean(), nullable=False, server_default=sa.false())
            )
        batch.add_column(sa.Column("physical_offset", sa.BigInteger(), nullable=True))
    op.create_table(
        "exhibit_images",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("exhibit_id", sa.Integer(), nullable=False),
        sa.Column("format", sa.String(length=20), nullable=False),
        sa.Column("segments", sa.Integer(), nullable=False),
        sa.Column("media_size", sa.BigInteger(), nullable=False),
        sa.Column("bytes_per_sector", sa.Integer(), nullable=True),
        sa.Column("stored_md5", sa.String(length=128), nullable=True),
        sa.Column("stored_sha1", sa.String(length=128), nullable=True),
        sa.Column("case_number", sa.Text(), nullable=True),
        sa.Column("evidence_number", sa.Text(), nullable=True),
        sa.Column("examiner", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("acquired", sa.Text(), nullable=True),
        sa.Column("acquisition_tool", sa.Text(), nullable=True),
        sa.Column("acquisition_os", sa.Text(), nullable=True),
        sa.Column("verification", sa.String(length=20), nullable=True),
        sa.Column("verification_detail", sa.Text(), nullable=True),
        sa.Column("computed_md5", sa.String(length=32), nullable=True),
        sa.Column("computed_sha1", sa.String(length=40), nullable=True),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["exhibit_id"], ["exhibits.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("exhibit_id"),
    )


def downgrade() -> None:
    op.drop_table("exhibit_images")
    with op.batch_alter_table("file_records") as batch:
        for column in (
            "physical_offset",
            *reversed(_FLAGS),
            "inode",
            "changed",
            "accessed",
            "created",
        ):
            batch.drop_column(column)

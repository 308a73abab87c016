"""video: vPDQ frames, keyframe strips, bank frame sets and segments, video match details

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-30 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "video_frames",
        sa.Column("media_id", sa.Integer(), nullable=False),
        sa.Column("frame_number", sa.Integer(), nullable=False),
        sa.Column("quality", sa.Integer(), nullable=False),
        sa.Column("pdq", sa.String(length=64), nullable=False),
        sa.Column("timestamp_s", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["media_id"], ["media.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("media_id", "frame_number"),
    )
    op.create_table(
        "media_previews",
        sa.Column("media_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("idx", sa.Integer(), nullable=False),
        sa.Column("jpeg", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["media_id"], ["media.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("media_id", "kind", "idx"),
    )
    op.create_table(
        "bank_video_frames",
        sa.Column("bank_entry_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("frame_number", sa.Integer(), nullable=False),
        sa.Column("quality", sa.Integer(), nullable=False),
        sa.Column("pdq", sa.String(length=64), nullable=False),
        sa.Column("timestamp_s", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["bank_entry_id"], ["bank_entries.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("bank_entry_id", "seq"),
    )
    op.create_table(
        "bank_segments",
        sa.Column("bank_entry_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("start_s", sa.Float(), nullable=False),
        sa.Column("end_s", sa.Float(), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(["bank_entry_id"], ["bank_entries.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("bank_entry_id", "seq"),
    )
    op.create_table(
        "video_match_details",
        sa.Column("match_id", sa.Integer(), nullable=False),
        sa.Column("query_percent", sa.Float(), nullable=False),
        sa.Column("target_percent", sa.Float(), nullable=False),
        sa.Column("is_clip", sa.Boolean(), nullable=False),
        sa.Column("offset_s", sa.Float(), nullable=True),
        sa.Column("start_s", sa.Float(), nullable=True),
        sa.Column("end_s", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["match_id"], ["matches.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("match_id"),
    )


def downgrade() -> None:
    op.drop_table("video_match_details")
    op.drop_table("bank_segments")
    op.drop_table("bank_video_frames")
    op.drop_table("media_previews")
    op.drop_table("video_frames")

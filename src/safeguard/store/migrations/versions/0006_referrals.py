"""referrals: documents, referrals, parties, files, identifiers, providers, requests, returns,
events

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 15:05:40.265155
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "providers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("retention_days", sa.Integer(), nullable=False),
        sa.Column("contact", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "referral_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.Text(), nullable=False),
        sa.Column("format", sa.String(length=10), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("imported_by", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sha256"),
    )
    op.create_table(
        "provider_ranges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("start_hex", sa.String(length=32), nullable=True),
        sa.Column("end_hex", sa.String(length=32), nullable=True),
        sa.Column("prefix_len", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["providers.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "value"),
    )
    with op.batch_alter_table("provider_ranges", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_provider_ranges_provider_id"), ["provider_id"], unique=False
        )

    op.create_table(
        "referrals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("state_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("assignee", sa.String(length=100), nullable=True),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("exhibit_id", sa.Integer(), nullable=True),
        sa.Column("incident_type", sa.Text(), nullable=True),
        sa.Column("platform", sa.Text(), nullable=True),
        sa.Column("escalate_to_high_priority", sa.Boolean(), nullable=True),
        sa.Column("report_annotations", sa.Text(), nullable=True),
        sa.Column("incident_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("incident_offset_minutes", sa.Integer(), nullable=True),
        sa.Column("incident_at_original", sa.Text(), nullable=True),
        sa.Column("incident_description", sa.Text(), nullable=True),
        sa.Column("reporter_name", sa.Text(), nullable=True),
        sa.Column("reporter_json", sa.Text(), nullable=True),
        sa.Column("law_enforcement_json", sa.Text(), nullable=True),
        sa.Column("additional_info", sa.Text(), nullable=True),
        sa.Column("extra_json", sa.Text(), nullable=True),
        sa.Column("file_counts_json", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["referral_documents.id"],
        ),
        sa.ForeignKeyConstraint(
            ["exhibit_id"],
            ["exhibits.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source", "external_id"),
    )
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_referrals_document_id"), ["document_id"], unique=False)
        batch_op.create_index("ix_referrals_state", ["state"], unique=False)

    op.create_table(
        "referral_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("referral_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("from_state", sa.String(length=20), nullable=True),
        sa.Column("to_state", sa.String(length=20), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=True),
        sa.Column("assignee", sa.String(length=100), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["referral_id"],
            ["referrals.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("referral_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_referral_events_referral_id"), ["referral_id"], unique=False
        )

    op.create_table(
        "referral_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("referral_id", sa.Integer(), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.String(length=200), nullable=True),
        sa.Column("file_id", sa.String(length=200), nullable=True),
        sa.Column("file_name", sa.Text(), nullable=True),
        sa.Column("original_file_name", sa.Text(), nullable=True),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("uploaded_offset_minutes", sa.Integer(), nullable=True),
        sa.Column("uploaded_at_original", sa.Text(), nullable=True),
        sa.Column("location_of_file", sa.Text(), nullable=True),
        sa.Column("file_viewed_by_esp", sa.Boolean(), nullable=True),
        sa.Column("exif_viewed_by_esp", sa.Boolean(), nullable=True),
        sa.Column("publicly_available", sa.Boolean(), nullable=True),
        sa.Column("file_relevance", sa.String(length=40), nullable=True),
        sa.Column("file_annotations", sa.Text(), nullable=True),
        sa.Column("industry_classification", sa.String(length=10), nullable=True),
        sa.Column("md5", sa.String(length=32), nullable=True),
        sa.Column("sha1", sa.String(length=40), nullable=True),
        sa.Column("hashes_json", sa.Text(), nullable=True),
        sa.Column("details_json", sa.Text(), nullable=True),
        sa.Column("media_id", sa.Integer(), nullable=True),
        sa.Column("match_status", sa.String(length=30), nullable=True),
        sa.Column("category", sa.String(length=20), nullable=True),
        sa.Column("bank_entry_id", sa.Integer(), nullable=True),
        sa.Column("authority_required", sa.Boolean(), nullable=False),
        sa.Column("authority_by", sa.String(length=100), nullable=True),
        sa.Column("authority_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("authority_reference", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["bank_entry_id"],
            ["bank_entries.id"],
        ),
        sa.ForeignKeyConstraint(
            ["media_id"],
            ["media.id"],
        ),
        sa.ForeignKeyConstraint(
            ["referral_id"],
            ["referrals.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("referral_files", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_referral_files_md5"), ["md5"], unique=False)
        batch_op.create_index(batch_op.f("ix_referral_files_media_id"), ["media_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_referral_files_referral_id"), ["referral_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_referral_files_sha1"), ["sha1"], unique=False)

    op.create_table(
        "referral_parties",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("referral_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=30), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("first_name", sa.Text(), nullable=True),
        sa.Column("last_name", sa.Text(), nullable=True),
        sa.Column("age", sa.String(length=40), nullable=True),
        sa.Column("date_of_birth", sa.String(length=40), nullable=True),
        sa.Column("esp_identifier", sa.Text(), nullable=True),
        sa.Column("esp_service", sa.Text(), nullable=True),
        sa.Column("compromised_account", sa.Boolean(), nullable=True),
        sa.Column("screen_name", sa.Text(), nullable=True),
        sa.Column("profile_bio", sa.Text(), nullable=True),
        sa.Column("third_party_user_reported", sa.Boolean(), nullable=True),
        sa.Column("prior_ct_reports", sa.Text(), nullable=True),
        sa.Column("group_identifier", sa.Text(), nullable=True),
        sa.Column("account_temporarily_disabled", sa.Boolean(), nullable=True),
        sa.Column("account_permanently_disabled", sa.Boolean(), nullable=True),
        sa.Column("estimated_location", sa.Text(), nullable=True),
        sa.Column("associated_account", sa.Text(), nullable=True),
        sa.Column("additional_info", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["referral_id"],
            ["referrals.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("referral_parties", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_referral_parties_referral_id"), ["referral_id"], unique=False
        )

    op.create_table(
        "referral_identifiers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("referral_id", sa.Integer(), nullable=False),
        sa.Column("party_id", sa.Integer(), nullable=True),
        sa.Column("file_row_id", sa.Integer(), nullable=True),
        sa.Column("return_id", sa.Integer(), nullable=True),
        sa.Column("origin", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("original", sa.Text(), nullable=False),
        sa.Column("valid", sa.Boolean(), nullable=False),
        sa.Column("flags", sa.Text(), nullable=True),
        sa.Column("service", sa.Text(), nullable=True),
        sa.Column("event_name", sa.String(length=40), nullable=True),
        sa.Column("event_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("event_offset_minutes", sa.Integer(), nullable=True),
        sa.Column("event_at_original", sa.Text(), nullable=True),
        sa.Column("port", sa.Integer(), nullable=True),
        sa.Column("possible_proxy", sa.Boolean(), nullable=True),
        sa.Column("location", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["file_row_id"],
            ["referral_files.id"],
        ),
        sa.ForeignKeyConstraint(
            ["party_id"],
            ["referral_parties.id"],
        ),
        sa.ForeignKeyConstraint(
            ["referral_id"],
            ["referrals.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("referral_identifiers", schema=None) as batch_op:
        batch_op.create_index("ix_referral_identifiers_kind_value", ["kind", "value"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_referral_identifiers_referral_id"), ["referral_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_referral_identifiers_return_id"), ["return_id"], unique=False
        )

    op.create_table(
        "provider_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=40), nullable=False),
        sa.Column("referral_id", sa.Integer(), nullable=False),
        sa.Column("identifier_id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("port", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=True),
        sa.Column("drafted_by", sa.String(length=100), nullable=True),
        sa.Column("drafted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("authorised_by", sa.String(length=100), nullable=True),
        sa.Column("authorised_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("authorisation_reference", sa.Text(), nullable=True),
        sa.Column("sent_by", sa.String(length=100), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["identifier_id"],
            ["referral_identifiers.id"],
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["providers.id"],
        ),
        sa.ForeignKeyConstraint(
            ["referral_id"],
            ["referrals.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("identifier_id", "provider_id"),
        sa.UniqueConstraint("reference"),
    )
    with op.batch_alter_table("provider_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_provider_requests_provider_id"), ["provider_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_provider_requests_referral_id"), ["referral_id"], unique=False
        )
        batch_op.create_index("ix_provider_requests_state", ["state"], unique=False)

    op.create_table(
        "provider_returns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("document_sha256", sa.String(length=64), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("imported_by", sa.String(length=100), nullable=True),
        sa.Column("nil", sa.Boolean(), nullable=False),
        sa.Column("subscriber_name", sa.Text(), nullable=True),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("phone", sa.Text(), nullable=True),
        sa.Column("account", sa.Text(), nullable=True),
        sa.Column("service_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("service_end", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["provider_requests.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("provider_returns", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_provider_returns_request_id"), ["request_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("provider_returns", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_provider_returns_request_id"))

    op.drop_table("provider_returns")
    with op.batch_alter_table("provider_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_provider_requests_state")
        batch_op.drop_index(batch_op.f("ix_provider_requests_referral_id"))
        batch_op.drop_index(batch_op.f("ix_provider_requests_provider_id"))

    op.drop_table("provider_requests")
    with op.batch_alter_table("referral_identifiers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_referral_identifiers_return_id"))
        batch_op.drop_index(batch_op.f("ix_referral_identifiers_referral_id"))
        batch_op.drop_index("ix_referral_identifiers_kind_value")

    op.drop_table("referral_identifiers")
    with op.batch_alter_table("referral_parties", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_referral_parties_referral_id"))

    op.drop_table("referral_parties")
    with op.batch_alter_table("referral_files", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_referral_files_sha1"))
        batch_op.drop_index(batch_op.f("ix_referral_files_referral_id"))
        batch_op.drop_index(batch_op.f("ix_referral_files_media_id"))
        batch_op.drop_index(batch_op.f("ix_referral_files_md5"))

    op.drop_table("referral_files")
    with op.batch_alter_table("referral_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_referral_events_referral_id"))

    op.drop_table("referral_events")
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.drop_index("ix_referrals_state")
        batch_op.drop_index(batch_op.f("ix_referrals_document_id"))

    op.drop_table("referrals")
    with op.batch_alter_table("provider_ranges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_provider_ranges_provider_id"))

    op.drop_table("provider_ranges")
    op.drop_table("referral_documents")
    op.drop_table("providers")

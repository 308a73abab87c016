"""Referral hub tables (migration 0006): referrals, their documents, parties, identifiers and
files; communication service providers, their ranges, requests and returns; state history.

Imported at the bottom of ``store.models`` so that one ``Base.metadata`` holds every table.

Design notes for the issues that build on these tables (linking, deconfliction, priority,
packages, outcomes):
- ``ReferralDocument`` holds the bytes exactly as received (SHA-256 recorded); it is never
  updated. Several referrals may come from one document (a fragment CSV, a JSON list).
- ``Identifier`` is the unit of linking: ``kind`` + normalised ``value`` (indexed), the
  ``original`` text beside it, and ``valid`` False where the value did not parse (kept, flagged).
  IP identifiers carry the event instant in UTC, its original offset, the port and event name.
  ``origin`` says where it came from: "report", "file", "fragment" or "return" (a subscriber
  identity from a provider return, with ``return_id``).
- ``Referral.state`` is a free string checked by ``referrals.workflow`` so that later states
  (linked, prioritised, packaged, disseminated) need no schema change; every change is a
  ``ReferralEvent`` row with who, the assignee and the reason.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from safeguard.store.models import Base, utcnow


class ReferralDocument(Base):
    """One file as received (XML, JSON or CSV): its bytes unchanged, never edited."""

    __tablename__ = "referral_documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    #: Name as received (within the folder or zip it came in).
    filename: Mapped[str] = mapped_column(Text)
    #: xml, json or csv.
    format: Mapped[str] = mapped_column(String(10))
    size: Mapped[int] = mapped_column(BigInteger)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    imported_by: Mapped[str | None] = mapped_column(String(100))


class Referral(Base):
    """One referral: a CyberTipline-shaped report, or the fragments of one public/partner report."""

    __tablename__ = "referrals"
    __table_args__ = (
        UniqueConstraint("source", "external_id"),
        Index("ix_referrals_state", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: ncmec, nca, force, public or proactive.
    source: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(200))
    document_id: Mapped[int] = mapped_column(ForeignKey("referral_documents.id"), index=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    #: received, resolving, resolved, (linked, prioritised, packaged, disseminated), closed.
    state: Mapped[str] = mapped_column(String(20), default="received")
    state_changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    assignee: Mapped[str | None] = mapped_column(String(100))
    #: The case opened for the referral's uploaded files (review workstation), if any.
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    exhibit_id: Mapped[int | None] = mapped_column(ForeignKey("exhibits.id"))

    # incidentSummary
    incident_type: Mapped[str | None] = mapped_column(Text)
    platform: Mapped[str | None] = mapped_column(Text)
    escalate_to_high_priority: Mapped[bool | None] = mapped_column(Boolean)
    #: reportAnnotations, space separated (sextortion csamSolicitation ...).
    report_annotations: Mapped[str | None] = mapped_column(Text)
    incident_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: The UTC offset the incident time was written with, in minutes (None: none given).
    incident_offset_minutes: Mapped[int | None] = mapped_column(Integer)
    #: incidentDateTime as written (kept when it did not parse).
    incident_at_original: Mapped[str | None] = mapped_column(Text)
    incident_description: Mapped[str | None] = mapped_column(Text)

    #: reporter (the ESP or member of the public), lawEnforcement: canonical JSON of the element.
    reporter_name: Mapped[str | None] = mapped_column(Text)
    reporter_json: Mapped[str | None] = mapped_column(Text)
    law_enforcement_json: Mapped[str | None] = mapped_column(Text)
    additional_info: Mapped[str | None] = mapped_column(Text)
    #: Elements the importer did not know, as canonical JSON (importers stay adaptable).
    extra_json: Mapped[str | None] = mapped_column(Text)
    #: Counts from file matching: {"graded_exact": n, "new": n, "A": n, ...} as canonical JSON.
    file_counts_json: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    document: Mapped[ReferralDocument] = relationship()


class ReferralParty(Base):
    """A person or account named in a referral: the reported user, an intended recipient, a
    victim (the schema's ``personOrUserReported``, ``intendedRecipient``, ``victim``)."""

    __tablename__ = "referral_parties"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"), index=True)
    #: reported, intended_recipient or victim.
    role: Mapped[str] = mapped_column(String(30))
    ordinal: Mapped[int] = mapped_column(Integer, default=0)
    first_name: Mapped[str | None] = mapped_column(Text)
    last_name: Mapped[str | None] = mapped_column(Text)
    age: Mapped[str | None] = mapped_column(String(40))
    date_of_birth: Mapped[str | None] = mapped_column(String(40))
    esp_identifier: Mapped[str | None] = mapped_column(Text)
    esp_service: Mapped[str | None] = mapped_column(Text)
    compromised_account: Mapped[bool | None] = mapped_column(Boolean)
    screen_name: Mapped[str | None] = mapped_column(Text)
    profile_bio: Mapped[str | None] = mapped_column(Text)
    third_party_user_reported: Mapped[bool | None] = mapped_column(Boolean)
    #: priorCTReports, space separated.
    prior_ct_reports: Mapped[str | None] = mapped_column(Text)
    group_identifier: Mapped[str | None] = mapped_column(Text)
    account_temporarily_disabled: Mapped[bool | None] = mapped_column(Boolean)
    account_permanently_disabled: Mapped[bool | None] = mapped_column(Boolean)
    estimated_location: Mapped[str | None] = mapped_column(Text)
    associated_account: Mapped[str | None] = mapped_column(Text)
    additional_info: Mapped[str | None] = mapped_column(Text)


class ReferralFile(Base):
    """One reported file (``fileDetails``) and what matching made of it."""

    __tablename__ = "referral_files"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"), index=True)
    ordinal: Mapped[int] = mapped_column(Integer, default=0)
    report_id: Mapped[str | None] = mapped_column(String(200))
    file_id: Mapped[str | None] = mapped_column(String(200))
    file_name: Mapped[str | None] = mapped_column(Text)
    original_file_name: Mapped[str | None] = mapped_column(Text)
    uploaded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    uploaded_offset_minutes: Mapped[int | None] = mapped_column(Integer)
    uploaded_at_original: Mapped[str | None] = mapped_column(Text)
    location_of_file: Mapped[str | None] = mapped_column(Text)
    file_viewed_by_esp: Mapped[bool | None] = mapped_column(Boolean)
    exif_viewed_by_esp: Mapped[bool | None] = mapped_column(Boolean)
    publicly_available: Mapped[bool | None] = mapped_column(Boolean)
    file_relevance: Mapped[str | None] = mapped_column(String(40))
    #: fileAnnotations, space separated.
    file_annotations: Mapped[str | None] = mapped_column(Text)
    industry_classification: Mapped[str | None] = mapped_column(String(10))
    #: originalFileHash values, lower-case hex (the first of each type; all in hashes_json).
    md5: Mapped[str | None] = mapped_column(String(32), index=True)
    sha1: Mapped[str | None] = mapped_column(String(40), index=True)
    #: [{"value": ..., "hashType": ...}] and details[] {name, value, type}: canonical JSON.
    hashes_json: Mapped[str | None] = mapped_column(Text)
    details_json: Mapped[str | None] = mapped_column(Text)

    #: The uploaded bytes, when the bundle had them (hashed and matched like an exhibit).
    media_id: Mapped[int | None] = mapped_column(ForeignKey("media.id"), index=True)
    #: Outcome of matching: graded_exact, graded_perceptual, conflicting, new, not_media,
    #: unknown (hashes only, no bank knows them), or None before matching.
    match_status: Mapped[str | None] = mapped_column(String(30))
    category: Mapped[str | None] = mapped_column(String(20))
    bank_entry_id: Mapped[int | None] = mapped_column(ForeignKey("bank_entries.id"))

    #: True when the file was not viewed by the ESP and its source is gated: nobody may see it
    #: until the authority below is recorded.
    authority_required: Mapped[bool] = mapped_column(Boolean, default=False)
    authority_by: Mapped[str | None] = mapped_column(String(100))
    authority_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    authority_reference: Mapped[str | None] = mapped_column(Text)


class Identifier(Base):
    """One normalised identifier found in a referral (or returned by a provider)."""

    __tablename__ = "referral_identifiers"
    __table_args__ = (Index("ix_referral_identifiers_kind_value", "kind", "value"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"), index=True)
    party_id: Mapped[int | None] = mapped_column(ForeignKey("referral_parties.id"))
    file_row_id: Mapped[int | None] = mapped_column(ForeignKey("referral_files.id"))
    #: The provider_returns row a subscriber identity came from (no foreign key: requests
    #: already point at identifiers, and a cycle of keys would complicate every insert).
    return_id: Mapped[int | None] = mapped_column(Integer, index=True)
    #: report, file, fragment or return.
    origin: Mapped[str] = mapped_column(String(20), default="report")
    #: email, phone, ip, username, esp_account, screen_name, display_name, profile_url,
    #: device_id, name, date_of_birth, address, postcode, hash_md5, hash_sha1, url, other.
    kind: Mapped[str] = mapped_column(String(30))
    value: Mapped[str] = mapped_column(Text)
    original: Mapped[str] = mapped_column(Text)
    valid: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Why it is flagged (space separated): unparsed, possible_proxy, not_documentation_range...
    flags: Mapped[str | None] = mapped_column(Text)
    #: The service an account or username belongs to (espService / the CSV's source).
    service: Mapped[str | None] = mapped_column(Text)
    event_name: Mapped[str | None] = mapped_column(String(40))
    event_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    event_offset_minutes: Mapped[int | None] = mapped_column(Integer)
    event_at_original: Mapped[str | None] = mapped_column(Text)
    port: Mapped[int | None] = mapped_column(Integer)
    possible_proxy: Mapped[bool | None] = mapped_column(Boolean)
    #: Where in the document: element path or CSV line.
    location: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)


class Provider(Base):
    """A communication service provider, from the table the unit imports."""

    __tablename__ = "providers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    retention_days: Mapped[int] = mapped_column(Integer)
    contact: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ProviderRange(Base):
    """An address range (CIDR), an email domain or a phone prefix a provider holds."""

    __tablename__ = "provider_ranges"
    __table_args__ = (UniqueConstraint("kind", "value"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), index=True)
    #: cidr, domain or phone_prefix.
    kind: Mapped[str] = mapped_column(String(20))
    #: Canonical CIDR (ipaddress), lower-case domain, or E.164 prefix ("+447700").
    value: Mapped[str] = mapped_column(String(200))
    #: For CIDRs: first and last address as 32 hex digits (IPv4 as IPv4-mapped IPv6), so that
    #: a range query can run in SQL.
    start_hex: Mapped[str | None] = mapped_column(String(32))
    end_hex: Mapped[str | None] = mapped_column(String(32))
    prefix_len: Mapped[int | None] = mapped_column(Integer)

    provider: Mapped[Provider] = relationship()


class ProviderRequest(Base):
    """A communications-data request: drafted -> authorised -> sent -> returned | nil_return |
    expired (``referrals.requests_rules``)."""

    __tablename__ = "provider_requests"
    __table_args__ = (
        UniqueConstraint("identifier_id", "provider_id"),
        Index("ix_provider_requests_state", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"), index=True)
    identifier_id: Mapped[int] = mapped_column(ForeignKey("referral_identifiers.id"))
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    value: Mapped[str] = mapped_column(Text)
    window_start: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    window_end: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    port: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(20), default="drafted")
    #: When the provider's retention runs out for the oldest instant asked about.
    deadline: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    drafted_by: Mapped[str | None] = mapped_column(String(100))
    drafted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    authorised_by: Mapped[str | None] = mapped_column(String(100))
    authorised_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    authorisation_reference: Mapped[str | None] = mapped_column(Text)
    sent_by: Mapped[str | None] = mapped_column(String(100))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    provider: Mapped[Provider] = relationship()


class ProviderReturn(Base):
    """One row of a provider's return: a subscriber, or no data (nil)."""

    __tablename__ = "provider_returns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("provider_requests.id"), index=True)
    document_sha256: Mapped[str] = mapped_column(String(64))
    line: Mapped[int] = mapped_column(Integer)
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    imported_by: Mapped[str | None] = mapped_column(String(100))
    nil: Mapped[bool] = mapped_column(Boolean, default=False)
    subscriber_name: Mapped[str | None] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(Text)
    account: Mapped[str | None] = mapped_column(Text)
    service_start: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    service_end: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ReferralEvent(Base):
    """A state change (or assignment) of a referral: who, to whom, why."""

    __tablename__ = "referral_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str | None] = mapped_column(String(100))
    assignee: Mapped[str | None] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text)

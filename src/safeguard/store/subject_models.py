"""Subject tables (migration 0007): subjects linked from referrals, the links and why, analyst
decisions, deconfliction, priority history, KIRAT records, packages and disseminations.

Imported at the bottom of ``store.models`` so that one ``Base.metadata`` holds every table.
Analyst decisions are keyed by pairs of referrals, not by subjects, so that they survive every
re-linking (which rebuilds ``subject_members`` and ``subject_links``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from safeguard.store.models import Base, utcnow


class Subject(Base):
    """A person, as the referrals linked to them."""

    __tablename__ = "subjects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    #: A display name from the subject's referrals (may be None).
    label: Mapped[str | None] = mapped_column(Text)
    #: False once a re-linking leaves it with no referral (kept for the audit trail).
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SubjectMember(Base):
    __tablename__ = "subject_members"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), index=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"), unique=True)


class SubjectLink(Base):
    """One edge that joined two referrals of a subject, with why."""

    __tablename__ = "subject_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), index=True)
    referral_a_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"))
    referral_b_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"))
    #: analyst, deterministic or probabilistic.
    method: Mapped[str] = mapped_column(String(20))
    #: JSON list of reasons (identifiers shared, Splink levels and their weights).
    reasons_json: Mapped[str] = mapped_column(Text)
    weight: Mapped[float | None] = mapped_column(Float)
    probability: Mapped[float | None] = mapped_column(Float)


class LinkDecision(Base):
    """An analyst's decision on a pair of referrals: same person (confirm/merge) or not (split)."""

    __tablename__ = "link_decisions"
    __table_args__ = (UniqueConstraint("referral_a_id", "referral_b_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    referral_a_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"))
    referral_b_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"))
    same: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(Text)
    decided_by: Mapped[str] = mapped_column(String(100))
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SubjectFact(Base):
    """Intelligence an analyst records on a referral's subject: position_of_trust,
    household_access, registered_sex_offender, contact_abuse_alleged."""

    __tablename__ = "subject_facts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    note: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class KiratRecord(Base):
    """A KIRAT result made elsewhere: band, version, assessor, date. Never computed here."""

    __tablename__ = "kirat_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"), index=True)
    band: Mapped[str] = mapped_column(String(20))
    version: Mapped[str] = mapped_column(String(40))
    assessor: Mapped[str] = mapped_column(String(200))
    assessed_on: Mapped[str] = mapped_column(String(10))
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PriorityAssessment(Base):
    """One scoring of a referral (history: a new row whenever the facts change)."""

    __tablename__ = "priority_assessments"
    __table_args__ = (Index("ix_priority_assessments_referral", "referral_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"))
    score: Mapped[int] = mapped_column(Integer)
    band: Mapped[str] = mapped_column(String(40))
    band_rank: Mapped[int] = mapped_column(Integer)
    #: The assessment as canonical JSON (every factor, applied or not, with its points).
    factors_json: Mapped[str] = mapped_column(Text)
    rules_sha256: Mapped[str] = mapped_column(String(64))
    assessed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    assessed_by: Mapped[str | None] = mapped_column(String(100))


class ExternalHolding(Base):
    """One entry of another force's deconfliction file (a keyed hash, never a raw value)."""

    __tablename__ = "external_holdings"
    __table_args__ = (
        UniqueConstraint("force", "key_id", "digest", "reference"),
        Index("ix_external_holdings_digest", "digest"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    force: Mapped[str] = mapped_column(String(200))
    key_id: Mapped[str] = mapped_column(String(100))
    digest: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(30))
    reference: Mapped[str] = mapped_column(String(200))
    since: Mapped[str] = mapped_column(String(40))
    file_sha256: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class DeconflictionHit(Base):
    """Someone else holds what this referral touches: inside the store or another force."""

    __tablename__ = "deconfliction_hits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"), index=True)
    #: internal (another open referral/case of this store) or external (another force).
    scope: Mapped[str] = mapped_column(String(20))
    holder: Mapped[str] = mapped_column(String(200))
    their_reference: Mapped[str] = mapped_column(String(200))
    since: Mapped[str | None] = mapped_column(String(40))
    detail: Mapped[str] = mapped_column(Text)
    found_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ReferralHold(Base):
    """A conflict holds the referral for a supervisor before any further action."""

    __tablename__ = "referral_holds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    held_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    released_by: Mapped[str | None] = mapped_column(String(100))
    released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    release_note: Mapped[str | None] = mapped_column(Text)


class IntelPackage(Base):
    """An intelligence package as generated: its bytes and their SHA-256, to prove what was sent."""

    __tablename__ = "intel_packages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(60), unique=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"), index=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    json_bytes: Mapped[bytes] = mapped_column(LargeBinary)
    html_bytes: Mapped[bytes] = mapped_column(LargeBinary)
    pdf_bytes: Mapped[bytes | None] = mapped_column(LargeBinary)
    json_sha256: Mapped[str] = mapped_column(String(64))
    html_sha256: Mapped[str] = mapped_column(String(64))
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))


class Dissemination(Base):
    """A package sent to a force or team: to whom, when, by whom."""

    __tablename__ = "disseminations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    package_id: Mapped[int] = mapped_column(ForeignKey("intel_packages.id"), index=True)
    recipient: Mapped[str] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    sent_by: Mapped[str] = mapped_column(String(100))
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

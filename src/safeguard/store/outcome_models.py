"""Actions, crime outcomes, force signing keys and imported roll-ups (migration 0008).

Records are never updated in place: a correction is a new row with the next ``version`` that
``supersedes`` the row before it (a withdrawal is a superseding row with ``withdrawn`` set), so
the full history stays and the current record of a ``ref`` is the one nothing supersedes.

An action's target is generic (``target_kind`` subject | referral | case and ``target_ref``) so
that it does not depend on how the referral hub keys its rows; ``person_key`` names the person
the statistics count (``hid:`` keyed identifier hash, or a local key such as
``local:subject:<ref>``). What the statistics count is copied into columns (``counted_key``,
``quantity``, ``flag``) so that counting is SQL over one table.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from safeguard.store.models import Base, utcnow


class Action(Base):
    __tablename__ = "actions"
    __table_args__ = (
        UniqueConstraint("ref", "version"),
        Index("ix_actions_kind_occurred", "kind", "occurred_at"),
        Index("ix_actions_target", "target_kind", "target_ref"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ref: Mapped[str] = mapped_column(String(40), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("actions.id"), unique=True)
    withdrawn: Mapped[bool] = mapped_column(Boolean, default=False)
    kind: Mapped[str] = mapped_column(String(40))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    force: Mapped[str] = mapped_column(String(40))
    team: Mapped[str | None] = mapped_column(String(100))
    operation: Mapped[str | None] = mapped_column(String(100))
    target_kind: Mapped[str] = mapped_column(String(20))
    target_ref: Mapped[str] = mapped_column(String(100))
    person_key: Mapped[str | None] = mapped_column(String(100))
    counted_key: Mapped[str | None] = mapped_column(String(200))
    quantity: Mapped[int | None] = mapped_column(Integer)
    flag: Mapped[bool | None] = mapped_column(Boolean)
    #: KIRAT band recorded elsewhere, as known when the action was recorded (never computed).
    band: Mapped[str | None] = mapped_column(String(20))
    #: When the referral that led to this action was received (time to arrest).
    referral_received_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    details: Mapped[str] = mapped_column(Text, default="{}")
    reason: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ActionChild(Base):
    """The children of a safeguarding action row, each by key (named or anonymous)."""

    __tablename__ = "action_children"
    __table_args__ = (UniqueConstraint("action_id", "child_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("actions.id"))
    child_key: Mapped[str] = mapped_column(String(200))


class CrimeOutcome(Base):
    """A Home Office outcome for one crime; corrections supersede like actions."""

    __tablename__ = "crime_outcomes"
    __table_args__ = (
        UniqueConstraint("crime_ref", "version"),
        Index("ix_crime_outcomes_decided", "decided_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    crime_ref: Mapped[str] = mapped_column(String(100), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("crime_outcomes.id"), unique=True)
    withdrawn: Mapped[bool] = mapped_column(Boolean, default=False)
    code: Mapped[int] = mapped_column(Integer)
    sub_code: Mapped[str | None] = mapped_column(String(10))
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    force: Mapped[str] = mapped_column(String(40))
    team: Mapped[str | None] = mapped_column(String(100))
    operation: Mapped[str | None] = mapped_column(String(100))
    target_kind: Mapped[str | None] = mapped_column(String(20))
    target_ref: Mapped[str | None] = mapped_column(String(100))
    person_key: Mapped[str | None] = mapped_column(String(100))
    referral_received_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    details: Mapped[str] = mapped_column(Text, default="{}")
    reason: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ForceKey(Base):
    """A force's Ed25519 public key, registered at the national instance."""

    __tablename__ = "force_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    force: Mapped[str] = mapped_column(String(40), index=True)
    key_id: Mapped[str] = mapped_column(String(16), unique=True)
    public_pem: Mapped[str] = mapped_column(Text)
    registered_by: Mapped[str] = mapped_column(String(100))
    registered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RollupImport(Base):
    """A verified roll-up file; the newest import of a force and period is the one that counts."""

    __tablename__ = "rollup_imports"
    __table_args__ = (Index("ix_rollup_imports_period", "period_from", "period_to", "force"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    force: Mapped[str] = mapped_column(String(40))
    period_from: Mapped[str] = mapped_column(String(10))
    period_to: Mapped[str] = mapped_column(String(10))
    tz: Mapped[str] = mapped_column(String(60))
    key_id: Mapped[str] = mapped_column(String(16))
    sha256: Mapped[str] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text)
    imported_by: Mapped[str] = mapped_column(String(100))
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

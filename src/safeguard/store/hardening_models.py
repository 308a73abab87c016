"""Tables of issue 11's hardening: audit entry MACs, case retention and sign-in throttling."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from safeguard.store.models import Base, utcnow

#: Case retention states: previews and keyframes exist only while a case is open or closed.
OPEN, CLOSED, PURGED = "open", "closed", "purged"


class AuditMac(Base):
    """HMAC-SHA256 of an audit entry's hash under a key held outside the database."""

    __tablename__ = "audit_macs"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    mac: Mapped[str] = mapped_column(String(64))


class CaseRetention(Base):
    """A case's retention state; a case with no row is open."""

    __tablename__ = "case_retention"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    purged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class LoginThrottle(Base):
    """Failed sign-ins in a row for one key (``user:<name>`` or ``client:<address>``)."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(220), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    first_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)

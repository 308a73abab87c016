"""State that several server processes share through the database (migration 0018).

* ``lookup_rate_buckets``: one token bucket per API token, so the lookup rate limit holds across
  every ``safeguard serve`` process on one PostgreSQL (updated by one atomic upsert a request).
* ``bank_versions``: one row whose counter goes up in the same transaction as every change to
  which banks exist or are enabled; a server process compares it with the version its in-memory
  bank indexes were built from, and rebuilds them when it moved.

Imported at the bottom of ``store.models`` so that one ``Base.metadata`` holds every table.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, Float, ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from safeguard.store.models import Base


class LookupRateBucket(Base):
    __tablename__ = "lookup_rate_buckets"

    token_id: Mapped[int] = mapped_column(
        ForeignKey("api_tokens.id", ondelete="CASCADE"), primary_key=True
    )
    #: Requests the token may still make at ``updated_at`` (refilled at the configured rate).
    level: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: Whether the last request taken from this bucket was let through.
    granted: Mapped[bool] = mapped_column(Boolean)


class BankVersion(Base):
    __tablename__ = "bank_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)

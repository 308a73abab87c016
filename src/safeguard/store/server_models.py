"""Server tables: API tokens for the lookup API (migration 0004).

Imported at the bottom of ``store.models`` so that one ``Base.metadata`` holds every table.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from safeguard.store.models import Base, utcnow


class ApiToken(Base):
    """A bearer token another tool uses for lookups. Only its SHA-256 is stored.

    A name may be issued again once its token is revoked; at most one active token per name.
    """

    __tablename__ = "api_tokens"
    __table_args__ = (Index("ix_api_tokens_name", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

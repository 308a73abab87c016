"""Referral hub settings, from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from safeguard.domain.referrals import SOURCES
from safeguard.referrals.normalise import DEFAULT_REGION


def _sources(text: str | None) -> frozenset[str]:
    if text is None or text.strip() in ("", "*", "all"):
        return frozenset(SOURCES)
    if text.strip().lower() == "none":
        return frozenset()
    return frozenset(s.strip().lower() for s in text.split(",") if s.strip())


@dataclass(frozen=True)
class ReferralSettings:
    #: Region for phone numbers written without a country code (SAFEGUARD_PHONE_REGION).
    phone_region: str = DEFAULT_REGION
    #: Sources whose files not viewed by the ESP need a recorded authority before anyone views
    #: them (SAFEGUARD_VIEW_AUTHORITY_SOURCES: comma separated, "all" (default) or "none").
    authority_sources: frozenset[str] = field(default_factory=lambda: frozenset(SOURCES))
    #: Where uploaded files of referrals are kept (the exhibit of the referral's case).
    uploads_dir: Path = Path("var/referral-uploads")
    #: Days before a deadline at which a request counts as overdue (SAFEGUARD_REQUEST_WARN_DAYS).
    warn_days: int = 7

    @classmethod
    def from_env(cls) -> ReferralSettings:
        return cls(
            phone_region=os.environ.get("SAFEGUARD_PHONE_REGION", DEFAULT_REGION).upper(),
            authority_sources=_sources(os.environ.get("SAFEGUARD_VIEW_AUTHORITY_SOURCES")),
            uploads_dir=Path(os.environ.get("SAFEGUARD_REFERRAL_UPLOADS", "var/referral-uploads")),
            warn_days=int(os.environ.get("SAFEGUARD_REQUEST_WARN_DAYS", "7")),
        )

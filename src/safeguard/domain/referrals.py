"""Facts about referrals as read from a document, before they are stored. Pure types.

The intake parsers (``safeguard.referrals.intake``) produce these; the store
(``safeguard.store.referrals``) writes them. Field names follow the CyberTipline ESP schema
(see docs/referrals.md): text is kept exactly as written; normalisation happens on the way in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

#: Where a referral came from.
SOURCES: tuple[str, ...] = ("ncmec", "nca", "force", "public", "proactive")

#: Roles of the people/accounts a report names.
REPORTED, INTENDED_RECIPIENT, VICTIM = "reported", "intended_recipient", "victim"


@dataclass(frozen=True)
class IdentifierFact:
    """One identifier as written, plus its normalised value (filled in by normalisation)."""

    kind: str
    original: str
    location: str
    value: str = ""
    valid: bool = True
    flags: tuple[str, ...] = ()
    service: str | None = None
    event_name: str | None = None
    event_at: datetime | None = None
    event_offset_minutes: int | None = None
    event_at_original: str | None = None
    port: int | None = None
    possible_proxy: bool | None = None
    note: str | None = None
    #: Which party (index into ReferralFacts.parties) or file (index into files) it belongs to.
    party: int | None = None
    file: int | None = None
    origin: str = "report"


@dataclass(frozen=True)
class PartyFacts:
    role: str
    ordinal: int = 0
    first_name: str | None = None
    last_name: str | None = None
    age: str | None = None
    date_of_birth: str | None = None
    esp_identifier: str | None = None
    esp_service: str | None = None
    compromised_account: bool | None = None
    screen_name: str | None = None
    profile_bio: str | None = None
    third_party_user_reported: bool | None = None
    prior_ct_reports: str | None = None
    group_identifier: str | None = None
    account_temporarily_disabled: bool | None = None
    account_permanently_disabled: bool | None = None
    estimated_location: str | None = None
    associated_account: str | None = None
    additional_info: str | None = None


@dataclass(frozen=True)
class FileFacts:
    """One ``fileDetails`` element."""

    ordinal: int = 0
    report_id: str | None = None
    file_id: str | None = None
    file_name: str | None = None
    original_file_name: str | None = None
    uploaded_at: datetime | None = None
    uploaded_offset_minutes: int | None = None
    uploaded_at_original: str | None = None
    location_of_file: str | None = None
    file_viewed_by_esp: bool | None = None
    exif_viewed_by_esp: bool | None = None
    publicly_available: bool | None = None
    file_relevance: str | None = None
    file_annotations: str | None = None
    industry_classification: str | None = None
    md5: str | None = None
    sha1: str | None = None
    #: [{"value", "hashType"}] and [{"name", "value", "type"}], as read.
    hashes: tuple[dict[str, str], ...] = ()
    details: tuple[dict[str, str], ...] = ()


@dataclass(frozen=True)
class ReferralFacts:
    external_id: str
    incident_type: str | None = None
    platform: str | None = None
    escalate_to_high_priority: bool | None = None
    report_annotations: str | None = None
    incident_at: datetime | None = None
    incident_offset_minutes: int | None = None
    incident_at_original: str | None = None
    incident_description: str | None = None
    reporter_name: str | None = None
    reporter: dict | None = None
    law_enforcement: dict | None = None
    additional_info: str | None = None
    internet_details: tuple[dict, ...] = ()
    extra: dict | None = None
    parties: tuple[PartyFacts, ...] = ()
    files: tuple[FileFacts, ...] = ()
    identifiers: tuple[IdentifierFact, ...] = ()
    #: Where in the document the referral starts (element path or CSV line), for messages.
    location: str = ""
    #: Warnings that did not stop the import (e.g. a value that did not parse).
    warnings: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class IntakeError:
    """A document, or one report in it, that could not be read: where and why."""

    filename: str
    where: str
    message: str

    def __str__(self) -> str:
        where = f" ({self.where})" if self.where else ""
        return f"{self.filename}{where}: {self.message}"

"""Identifier normalisation: pure functions from the text a referral gives to a canonical value.

Rules (each function says its own):
- A value that does not parse is never dropped: it comes back with ``valid=False``, the value
  reduced only by the safe steps (whitespace trimmed) and a flag saying why.
- The original text is always kept beside the value by the caller.
- Times become aware UTC instants; the offset they were written with is kept in minutes
  (None when the text had no offset: then UTC is assumed and the flag ``no_offset`` is set).
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime

import phonenumbers

DEFAULT_REGION = "GB"

#: Flags an identifier may carry.
UNPARSED = "unparsed"
NO_OFFSET = "no_offset"
NOT_PUBLIC = "not_public_address"  # private, loopback, CGNAT shared space... (kept, flagged)


@dataclass(frozen=True)
class Normalised:
    value: str
    valid: bool = True
    flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Instant:
    """A point in time from a referral: UTC, plus the offset it was written with."""

    utc: datetime | None
    offset_minutes: int | None
    original: str
    valid: bool = True
    flags: tuple[str, ...] = ()


_SPACES = re.compile(r"\s+")


def clean_text(text: str) -> str:
    """NFC, outer whitespace stripped, inner runs of whitespace made one space."""
    return _SPACES.sub(" ", unicodedata.normalize("NFC", text)).strip()


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalise_email(text: str) -> Normalised:
    """Trimmed; domain lower-cased and IDNA-encoded; the local part lower-cased too (every
    common provider treats it case-insensitively, and referrals mix case freely). Provider
    rules such as Gmail's ignored dots or "+tag" suffixes are NOT applied: they are not
    documented for every provider and would merge different mailboxes."""
    value = text.strip().strip("<>").strip()
    if value.lower().startswith("mailto:"):
        value = value[7:]
    if not _EMAIL.match(value):
        return Normalised(value, False, (UNPARSED,))
    local, _, domain = value.rpartition("@")
    domain = domain.rstrip(".").lower()
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        return Normalised(value, False, (UNPARSED,))
    return Normalised(f"{local.lower()}@{domain}")


def email_domain(value: str) -> str | None:
    return value.rpartition("@")[2] or None if "@" in value else None


def normalise_phone(text: str, region: str = DEFAULT_REGION) -> Normalised:
    """E.164 (``+447700900123``) through ``phonenumbers``; numbers written without a country
    code are read in ``region``. A number phonenumbers cannot parse, or judges impossible, is
    kept as written (trimmed) and flagged."""
    value = text.strip()
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return Normalised(value, False, (UNPARSED,))
    if not phonenumbers.is_possible_number(number):
        return Normalised(value, False, (UNPARSED,))
    return Normalised(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def normalise_ip(text: str) -> Normalised:
    """Canonical text of ``ipaddress`` (IPv4 dotted quad without leading zeros, IPv6
    compressed lower case); an IPv4-mapped IPv6 address becomes its IPv4 address; brackets
    and a zone are dropped. Private, loopback, link-local and shared (CGNAT) addresses are kept
    and flagged ``not_public_address`` (no provider can resolve them)."""
    value = text.strip()
    if value.startswith("[") and value.endswith("]"):
        value = value[1:-1]
    value = value.split("%", 1)[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return Normalised(text.strip(), False, (UNPARSED,))
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    cgnat = isinstance(address, ipaddress.IPv4Address) and address in _CGNAT
    local = address.is_private and not _documentation(address)
    flags = (NOT_PUBLIC,) if local or address.is_loopback or cgnat else ()
    return Normalised(str(address), True, flags)


_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_DOCUMENTATION = tuple(
    ipaddress.ip_network(n)
    for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
)


def _documentation(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """The documentation ranges are 'private' to ipaddress, but they are what our synthetic
    referrals use in place of public addresses, so they are treated as public."""
    return any(address.version == n.version and address in n for n in _DOCUMENTATION)


def normalise_port(text: str | int | None) -> int | None:
    """A TCP/UDP port 0-65535, or None (absent or not a port)."""
    if text is None:
        return None
    try:
        port = int(str(text).strip())
    except ValueError:
        return None
    return port if 0 <= port <= 65535 else None


def normalise_username(text: str) -> Normalised:
    """Usernames and screen names: NFC, trimmed, a leading '@' dropped, compared without case
    (services differ, so the service travels with the value, see ``Identifier.service``)."""
    value = clean_text(text).removeprefix("@")
    if not value:
        return Normalised(text, False, (UNPARSED,))
    return Normalised(value.casefold())


def normalise_account_id(text: str) -> Normalised:
    """ESP account ids and device ids are opaque: trimmed only, case kept."""
    value = text.strip()
    return Normalised(value) if value else Normalised(text, False, (UNPARSED,))


def normalise_name(text: str) -> Normalised:
    """People's names: NFC, whitespace collapsed, case folded (for comparison only: the
    original text is kept beside it)."""
    value = clean_text(text)
    return Normalised(value.casefold()) if value else Normalised(text, False, (UNPARSED,))


_POSTCODE = re.compile(r"\b([A-Z]{1,2}[0-9][A-Z0-9]?)\s*([0-9][A-Z]{2})\b", re.IGNORECASE)


def find_postcode(text: str) -> str | None:
    """The last UK postcode in an address, in its standard form ('SW1A 1AA'), or None."""
    found = _POSTCODE.findall(text)
    if not found:
        return None
    outward, inward = found[-1]
    return f"{outward.upper()} {inward.upper()}"


def normalise_address(text: str) -> Normalised:
    """Postal addresses: NFC, lines joined with ', ', whitespace collapsed, case folded, the
    postcode (if any) in its standard form."""
    parts = [clean_text(p) for p in re.split(r"[\n,]+", text)]
    value = ", ".join(p for p in parts if p).casefold()
    if not value:
        return Normalised(text, False, (UNPARSED,))
    postcode = find_postcode(value)
    if postcode:
        value = _POSTCODE.sub(postcode.casefold(), value)
    return Normalised(value)


def normalise_date(text: str) -> Normalised:
    """Dates of birth: ISO 8601 ``YYYY-MM-DD``; also read DD/MM/YYYY (UK order). Anything else
    is kept and flagged."""
    value = text.strip()
    for parse in (_iso_date, _uk_date):
        parsed = parse(value)
        if parsed is not None:
            return Normalised(parsed.isoformat())
    return Normalised(value, False, (UNPARSED,))


def _iso_date(value: str) -> date | None:
    try:
        return date.fromisoformat(value[:10]) if len(value) >= 10 else None
    except ValueError:
        return None


def _uk_date(value: str) -> date | None:
    match = re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})", value)
    if not match:
        return None
    day, month, year = (int(g) for g in match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        return None


def parse_instant(text: str | None) -> Instant | None:
    """ISO 8601 date-times (``2026-03-01T14:02:11-05:00``, ``...Z``, fractional seconds).
    The result is UTC; the written offset is kept in minutes. Without an offset the time is
    taken as UTC and flagged ``no_offset``. Unparseable text is kept and flagged."""
    if text is None:
        return None
    value = text.strip()
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        return Instant(None, None, text, False, (UNPARSED,))
    if parsed.tzinfo is None:
        return Instant(parsed.replace(tzinfo=UTC), None, text, True, (NO_OFFSET,))
    offset = parsed.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    return Instant(parsed.astimezone(UTC), minutes, text)


def parse_bool(text: str | None) -> bool | None:
    """The schema's booleans: true/false (also 1/0, yes/no); None when absent or unreadable."""
    if text is None:
        return None
    value = text.strip().lower()
    if value in {"true", "1", "yes", "y"}:
        return True
    if value in {"false", "0", "no", "n"}:
        return False
    return None


def normalise_hash(text: str, length: int) -> Normalised:
    """Hex digests: lower case, ``length`` hex digits; anything else kept and flagged."""
    value = text.strip().lower()
    if len(value) == length and all(c in "0123456789abcdef" for c in value):
        return Normalised(value)
    return Normalised(text.strip(), False, (UNPARSED,))


#: Identifier kinds and their normaliser (phone numbers take a region; see ``normalise``).
KINDS = (
    "email",
    "phone",
    "ip",
    "username",
    "screen_name",
    "display_name",
    "esp_account",
    "device_id",
    "profile_url",
    "url",
    "name",
    "date_of_birth",
    "address",
    "postcode",
    "hash_md5",
    "hash_sha1",
    "other",
)


def normalise(kind: str, text: str, region: str = DEFAULT_REGION) -> Normalised:
    """Dispatch on ``kind`` (one of ``KINDS``); unknown kinds are kept as trimmed text."""
    match kind:
        case "email":
            return normalise_email(text)
        case "phone":
            return normalise_phone(text, region)
        case "ip":
            return normalise_ip(text)
        case "username" | "screen_name" | "display_name":
            return normalise_username(text)
        case "esp_account" | "device_id":
            return normalise_account_id(text)
        case "name":
            return normalise_name(text)
        case "date_of_birth":
            return normalise_date(text)
        case "address":
            return normalise_address(text)
        case "postcode":
            code = find_postcode(text)
            return Normalised(code) if code else Normalised(text.strip(), False, (UNPARSED,))
        case "hash_md5":
            return normalise_hash(text, 32)
        case "hash_sha1":
            return normalise_hash(text, 40)
        case "profile_url" | "url":
            value = text.strip()
            return Normalised(value) if value else Normalised(text, False, (UNPARSED,))
        case _:
            value = clean_text(text)
            return Normalised(value) if value else Normalised(text, False, (UNPARSED,))

"""Lenient parsing of the field values bank files carry, shared by every reader.

Each helper raises ValueError with a message fit to show a user in a RecordError.
"""

from __future__ import annotations

import re

from safeguard.config import scheme, vics_profile
from safeguard.domain.categories import CategoryScheme, VicsProfile
from safeguard.domain.kinds import HEX_LENGTHS, HashKind, normalise_hex

DEFAULT_PROFILE = "uk"

_TRUE = frozenset({"true", "t", "yes", "y", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "0", ""})

#: Hash names as bank files spell them (lower-cased, without "-" and "_") → kind.
HASH_NAMES: dict[str, HashKind] = {
    "md5": HashKind.MD5,
    "sha1": HashKind.SHA1,
    "sha256": HashKind.SHA256,
    "pdq": HashKind.PDQ,
}

#: The hash fields of BankRecord, in the order writers emit them.
RECORD_HASH_KINDS: tuple[HashKind, ...] = (
    HashKind.MD5,
    HashKind.SHA1,
    HashKind.SHA256,
    HashKind.PDQ,
)


_HEX_PATTERNS = {kind: re.compile(f"[0-9a-f]{{{HEX_LENGTHS[kind]}}}") for kind in RECORD_HASH_KINDS}


def hash_kind_named(name: str) -> HashKind | None:
    """The hash kind a name like "SHA-256", "sha_1" or "PDQ" stands for, or None."""
    return HASH_NAMES.get(name.strip().lower().replace("-", "").replace("_", ""))


def parse_bool(value: object, field: str) -> bool:
    """A flag written as a JSON boolean, 0/1, or a string such as "true", "True", "yes"."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise ValueError(f"{field} is not a boolean: {value!r}")


def parse_int(value: object, field: str) -> int:
    """An integer written as a JSON number (integral) or a decimal string such as "1"."""
    if isinstance(value, bool):
        raise ValueError(f"{field} is not an integer: {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            pass
        try:
            number = float(text)
        except ValueError:
            number = None
        if number is not None and number.is_integer():
            return int(number)
    if hasattr(value, "as_integer_ratio"):  # Decimal from ijson
        try:
            numerator, denominator = value.as_integer_ratio()  # type: ignore[attr-defined]
        except (ValueError, OverflowError):
            pass
        else:
            if denominator == 1:
                return numerator
    raise ValueError(f"{field} is not an integer: {value!r}")


def parse_quality(value: object, field: str = "PDQ quality") -> int | None:
    if value is None or value == "":
        return None
    quality = parse_int(value, field)
    if not 0 <= quality <= 100:
        raise ValueError(f"{field} must be between 0 and 100, got {quality}")
    return quality


def parse_text(value: object, field: str) -> str | None:
    """A free-text field; empty means absent. Numbers are accepted and written as text."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"{field} is not text: {value!r}")
    if isinstance(value, str):
        return value or None
    if isinstance(value, int | float) or hasattr(value, "as_integer_ratio"):
        return str(value)
    if isinstance(value, dict):  # some exporters write {"Name": ...} objects
        for key, item in value.items():
            if key.lower() == "name" and isinstance(item, str):
                return item or None
    raise ValueError(f"{field} is not text: {value!r}")


def parse_hash(value: object, kind: HashKind) -> str:
    """A hex hash of ``kind``, lower-cased; ValueError (from normalise_hex) when invalid."""
    if not isinstance(value, str):
        raise ValueError(f"{kind.value} hash is not a string: {value!r}")
    text = value.strip().lower()
    # Fast path for the common valid case; normalise_hex checks character by character.
    if _HEX_PATTERNS[kind].fullmatch(text):
        return text
    return normalise_hex(value, kind)


def resolve_profile(name: str | None) -> VicsProfile:
    """The VICS profile for ``name`` (default uk); KeyError for an unknown profile."""
    return vics_profile((name or DEFAULT_PROFILE).lower())


def profile_scheme(profile: VicsProfile) -> CategoryScheme:
    return scheme(profile.scheme)


def resolve_default_category(profile: VicsProfile, default_category: str | None) -> str:
    """The category for lines that carry none: the given code, else the scheme's uncategorised."""
    categories = profile_scheme(profile)
    if default_category is None:
        return categories.uncategorised
    if default_category not in categories:
        raise ValueError(
            f"default category {default_category!r} is not in scheme {categories.name!r}; "
            f"known: {', '.join(categories.codes)}"
        )
    return default_category

"""Keyed person hashes: how two forces recognise the same person without sharing who it is.

A person's strong identifier (an email address, a phone number, a PNC or passport number) is
normalised and hashed with HMAC-SHA-256 under a key every participating force shares (the
deconfliction key); the result, ``hid:<hex>``, is the person key the statistics count once. The
same rule as the referral hub's deconfliction; when both live in one tree, this module should
call that one.
"""

from __future__ import annotations

import hashlib
import hmac
import re

STRONG_KINDS = ("email", "phone", "pnc", "passport")


class IdentityError(ValueError):
    pass


def normalise(kind: str, value: str) -> str:
    """The canonical text of a strong identifier (same person, same text)."""
    if kind not in STRONG_KINDS:
        raise IdentityError(f"{kind!r} is not a strong identifier ({', '.join(STRONG_KINDS)})")
    text = value.strip()
    if not text or len(text) > 320:
        raise IdentityError(f"the {kind} is empty or too long")
    if kind == "email":
        if text.count("@") != 1:
            raise IdentityError(f"{value!r} is not an email address")
        return text.lower()
    if kind == "phone":
        digits = re.sub(r"[\s().-]", "", text)
        if digits.startswith("00"):
            digits = "+" + digits[2:]
        elif digits.startswith("0"):
            digits = "+44" + digits[1:]
        if not re.fullmatch(r"\+\d{7,15}", digits):
            raise IdentityError(f"{value!r} is not a phone number")
        return digits
    return re.sub(r"[\s/-]", "", text).upper()


def person_hash(kind: str, value: str, key: bytes) -> str:
    if len(key) < 16:
        raise IdentityError("the deconfliction key must be at least 16 bytes")
    message = f"{kind}:{normalise(kind, value)}".encode()
    return "hid:" + hmac.new(key, message, hashlib.sha256).hexdigest()

"""Enumerations shared by every layer: hash kinds, media kinds, match kinds and media statuses."""

from enum import StrEnum


class HashKind(StrEnum):
    MD5 = "md5"
    SHA1 = "sha1"
    SHA256 = "sha256"
    PDQ = "pdq"
    VPDQ = "vpdq"

    @property
    def is_digest(self) -> bool:
        return self in (HashKind.MD5, HashKind.SHA1, HashKind.SHA256)


#: Length in hex characters of each hash kind that has a fixed length.
HEX_LENGTHS: dict[HashKind, int] = {
    HashKind.MD5: 32,
    HashKind.SHA1: 40,
    HashKind.SHA256: 64,
    HashKind.PDQ: 64,
}

DIGEST_KINDS: tuple[HashKind, ...] = (HashKind.MD5, HashKind.SHA1, HashKind.SHA256)


class MediaKind(StrEnum):
    IMAGE = "image"
    VIDEO = "video"
    OTHER = "other"


class MatchKind(StrEnum):
    EXACT = "exact"
    PERCEPTUAL = "perceptual"


class MediaStatus(StrEnum):
    """Where one media item stands after matching. Exactly one per media item in an exhibit."""

    GRADED_EXACT = "graded_exact"
    GRADED_PERCEPTUAL = "graded_perceptual"
    CONFLICTING = "conflicting"
    NEW = "new"
    NOT_MEDIA = "not_media"


def normalise_hex(value: str, kind: HashKind) -> str:
    """Lower-case a hex hash and check its length and alphabet; raises ValueError otherwise."""
    text = value.strip().lower()
    expected = HEX_LENGTHS.get(kind)
    if expected is not None and len(text) != expected:
        raise ValueError(f"{kind.value} hash must be {expected} hex characters, got {len(text)}")
    if not text or any(c not in "0123456789abcdef" for c in text):
        raise ValueError(f"{kind.value} hash is not hexadecimal: {value!r}")
    return text

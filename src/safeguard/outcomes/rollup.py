"""The signed statistics file a force sends to the national instance, and the national table.

The file is JSON: ``{"format": "safeguard-stats-rollup", "version": 1, "payload": {...},
"signature": {"algorithm": "ed25519", "key_id": ..., "value": base64}}``. The signature is over
the payload's canonical JSON (sorted keys, no spaces, UTF-8), so any change to a figure, a person
hash or the period breaks it. ``key_id`` is the first 16 hex digits of SHA-256 of the raw public
key. Reading is bounded: a size limit, a depth limit, and every field checked, with errors naming
the file and the element.

Nationally a person (or child) counted by two forces, recognised by the same keyed identifier
hash, counts once; the table says how many were de-duplicated per statistic.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from safeguard.outcomes.periods import Period, PeriodError
from safeguard.outcomes.statistics import BY_KEY, PERSON_MEASURES

FORMAT = "safeguard-stats-rollup"
VERSION = 1
MAX_BYTES = 64 * 1024 * 1024
MAX_DEPTH = 8
MAX_KEYS_PER_STATISTIC = 5_000_000
_FORCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _.-]{0,39}")
_KEY = re.compile(r"(hid|loc):[0-9a-f]{16,64}")


class RollupError(ValueError):
    """A file that cannot be accepted; the message names the file and what is wrong."""


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def new_key() -> tuple[bytes, bytes]:
    """A new signing key: (private key PEM, public key PEM)."""
    private = Ed25519PrivateKey.generate()
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private_pem, public_pem


def load_private(pem: bytes) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as error:
        raise RollupError(f"not an unencrypted PEM private key: {error}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise RollupError("the private key is not an Ed25519 key")
    return key


def load_public(pem: bytes) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError) as error:
        raise RollupError(f"not a PEM public key: {error}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise RollupError("the public key is not an Ed25519 key")
    return key


@dataclass(frozen=True)
class ForceFigures:
    """One force's figures for a period, and the (exported) keys of the people it counted."""

    force: str
    period: Period
    values: Mapping[str, int]
    people: Mapping[str, Sequence[str]] = field(default_factory=dict)
    generated_at: str = ""

    def payload(self) -> dict[str, Any]:
        return {
            "force": self.force,
            "period": {
                "from": self.period.first.isoformat(),
                "to": self.period.last.isoformat(),
                "tz": self.period.tz,
            },
            "generated_at": self.generated_at,
            "statistics": dict(sorted(self.values.items())),
            "people": {k: sorted(set(v)) for k, v in sorted(self.people.items())},
        }


def sign(figures: ForceFigures, private: Ed25519PrivateKey) -> bytes:
    payload = figures.payload()
    signature = private.sign(canonical(payload))
    document = {
        "format": FORMAT,
        "version": VERSION,
        "payload": payload,
        "signature": {
            "algorithm": "ed25519",
            "key_id": key_id(private.public_key()),
            "value": base64.b64encode(signature).decode(),
        },
    }
    return json.dumps(document, sort_keys=True, indent=1).encode() + b"\n"


@dataclass(frozen=True)
class SignedFile:
    figures: ForceFigures
    key_id: str
    signature: bytes
    payload_bytes: bytes


def _depth(value: Any, limit: int) -> int:
    """Depth of nested containers, stopping once over ``limit``."""
    stack, deepest = [(value, 1)], 0
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            if deepest > limit:
                return deepest
            children = item.values() if isinstance(item, dict) else item
            stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return deepest


def _need(mapping: Any, name: str, kind: type, where: str) -> Any:
    if not isinstance(mapping, dict) or name not in mapping:
        raise RollupError(f"{where}: {name} is missing")
    value = mapping[name]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise RollupError(f"{where}.{name}: expected {kind.__name__}")
    return value


def parse(data: bytes, name: str = "file") -> SignedFile:
    """Read a roll-up file (untrusted): structure and values only; ``verify`` checks the
    signature against a registered key."""
    if len(data) > MAX_BYTES:
        raise RollupError(f"{name}: larger than {MAX_BYTES // (1024 * 1024)} MiB")
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise RollupError(f"{name}: not JSON ({error})") from None
    except RecursionError:
        raise RollupError(f"{name}: nested too deeply") from None
    if _depth(document, MAX_DEPTH) > MAX_DEPTH:
        raise RollupError(f"{name}: nested deeper than {MAX_DEPTH}")
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise RollupError(f"{name}: not a Safeguard statistics roll-up (format)")
    if document.get("version") != VERSION:
        raise RollupError(f"{name}: version {document.get('version')!r} is not {VERSION}")
    if "signature" not in document or document["signature"] is None:
        raise RollupError(f"{name}: unsigned: the file has no signature")
    sig = _need(document, "signature", dict, name)
    if sig.get("algorithm") != "ed25519":
        raise RollupError(f"{name}: signature.algorithm must be ed25519")
    kid = _need(sig, "key_id", str, f"{name}: signature")
    if not re.fullmatch(r"[0-9a-f]{16}", kid):
        raise RollupError(f"{name}: signature.key_id is not 16 hex digits")
    try:
        signature = base64.b64decode(_need(sig, "value", str, f"{name}: signature"), validate=True)
    except ValueError:
        raise RollupError(f"{name}: signature.value is not base64") from None
    if len(signature) != 64:
        raise RollupError(f"{name}: signature.value is not an Ed25519 signature (64 bytes)")
    payload = _need(document, "payload", dict, name)
    where = f"{name}: payload"
    force = _need(payload, "force", str, where)
    if not _FORCE.fullmatch(force):
        raise RollupError(f"{where}.force: {force[:60]!r} is not a force code")
    period_doc = _need(payload, "period", dict, where)
    try:
        period = Period(
            date.fromisoformat(_need(period_doc, "from", str, f"{where}.period")),
            date.fromisoformat(_need(period_doc, "to", str, f"{where}.period")),
            _need(period_doc, "tz", str, f"{where}.period"),
        )
    except (PeriodError, ValueError) as error:
        raise RollupError(f"{where}.period: {error}") from None
    values: dict[str, int] = {}
    for key, value in _need(payload, "statistics", dict, where).items():
        if key not in BY_KEY:
            raise RollupError(f"{where}.statistics.{key[:60]}: not a statistic")
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 10**12:
            raise RollupError(f"{where}.statistics.{key}: expected a count")
        values[key] = value
    people: dict[str, list[str]] = {}
    for key, keys in _need(payload, "people", dict, where).items():
        if key not in BY_KEY or BY_KEY[key].measure not in PERSON_MEASURES:
            raise RollupError(f"{where}.people.{key[:60]}: not a statistic that counts people")
        if not isinstance(keys, list) or len(keys) > MAX_KEYS_PER_STATISTIC:
            raise RollupError(f"{where}.people.{key}: expected a list of person keys")
        for i, one in enumerate(keys):
            if not isinstance(one, str) or not _KEY.fullmatch(one):
                raise RollupError(f"{where}.people.{key}[{i}]: not a person key")
        if len(keys) != values.get(key, -1):
            raise RollupError(
                f"{where}.people.{key}: {len(keys)} keys for a count of {values.get(key)}"
            )
        people[key] = keys
    generated = payload.get("generated_at", "")
    if not isinstance(generated, str) or len(generated) > 40:
        raise RollupError(f"{where}.generated_at: expected a short timestamp")
    figures = ForceFigures(force, period, values, people, generated)
    return SignedFile(figures, kid, signature, canonical(payload))


def verify(signed: SignedFile, public: Ed25519PublicKey, name: str = "file") -> None:
    """Raises RollupError unless the payload is exactly what the key signed."""
    try:
        public.verify(signed.signature, signed.payload_bytes)
    except InvalidSignature:
        raise RollupError(
            f"{name}: the signature does not match the content (tampered, or signed by another key)"
        ) from None


@dataclass(frozen=True)
class NationalTable:
    period: Period
    forces: tuple[str, ...]
    per_force: Mapping[str, Mapping[str, int]]
    national: Mapping[str, int]
    #: Per statistic: people or children counted by more than one force, counted once here.
    deduplicated: Mapping[str, int]


def national(files: Sequence[ForceFigures], period: Period) -> NationalTable:
    """The national table of forces' figures for one period (the files must be for it).

    Person and child statistics: the size of the union of the forces' keys (so a person two
    forces counted counts once); every other statistic: the sum. ``arrested_not_previously_known
    _pct`` is a share and is not summed: nationally it is the arrest-weighted mean.
    """
    per_force = {f.force: dict(f.values) for f in files}
    totals: dict[str, int] = {}
    dedup: dict[str, int] = {}
    keys = sorted({k for f in files for k in f.values})
    for key in keys:
        stat = BY_KEY[key]
        summed = sum(f.values.get(key, 0) for f in files)
        if stat.measure in PERSON_MEASURES:
            union = {p for f in files for p in f.people.get(key, ())}
            totals[key] = len(union)
            dedup[key] = summed - len(union)
        elif stat.measure == "percent":
            weight = sum(f.values.get("arrests", 0) for f in files)
            weighted = sum(f.values.get(key, 0) * f.values.get("arrests", 0) for f in files)
            totals[key] = (2 * weighted + weight) // (2 * weight) if weight else 0
        else:
            totals[key] = summed
    return NationalTable(period, tuple(sorted(per_force)), per_force, totals, dedup)

"""Deconfliction across forces without raw identifiers leaving: keyed hashes.

The rule: each normalised strong identifier becomes HMAC-SHA-256(key, kind | service | value),
hex; only that digest, the kind, the force, its reference and the date it was first held leave
the store. Forces that share the key compute the same digest for the same identifier, so a
match in another force's file reads "also held by FORCE, reference, since DATE"; without the key
nobody can recover or test a value. IP addresses are left out: an address names a subscriber
only with its exact time and port, so forces deconflict on what it resolved to.

Keys live in a keyring (JSON: ``{"keys": [{"id": "2026-q4", "secret": "<64+ hex>",
"current": true}, ...]}``). A file names the key id it was made with and carries a check value
(an HMAC of a fixed text), so that a key this store does not have, or a different key under the
same id, is refused with a message that says which, and old files still import after a key is
rotated as long as the old key stays in the ring.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FORMAT = "safeguard-deconfliction"
VERSION = 1
KINDS = ("email", "phone", "esp_account")
_CHECK_TEXT = b"safeguard deconfliction key check v1"
MAX_FILE_BYTES = 256 * 1024 * 1024
MAX_KEYRING_BYTES = 64 * 1024
MIN_SECRET_BYTES = 32


@dataclass(frozen=True)
class Key:
    id: str
    secret: bytes
    current: bool = False

    @property
    def check(self) -> str:
        return hmac.new(self.secret, _CHECK_TEXT, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Keyring:
    keys: tuple[Key, ...]

    @property
    def current(self) -> Key:
        return next(k for k in self.keys if k.current)

    def get(self, key_id: str) -> Key | None:
        return next((k for k in self.keys if k.id == key_id), None)


@dataclass(frozen=True)
class DeconflictError:
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass(frozen=True)
class Held:
    """One strong identifier this force holds (raw; never written out)."""

    kind: str
    value: str
    reference: str
    since: str  # ISO date
    service: str | None = None


@dataclass(frozen=True)
class Entry:
    """One line of a deconfliction file."""

    digest: str
    kind: str
    reference: str
    since: str


@dataclass(frozen=True)
class DeconflictionFile:
    force: str
    key_id: str
    created_at: str
    entries: tuple[Entry, ...]


@dataclass(frozen=True)
class Hit:
    """Ours (``reference``) is also held elsewhere."""

    reference: str
    kind: str
    force: str
    their_reference: str
    since: str

    def __str__(self) -> str:
        return f"also held by {self.force}, {self.their_reference}, since {self.since}"


def digest(key: Key, kind: str, value: str, service: str | None = None) -> str:
    material = "\x1f".join((kind, (service or "").strip().lower(), value)).encode("utf-8")
    return hmac.new(key.secret, material, hashlib.sha256).hexdigest()


def parse_keyring(data: bytes, where: str = "<keyring>") -> Keyring | DeconflictError:
    if len(data) > MAX_KEYRING_BYTES:
        return DeconflictError(where, f"larger than {MAX_KEYRING_BYTES} bytes")
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        return DeconflictError(where, f"not JSON: {exc}")
    raw = doc.get("keys") if isinstance(doc, dict) else None
    if not isinstance(raw, list) or not raw:
        return DeconflictError(where, 'expected {"keys": [{"id", "secret", "current"}, ...]}')
    keys: list[Key] = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not item["id"]:
            return DeconflictError(where, f"keys[{i}]: needs a non-empty id")
        try:
            secret = bytes.fromhex(str(item.get("secret", "")))
        except ValueError:
            return DeconflictError(where, f"keys[{i}] ({item['id']}): secret is not hex")
        if len(secret) < MIN_SECRET_BYTES:
            return DeconflictError(
                where, f"keys[{i}] ({item['id']}): secret shorter than {MIN_SECRET_BYTES} bytes"
            )
        keys.append(Key(item["id"], secret, bool(item.get("current", False))))
    if len({k.id for k in keys}) != len(keys):
        return DeconflictError(where, "two keys have the same id")
    if sum(k.current for k in keys) != 1:
        return DeconflictError(where, "exactly one key must be marked current")
    return Keyring(tuple(keys))


def load_keyring(path: Path) -> Keyring | DeconflictError:
    try:
        return parse_keyring(path.read_bytes()[: MAX_KEYRING_BYTES + 1], str(path))
    except OSError as exc:
        return DeconflictError(str(path), f"cannot read: {exc.strerror or exc}")


def build_file(
    held: Iterable[Held], keyring: Keyring, force: str, created_at: str
) -> dict[str, Any]:
    """The export document: digests under the current key, never a raw value."""
    key = keyring.current
    seen: set[tuple[str, str]] = set()
    entries = []
    for h in sorted(held, key=lambda h: (h.since, h.reference, h.kind, h.value)):
        if h.kind not in KINDS or not h.value:
            continue
        d = digest(key, h.kind, h.value, h.service if h.kind == "esp_account" else None)
        if (d, h.reference) in seen:
            continue
        seen.add((d, h.reference))
        entries.append({"digest": d, "kind": h.kind, "reference": h.reference, "since": h.since})
    return {
        "format": FORMAT,
        "version": VERSION,
        "force": force,
        "key_id": key.id,
        "key_check": key.check,
        "created_at": created_at,
        "entries": entries,
    }


def parse_file(
    data: bytes, keyring: Keyring, where: str = "<file>"
) -> DeconflictionFile | DeconflictError:
    """Read another force's file and check it was made with a key we hold."""
    if len(data) > MAX_FILE_BYTES:
        return DeconflictError(where, f"larger than {MAX_FILE_BYTES} bytes")
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        return DeconflictError(where, f"not JSON: {exc}")
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        return DeconflictError(where, f"not a deconfliction file (format must be {FORMAT!r})")
    if doc.get("version") != VERSION:
        return DeconflictError(where, f"version {doc.get('version')!r} not supported")
    force, key_id = doc.get("force"), doc.get("key_id")
    if not isinstance(force, str) or not force or not isinstance(key_id, str):
        return DeconflictError(where, "force and key_id are required")
    key = keyring.get(key_id)
    if key is None:
        have = ", ".join(k.id for k in keyring.keys)
        return DeconflictError(
            where,
            f"made with key {key_id!r}, which this keyring does not hold (it holds: {have}); "
            "add that key to the keyring, or ask the sender to export again under the current key",
        )
    if not hmac.compare_digest(str(doc.get("key_check", "")), key.check):
        return DeconflictError(
            where,
            f"wrong key: this keyring's key {key_id!r} is not the key the file was made with "
            "(the check value differs); nothing was imported",
        )
    raw = doc.get("entries")
    if not isinstance(raw, list):
        return DeconflictError(where, "entries: expected a list")
    entries: list[Entry] = []
    for i, e in enumerate(raw):
        if not isinstance(e, dict):
            return DeconflictError(where, f"entries[{i}]: expected an object")
        d, kind, ref, since = (e.get(k) for k in ("digest", "kind", "reference", "since"))
        if not (isinstance(d, str) and len(d) == 64 and all(c in "0123456789abcdef" for c in d)):
            return DeconflictError(where, f"entries[{i}].digest: expected 64 lower-case hex")
        if kind not in KINDS:
            return DeconflictError(where, f"entries[{i}].kind: {kind!r} not one of {KINDS}")
        if not isinstance(ref, str) or not isinstance(since, str) or len(ref) > 200:
            return DeconflictError(where, f"entries[{i}]: reference and since are required")
        entries.append(Entry(d, kind, ref, since[:40]))
    return DeconflictionFile(force, key_id, str(doc.get("created_at", ""))[:40], tuple(entries))


def find_hits(
    held: Iterable[Held], theirs: Sequence[DeconflictionFile], keyring: Keyring
) -> list[Hit]:
    """Our identifiers that appear in other forces' files (hashed under each file's key)."""
    held = list(held)
    hits: set[Hit] = set()
    for f in theirs:
        key = keyring.get(f.key_id)
        if key is None:
            continue
        index: dict[str, list[Entry]] = {}
        for e in f.entries:
            index.setdefault(e.digest, []).append(e)
        for h in held:
            if h.kind not in KINDS:
                continue
            d = digest(key, h.kind, h.value, h.service if h.kind == "esp_account" else None)
            for e in index.get(d, ()):
                hits.add(Hit(h.reference, h.kind, f.force, e.reference, e.since))
    return sorted(hits, key=lambda h: (h.reference, h.force, h.their_reference, h.kind))

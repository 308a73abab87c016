"""Derived media (review previews, video keyframes) sealed at rest with AES-256-GCM.

The store keeps colour previews of seized media; a copy of the database (a stolen file, a
backup) must show nothing. Every preview is encrypted on write and decrypted on read here, in
the store layer, so callers hand plain JPEG bytes to the same functions as before. The key is
the ``media`` key of the key folder (``store/keys.py``), outside the database. Each blob is
``SGM1`` + a random 96-bit nonce + ciphertext and tag; the row's (media id, kind, index) is the
associated data, so a blob moved to another row does not decrypt. Rows written before
encryption (no ``SGM1`` prefix) are read as they are.
"""

from __future__ import annotations

import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from safeguard.store.keys import load_key

MAGIC = b"SGM1"
MEDIA_KEY = "media"
_NONCE = 12


def _cipher(session: Session) -> AESGCM:
    url: URL = session.get_bind().url
    return AESGCM(load_key(url, MEDIA_KEY))


def _aad(media_id: int, kind: str, idx: int) -> bytes:
    return f"{media_id}:{kind}:{idx}".encode()


def seal(session: Session, media_id: int, kind: str, idx: int, data: bytes) -> bytes:
    nonce = os.urandom(_NONCE)
    return MAGIC + nonce + _cipher(session).encrypt(nonce, data, _aad(media_id, kind, idx))


def unseal(session: Session, media_id: int, kind: str, idx: int, blob: bytes) -> bytes:
    """The plain bytes of a stored blob; ``cryptography``'s InvalidTag if it was tampered with
    or sealed under another key."""
    if not blob.startswith(MAGIC):
        return blob  # written before previews were encrypted
    nonce = blob[len(MAGIC) : len(MAGIC) + _NONCE]
    body = blob[len(MAGIC) + _NONCE :]
    return _cipher(session).decrypt(nonce, body, _aad(media_id, kind, idx))

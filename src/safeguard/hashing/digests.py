"""MD5, SHA-1 and SHA-256 of a byte stream in a single pass."""

from __future__ import annotations

import hashlib
from typing import BinaryIO

from safeguard.hashing.facts import Digests

DEFAULT_CHUNK = 1 << 20


class MultiDigest:
    """Feed bytes once, get all three digests. Used by ``digest_stream`` and ``analyse_file``."""

    __slots__ = ("_md5", "_sha1", "_sha256", "size")

    def __init__(self) -> None:
        # usedforsecurity=False: these are identifiers, and FIPS builds refuse MD5 otherwise.
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._sha1 = hashlib.sha1(usedforsecurity=False)
        self._sha256 = hashlib.sha256()
        self.size = 0

    def update(self, data: bytes | bytearray | memoryview) -> None:
        self._md5.update(data)
        self._sha1.update(data)
        self._sha256.update(data)
        self.size += len(data)

    def result(self) -> Digests:
        return Digests(
            md5=self._md5.hexdigest(),
            sha1=self._sha1.hexdigest(),
            sha256=self._sha256.hexdigest(),
            size=self.size,
        )


def digest_bytes(data: bytes | bytearray | memoryview) -> Digests:
    """Digests of bytes already in memory."""
    digest = MultiDigest()
    digest.update(data)
    return digest.result()


def digest_stream(stream: BinaryIO, chunk: int = DEFAULT_CHUNK) -> Digests:
    """Digests of everything left in ``stream``, reading it once, sequentially, in chunks."""
    if chunk <= 0:
        raise ValueError("chunk must be positive")
    digest = MultiDigest()
    readinto = getattr(stream, "readinto", None)
    if readinto is not None:
        buffer = bytearray(chunk)
        view = memoryview(buffer)
        while True:
            n = readinto(buffer)
            if not n:
                break
            digest.update(view[:n])
    else:
        while True:
            data = stream.read(chunk)
            if not data:
                break
            digest.update(data)
    return digest.result()

from __future__ import annotations

import hashlib
import io

from hypothesis import given, settings
from hypothesis import strategies as st

from safeguard.hashing import Digests, digest_bytes, digest_stream


class CountingStream(io.RawIOBase):
    """A read-only stream that counts what is read from it and refuses to seek."""

    def __init__(self, data: bytes) -> None:
        self._data = memoryview(data)
        self._pos = 0
        self.calls = 0
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        self.calls += 1
        n = min(len(buffer), len(self._data) - self._pos)
        buffer[:n] = self._data[self._pos : self._pos + n]
        self._pos += n
        self.bytes_read += n
        return n

    def seekable(self) -> bool:
        return False


def _expected(data: bytes) -> Digests:
    return Digests(
        md5=hashlib.md5(data).hexdigest(),
        sha1=hashlib.sha1(data).hexdigest(),
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
    )


@settings(max_examples=200)
@given(data=st.binary(max_size=5000), chunk=st.integers(min_value=1, max_value=4096))
def test_stream_digests_match_hashlib_and_read_each_byte_once(data: bytes, chunk: int) -> None:
    stream = CountingStream(data)
    assert digest_stream(stream, chunk=chunk) == _expected(data)
    assert stream.bytes_read == len(data)
    # one sequential pass: ceil(len/chunk) reads that return data, plus the one that sees EOF
    assert stream.calls == -(-len(data) // chunk) + 1


@given(data=st.binary(max_size=5000))
def test_digest_bytes_matches_hashlib(data: bytes) -> None:
    assert digest_bytes(data) == _expected(data)


def test_stream_without_readinto() -> None:
    class ReadOnly:
        def __init__(self, data: bytes) -> None:
            self._io = io.BytesIO(data)

        def read(self, n: int = -1) -> bytes:
            return self._io.read(n)

    data = bytes(range(256)) * 1000
    assert digest_stream(ReadOnly(data), chunk=777) == _expected(data)  # type: ignore[arg-type]


def test_empty_and_known_vector() -> None:
    assert digest_bytes(b"").sha256 == (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )
    assert digest_bytes(b"abc").md5 == "900150983cd24fb0d6963f7d28e17f72"
    assert digest_bytes(b"abc").sha1 == "a9993e364706816aba3e25717850c26c9cd0d89d"

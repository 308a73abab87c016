"""analyse_file: one read, digests always, image facts or a recorded error, never a crash."""

from __future__ import annotations

import hashlib
import io
import pickle
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safeguard.domain.kinds import MediaKind
from safeguard.hashing import FileFacts, analyse_file
from safeguard.hashing import analyse as analyse_module

from .conftest import encode, textured
from .test_digests import CountingStream
from .test_images import huge_png, jpeg_declaring

PNG = encode(textured(200, 150), "PNG")
JPEG = encode(textured(200, 150), "JPEG", quality=90)


def _check_digests(facts: FileFacts, data: bytes) -> None:
    assert facts.digests.md5 == hashlib.md5(data).hexdigest()
    assert facts.digests.sha1 == hashlib.sha1(data).hexdigest()
    assert facts.digests.sha256 == hashlib.sha256(data).hexdigest()
    assert facts.digests.size == len(data)


@pytest.mark.parametrize("as_", ["path", "str", "bytes", "stream"])
def test_sources_agree(tmp_path: Path, as_: str) -> None:
    path = tmp_path / "x.bin"
    path.write_bytes(JPEG)
    source = {
        "path": path,
        "str": str(path),
        "bytes": JPEG,
        "stream": io.BytesIO(JPEG),
    }[as_]
    facts = analyse_file(source)  # type: ignore[arg-type]
    _check_digests(facts, JPEG)
    assert (facts.kind, facts.mime, facts.format) == (MediaKind.IMAGE, "image/jpeg", "JPEG")
    assert facts.image is not None and facts.error is None and facts.video is None
    assert facts == analyse_file(JPEG)
    assert pickle.loads(pickle.dumps(facts)) == facts


@pytest.mark.parametrize("data", [PNG, b"plain text\n" * 50_000, bytes(range(256)) * 9000])
def test_stream_is_read_once_without_seeking(data: bytes) -> None:
    stream = CountingStream(data)
    facts = analyse_file(io.BufferedReader(stream, buffer_size=8192), chunk=65536)
    _check_digests(facts, data)
    assert stream.bytes_read == len(data)
    assert (facts.image is not None) == (data is PNG)


class CountingFile:
    """Wraps the real read-only file: counts bytes read and refuses to seek."""

    def __init__(self, f: io.BufferedReader) -> None:
        self.f = f
        self.bytes_read = 0

    def read(self, n: int = -1) -> bytes:
        data = self.f.read(n)
        self.bytes_read += len(data)
        return data

    def fileno(self) -> int:
        return self.f.fileno()

    def seek(self, *args: object) -> int:
        raise AssertionError("analyse_file seeks in the file")

    def __enter__(self) -> CountingFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.f.close()


@pytest.mark.parametrize("data", [PNG, b"text\n" * 300_000])
def test_path_is_read_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    path = tmp_path / "p"
    path.write_bytes(data)
    opened: list[CountingFile] = []
    real_open = analyse_module._open_readonly

    def counting_open(p: Path) -> CountingFile:
        opened.append(CountingFile(real_open(p)))  # type: ignore[arg-type]
        return opened[-1]

    monkeypatch.setattr(analyse_module, "_open_readonly", counting_open)
    facts = analyse_file(path)
    _check_digests(facts, data)
    assert [f.bytes_read for f in opened] == [len(data)]
    assert opened[0].f.closed
    assert (facts.image is not None) == (data is PNG)


def test_open_readonly_does_not_write(tmp_path: Path) -> None:
    path = tmp_path / "evidence.bin"
    path.write_bytes(b"x")
    with analyse_module._open_readonly(path) as f:
        assert f.read() == b"x"
        with pytest.raises(io.UnsupportedOperation):
            f.write(b"y")  # type: ignore[attr-defined]


def test_non_image_is_not_decoded(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("analyse_image called for a non-image")

    monkeypatch.setattr(analyse_module, "analyse_image", boom)
    for data in (b"%PDF-1.4\n" + b"x" * 3_000_000, b"\x1a\x45\xdf\xa3" + b"\0" * 100):
        facts = analyse_file(io.BytesIO(data), chunk=1 << 16)
        _check_digests(facts, data)
        assert facts.image is None
        # The Matroska header is sniffed as video: a corrupt one is a video error, not an image.
        assert facts.error is None or facts.error.startswith("cannot decode video")


def test_image_over_the_memory_limit_is_digested_but_not_decoded(tmp_path: Path) -> None:
    path = tmp_path / "big.png"
    path.write_bytes(PNG)
    for source in (path, io.BytesIO(PNG)):  # size known up front, and found out while reading
        facts = analyse_file(source, max_image_bytes=len(PNG) - 1, chunk=1024)
        _check_digests(facts, PNG)
        assert facts.kind is MediaKind.IMAGE and facts.image is None
        assert facts.error is not None and "limit" in facts.error


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (huge_png(), "100000x100000"),
        (jpeg_declaring(65000, 65000), "65000x65000"),
        (JPEG[: len(JPEG) // 2], "truncated"),
        (PNG[: len(PNG) - 30], "truncated"),
        (b"\xff\xd8\xff" + bytes(range(256)) * 4, "JPEG"),
    ],
)
def test_bad_images_are_recorded_not_raised(data: bytes, message: str) -> None:
    facts = analyse_file(data)
    _check_digests(facts, data)
    assert facts.kind is MediaKind.IMAGE and facts.image is None
    assert facts.error is not None and message in facts.error


def test_unreadable_path_raises_oserror(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        analyse_file(tmp_path / "missing.jpg")
    with pytest.raises(OSError):
        analyse_file(tmp_path)  # a directory


def test_unexpected_decoder_failure_is_recorded(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("decoder bug")

    monkeypatch.setattr(analyse_module, "analyse_image", broken)
    facts = analyse_file(PNG)
    assert facts.error is not None and "decoder bug" in facts.error
    _check_digests(facts, PNG)


_MAGICS = [
    b"\xff\xd8\xff",
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
    b"\x89PNG\r\n\x1a\n",
    b"GIF89a",
    b"RIFF\x00\x00\x00\x00WEBPVP8 ",
    b"II*\x00",
    b"MM\x00*",
    b"BM\x00\x00\x00\x00\x00\x00\x00\x00\x36\x00\x00\x00\x28\x00\x00\x00",
    b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic",
    b"\x00\x00\x00\x0cjP  \x0d\x0a\x87\x0a",
    b"\x00\x00\x00\x18ftypisom",
    b"",
]


def _mutations(data: bytes) -> st.SearchStrategy[bytes]:
    """A valid image, cut short or with a few bytes overwritten."""
    cut = st.integers(0, len(data)).map(lambda n: data[:n])
    flips = st.lists(st.tuples(st.integers(0, len(data) - 1), st.integers(0, 255)), max_size=8)

    def flip(changes: list[tuple[int, int]]) -> bytes:
        out = bytearray(data)
        for pos, value in changes:
            out[pos] = value
        return bytes(out)

    return cut | flips.map(flip)


_SMALL = textured(48, 32)
_ARBITRARY = (
    st.binary(max_size=2048)
    | st.tuples(st.sampled_from(_MAGICS), st.binary(max_size=2048)).map(lambda t: t[0] + t[1])
    | _mutations(encode(_SMALL, "JPEG"))
    | _mutations(encode(_SMALL, "PNG"))
    | _mutations(encode(_SMALL, "GIF"))
    | _mutations(encode(_SMALL, "WEBP"))
    | _mutations(encode(_SMALL, "TIFF"))
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=_ARBITRARY)
def test_arbitrary_bytes_never_raise_and_digests_match(data: bytes) -> None:
    facts = analyse_file(data)
    _check_digests(facts, data)
    assert facts.image is None or facts.error is None
    if facts.kind is not MediaKind.IMAGE:
        assert facts.image is None
    if facts.kind is MediaKind.OTHER:
        assert facts.video is None and facts.error is None
    if facts.kind is MediaKind.VIDEO:
        assert facts.video is not None or facts.error is not None
    assert pickle.loads(pickle.dumps(facts)) == facts

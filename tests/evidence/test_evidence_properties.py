"""Whatever an archive calls its members, no item escapes it and the walk never raises."""

from __future__ import annotations

import io
import tarfile
import tempfile
import warnings
import zipfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safeguard.evidence import EvidenceError, EvidenceItem, iter_evidence

_NAMES = st.lists(
    st.one_of(
        st.text(min_size=0, max_size=30),
        st.text(alphabet="./\\:!C ", max_size=12),
        st.sampled_from(["..", "../x", "/x", "a/../../b", "C:\\x", "\\\\h\\s", "a!/../b", "./."]),
    ),
    min_size=1,
    max_size=6,
)


def _zip(names: list[str]) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buffer, "w") as archive:
        warnings.simplefilter("ignore")  # duplicate names
        for index, name in enumerate(names):
            archive.writestr(zipfile.ZipInfo(name), f"member {index}".encode())
    return buffer.getvalue()


def _tar(names: list[str]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for index, name in enumerate(names):
            data = f"member {index}".encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _check(data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / "exhibit"
        root.mkdir()
        (root / f"x.{suffix}").write_bytes(data)
        for found in iter_evidence(root):
            assert isinstance(found, EvidenceItem | EvidenceError)
            if isinstance(found, EvidenceItem):
                inner = found.logical_path.rsplit("!/", 1)[-1]
                assert not inner.startswith("/")
                assert ".." not in inner.split("/")
                assert ".." not in inner.replace("\\", "/").split("/")
                found.discard()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_NAMES)
def test_zip_member_names_never_escape(names: list[str]) -> None:
    _check(_zip(names), "zip")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_NAMES.map(lambda names: [n.replace("\x00", "") for n in names]))
def test_tar_member_names_never_escape(names: list[str]) -> None:
    _check(_tar(names), "tar")


@settings(max_examples=100, deadline=None)
@given(st.binary(min_size=0, max_size=2048), st.sampled_from(["zip", "tar", "tgz"]))
def test_damaged_archives_never_raise(noise: bytes, kind: str) -> None:
    """Real archive headers followed by arbitrary bytes: errors, never an exception."""
    base = {"zip": _zip(["a.txt", "b/c.txt"]), "tar": _tar(["a.txt", "b/c.txt"])}
    if kind == "tgz":
        import gzip

        data = gzip.compress(base["tar"])
    else:
        data = base[kind]
    cut = len(noise) % max(len(data), 1)
    _check(data[:cut] + noise, kind)

"""Where referral documents and their uploaded files come from: one file, a folder, or a zip.

Documents are the ``.xml``, ``.json`` and ``.csv`` files (sorted, recursively); everything else
is a candidate uploaded file. An uploaded file named ``fileName`` in a report is looked for
beside the document as ``<reportId>/<fileName>`` and then ``<fileName>``; only the base name of
``fileName`` is used, so a hostile name cannot reach outside the bundle. Zip members are read
with size limits (no member over ``max_member`` bytes uncompressed, no more than
``max_members``), never extracted by their own names.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

DOC_EXTENSIONS = (".xml", ".json", ".csv")


@dataclass(frozen=True)
class BundleLimits:
    max_member: int = 256 * 1024 * 1024
    max_members: int = 200_000


class BundleError(Exception):
    pass


@dataclass
class Document:
    name: str
    open: object  # () -> binary stream

    def stream(self) -> io.BufferedIOBase:
        return self.open()  # type: ignore[operator]


def safe_base(name: str | None) -> str | None:
    if not name:
        return None
    base = PurePosixPath(name.replace("\\", "/")).name
    if base in ("", ".", "..") or "\x00" in base:
        return None
    return base


class Bundle:
    """Documents of a path, and uploaded files beside them."""

    def __init__(self, path: Path, limits: BundleLimits | None = None) -> None:
        self.path = Path(path)
        self.limits = limits or BundleLimits()
        self.zip: zipfile.ZipFile | None = None
        if self.path.is_file() and zipfile.is_zipfile(self.path):
            self.zip = zipfile.ZipFile(self.path)
            infos = self.zip.infolist()
            if len(infos) > self.limits.max_members:
                raise BundleError(f"{self.path}: more than {self.limits.max_members} members")
            self.members = {i.filename: i for i in infos if not i.is_dir()}

    def close(self) -> None:
        if self.zip is not None:
            self.zip.close()

    def documents(self) -> Iterator[Document]:
        if self.zip is not None:
            for name in sorted(self.members):
                if name.lower().endswith(DOC_EXTENSIONS):
                    yield Document(f"{self.path.name}!/{name}", lambda n=name: self._member(n))
            return
        if self.path.is_file():
            yield Document(str(self.path), lambda: self.path.open("rb"))
            return
        for found in sorted(self.path.rglob("*")):
            if found.is_file() and found.suffix.lower() in DOC_EXTENSIONS:
                yield Document(str(found), lambda f=found: f.open("rb"))

    def _member(self, name: str) -> io.BufferedIOBase:
        info = self.members[name]
        if info.file_size > self.limits.max_member:
            raise BundleError(f"{name}: larger than {self.limits.max_member} bytes")
        assert self.zip is not None
        return _Capped(self.zip.open(info), self.limits.max_member)  # type: ignore[return-value]

    def upload(self, document: str, report_id: str, file_name: str | None) -> bytes | None:
        """The bytes of an uploaded file named in a report, or None when the bundle lacks it."""
        base = safe_base(file_name)
        folder = safe_base(report_id)
        if base is None:
            return None
        if self.zip is not None:
            doc = document.split("!/", 1)[-1]
            parent = PurePosixPath(doc).parent
            for candidate in ([parent / folder / base] if folder else []) + [parent / base]:
                key = str(candidate).removeprefix("./")
                if key in self.members and not key.lower().endswith(DOC_EXTENSIONS):
                    with self._member(key) as stream:
                        return stream.read(self.limits.max_member + 1)[: self.limits.max_member]
            return None
        parent = Path(document).parent
        for candidate in ([parent / folder / base] if folder else []) + [parent / base]:
            if candidate.is_file() and not candidate.is_symlink():
                if candidate.stat().st_size > self.limits.max_member:
                    return None
                return candidate.read_bytes()
        return None


class _Capped(io.RawIOBase):
    """A stream that refuses to give more than ``cap`` bytes (a zip member that lies about
    its size)."""

    def __init__(self, inner: io.BufferedIOBase, cap: int) -> None:
        self.inner, self.cap, self.given = inner, cap, 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = self.cap + 1 - self.given
        data = self.inner.read(min(size, self.cap + 1 - self.given))
        self.given += len(data)
        if self.given > self.cap:
            raise BundleError(f"zip member larger than {self.cap} bytes")
        return data

    def close(self) -> None:
        self.inner.close()
        super().close()

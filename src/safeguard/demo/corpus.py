"""A reproducible, benign demo exhibit with a known ground truth, and the demo bank that grades it.

``generate_demo`` writes an exhibit folder of synthetic pictures (abstract shapes, see
:mod:`safeguard.demo.pictures`) in several formats, with exact and transformed copies of
pictures the demo bank "knows", never-seen pictures and their near-duplicates, byte copies,
corrupt and truncated files, non-images and a nested zip. Category labels on these pictures are
only labels: nothing here depicts anything.

Every choice comes from one seeded generator and every encoder runs with fixed settings, so the
same seed always writes a byte-identical tree.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import random
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from PIL import Image

from safeguard.domain.kinds import HashKind
from safeguard.interchange.csvbank import LONG_COLUMNS

from .imaging import (
    FORMATS,
    NEAR_DUP_TRANSFORMS,
    TRANSFORMS,
    Camera,
    apply_transform,
    decode,
    decodes,
    encode,
    pdq_dihedral_distance,
    pdq_hex,
)
from .pictures import render_picture

__all__ = [
    "BANK_HEADER",
    "CATEGORIES",
    "ROLES",
    "DemoCorpus",
    "PlannedFile",
    "generate_demo",
    "render_picture",
    "write_demo_manifest",
]

ROLES: tuple[str, ...] = (
    "known_exact",
    "known_transformed",
    "copy",
    "unseen",
    "unseen_near_dup",
    "corrupt",
    "truncated",
    "non_image",
    "archive",
)
#: UK scheme codes the demo bank grades with.
CATEGORIES: tuple[str, ...] = ("A", "B", "C", "N")
BANK_HEADER: tuple[str, ...] = LONG_COLUMNS
BANK_SOURCE = "demo bank"
ARCHIVE = "archives/bundle.zip"
NESTED = f"{ARCHIVE}!/nested.zip"

#: A derived picture (transform or near-duplicate) stays this close to its source's PDQ under
#: the dihedral check (full decode): well inside the usual radius of 31, leaving room for
#: decoders that differ a little (e.g. a JPEG draft decode at half scale).
MAX_VARIANT_DISTANCE = 20
#: Crop borders tried, largest first. PDQ is sensitive to crops (a 5% border moves a photo by
#: ~90 bits), so each crop takes the largest border that stays within MAX_VARIANT_DISTANCE.
CROP_BORDERS: tuple[float, ...] = (0.02, 0.015, 0.01, 0.0075, 0.005, 0.0025)

# Sizes whose PDQ box-filter windows (ceil(side / 128)) are odd: flips and rotations then hash
# almost exactly to the dihedral variants of the original.
_SIZES: tuple[tuple[int, int], ...] = ((800, 600), (600, 800), (640, 640), (1120, 630), (840, 630))
_SIZE_WEIGHTS: tuple[int, ...] = (6, 3, 1, 1, 1)
_FORMAT_WEIGHTS: dict[str, int] = {"jpeg": 60, "png": 12, "webp": 8, "tiff": 7, "gif": 6, "bmp": 5}
_VARIANT_FORMAT_WEIGHTS: dict[str, int] = {"jpeg": 8, "png": 1, "webp": 1, "tiff": 1}
_FOLDERS: tuple[tuple[str, str], ...] = (
    ("Users/sam/Pictures", "img_"),
    ("Users/sam/Pictures/2022/holiday", "DSC_"),
    ("Users/sam/Downloads", "download_"),
    ("Users/sam/Desktop/new folder", "image "),
    ("WhatsApp/Media/WhatsApp Images", "IMG-20230514-WA"),
    ("WhatsApp/Media/WhatsApp Images/Sent", "IMG-20230611-WA"),
    ("Telegram/Telegram Images", "photo_"),
    ("Documents/scans", "scan_"),
    ("cache/thumbnails", ""),
)
_CAMERAS: tuple[Camera, ...] = (
    Camera("Canon", "Canon EOS 250D", "023021004817"),
    Camera("Google", "Pixel 6a", "26311JEGR08841"),
)
_OTHER_CAMERAS: tuple[Camera, ...] = (
    Camera("Apple", "iPhone 12", "F17DQ2XJ0D81"),
    Camera("samsung", "SM-G991B", "R58R40ABCDE"),
    Camera("NIKON CORPORATION", "NIKON D3500", "6093317"),
)
_EPOCH = datetime(2023, 1, 1, 9, 0, 0, tzinfo=UTC)
_ZIP_TIME = (2023, 6, 12, 21, 4, 10)
_NOTES = (
    "shopping: milk, bread, batteries\n"
    "call the garage about the MOT on thursday\n"
    "wifi password is on the router\n"
)
_PDF = (
    b"%PDF-1.4\n"
    b"1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
    b"2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n"
    b"3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >> endobj\n"
    b"trailer << /Root 1 0 R >>\n%%EOF\n"
)
_MAGICS: tuple[tuple[str, bytes, str], ...] = (
    ("jpeg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", ".jpg"),
    ("png", b"\x89PNG\r\n\x1a\n", ".png"),
    ("gif", b"GIF89a", ".gif"),
    ("tiff", b"II*\x00", ".tif"),
    ("webp", b"RIFF\x00\x10\x00\x00WEBPVP8 ", ".webp"),
)


@dataclass(frozen=True)
class PlannedFile:
    """One file of the demo exhibit and what it is (the ground truth)."""

    #: Posix path relative to the exhibit root; "outer.zip!/inner" inside archives.
    logical_path: str
    role: str
    #: Id of the generated base picture it derives from ("pic-007"), if any.
    source_id: str | None
    transform: str | None
    #: Demo bank category (UK code) for items derived from known pictures.
    category: str | None
    #: The real format of the bytes ("jpeg", "png", ...), whatever the file's extension says.
    image_format: str | None = None
    #: The EXIF camera identity written into the file, as "Make Model #serial".
    camera: str | None = None
    #: Free-text detail: transform parameters, PDQ distance, what a copy copies, ...
    detail: str | None = None
    sha256: str | None = None
    size: int | None = None


@dataclass(frozen=True)
class DemoCorpus:
    """The generated exhibit, its demo bank and the ground truth for every file."""

    exhibit_dir: Path
    bank_csv: Path
    files: tuple[PlannedFile, ...]
    #: source_id -> category for the base pictures the demo bank knows.
    known: dict[str, str]
    seed: int = 1
    #: source_id -> PDQ hex the bank holds for it (of the bytes the bank hashed).
    bank_pdq: dict[str, str] = field(default_factory=dict)

    def by_role(self, role: str) -> list[PlannedFile]:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        return [f for f in self.files if f.role == role]

    def path_of(self, planned: PlannedFile) -> Path | None:
        """The file on disk, or None for a file inside an archive."""
        if "!/" in planned.logical_path:
            return None
        return self.exhibit_dir / planned.logical_path

    def read_bytes(self, planned: PlannedFile | str) -> bytes:
        """The content of a planned file, opening (nested) archives for "outer.zip!/inner"."""
        logical = planned if isinstance(planned, str) else planned.logical_path
        outer, *inner = logical.split("!/")
        data = (self.exhibit_dir / outer).read_bytes()
        for name in inner:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                data = zf.read(name)
        return data


@dataclass
class _Entry:
    planned: PlannedFile
    data: bytes
    mtime: datetime


@dataclass
class _Bank:
    source_id: str
    category: str
    data: bytes
    pdq: str


class _Builder:
    """Plans and encodes every file in memory; ``write`` puts them on disk."""

    def __init__(self, seed: int, n_base: int, formats: Sequence[str]) -> None:
        unknown = sorted(set(formats) - set(FORMATS))
        if unknown or not formats:
            raise ValueError(f"formats must be a non-empty subset of {sorted(FORMATS)}")
        if n_base < 10:
            raise ValueError("n_base must be at least 10")
        self.seed = seed
        self.n_base = n_base
        self.formats = tuple(f for f in FORMATS if f in formats)
        self.rng = random.Random(f"safeguard-demo:{seed}")
        self.entries: dict[str, dict[str, _Entry]] = {"": {}, ARCHIVE: {}, NESTED: {}}
        self.bank: list[_Bank] = []
        self.counter = 0
        self.contents: dict[str, str] = {}  # sha256 -> first logical path with those bytes
        self.lossy = next((f for f in ("jpeg", "webp") if f in self.formats), None)
        transforms = [t for t in TRANSFORMS if t != "recompress" or self.lossy]
        self.transforms = _Cycle(self.rng, transforms)
        self.near_dup_transforms = _Cycle(
            self.rng, [t for t in NEAR_DUP_TRANSFORMS if t != "recompress" or self.lossy]
        )

    # -- small helpers --------------------------------------------------------------------

    def when(self, days: float = 540.0) -> datetime:
        return _EPOCH + timedelta(seconds=self.rng.randrange(int(days * 86400)))

    def pick_format(self, weights: dict[str, int] = _FORMAT_WEIGHTS) -> str:
        allowed = [f for f in weights if f in self.formats]
        if not allowed:
            return "png"  # derived pictures when only gif/bmp are allowed
        return self.rng.choices(allowed, weights=[weights[f] for f in allowed])[0]

    def picture(self, index: int) -> Image.Image:
        size = self.rng.choices(_SIZES, weights=_SIZE_WEIGHTS)[0]
        return render_picture(self.seed * 1_000_003 + index, size)

    def name(self, fmt: str | None, *, plain_ext: bool = False) -> str:
        """A fresh, unique path in one of the usual folders; sometimes a wrong or no extension."""
        folder_path, prefix = _FOLDERS[self.rng.randrange(len(_FOLDERS))]
        self.counter += 1
        stem = prefix + (f"{self.counter:04d}" if prefix else f"{self.rng.getrandbits(48):012x}")
        roll = self.rng.random()
        if not prefix or fmt is None:
            ext = ""
        elif plain_ext or roll >= 0.12:
            ext = self.rng.choice(FORMATS[fmt][1])
        elif roll < 0.08:
            wrong = [f for f in FORMATS if f != fmt]
            ext = FORMATS[self.rng.choice(wrong)][1][0]
        else:
            ext = ""
        return f"{folder_path}/{stem}{ext}"

    def add(
        self,
        container: str,
        name: str,
        planned: PlannedFile,
        data: bytes,
        mtime: datetime | None = None,
    ) -> PlannedFile:
        logical = f"{container}!/{name}" if container else name
        if name in self.entries[container]:
            raise RuntimeError(f"duplicate demo path {logical}")
        sha256 = hashlib.sha256(data).hexdigest()
        if planned.role != "copy" and sha256 in self.contents:
            raise RuntimeError(f"{logical} repeats the bytes of {self.contents[sha256]}")
        self.contents.setdefault(sha256, logical)
        planned = replace(
            planned,
            logical_path=logical,
            sha256=sha256,
            size=len(data),
        )
        self.entries[container][name] = _Entry(planned, data, mtime or self.when())
        return planned

    def variant(self, source: Image.Image, ref_pdq: str, transform: str) -> tuple[bytes, str, str]:
        """Encode a transformed variant; returns (bytes, format, detail). Checks its PDQ."""
        if transform == "recompress":
            assert self.lossy is not None
            fmt, quality = self.lossy, 60
            candidates = [(None, source)]
        else:
            fmt, quality = self.pick_format(_VARIANT_FORMAT_WEIGHTS), 90
            if transform == "crop":
                candidates = [(b, apply_transform(source, "crop", b)) for b in CROP_BORDERS]
            elif transform == "resize":
                scale = self.rng.choice((0.5, 0.5, 0.5, 0.75, 0.4))
                scales = (scale, 0.75) if scale != 0.75 else (scale,)
                candidates = [(x, apply_transform(source, "resize", x)) for x in scales]
            else:
                candidates = [(None, apply_transform(source, transform))]
        for amount, image in candidates:
            data = encode(image, fmt, quality=quality)
            distance = pdq_dihedral_distance(decode(data), ref_pdq)
            if distance <= MAX_VARIANT_DISTANCE:
                detail = {
                    "resize": f"scale {amount}",
                    "crop": f"border {amount:.2%} per side" if amount else "",
                    "recompress": f"{fmt} quality {quality}",
                }.get(transform, "")
                return data, fmt, f"{detail}; pdq distance {distance}".lstrip("; ")
        raise RuntimeError(f"{transform} moved a demo picture {distance} bits from its source")

    # -- the plan ---------------------------------------------------------------------------

    def build(self) -> None:
        rng = self.rng
        ids = [f"pic-{i:03d}" for i in range(self.n_base)]
        order = ids[:]
        rng.shuffle(order)
        n_known = round(self.n_base * 0.4)
        known_ids = sorted(order[:n_known])
        unseen_ids = sorted(order[n_known:])
        categories = [CATEGORIES[i % len(CATEGORIES)] for i in range(n_known)]
        rng.shuffle(categories)
        category_of = dict(zip(known_ids, categories, strict=True))

        outer_exact: list[PlannedFile] = []
        zip_known = known_ids[0]
        zip_transformed_done = False
        for pid in known_ids:
            index = ids.index(pid)
            category = category_of[pid]
            fmt = self.pick_format()
            data = encode(self.picture(index), fmt, quality=rng.choice((85, 90, 92, 95)))
            shown = decode(data)
            pdq, _quality = pdq_hex(shown)
            self.bank.append(_Bank(pid, category, data, pdq))
            exact = pid == zip_known or rng.random() < 0.8
            n_variants = rng.choice((1, 2, 2, 3)) if not exact or rng.random() < 0.7 else 0
            base = PlannedFile("", "known_exact", pid, None, category, image_format=fmt)
            if pid == zip_known:
                self.add(
                    ARCHIVE,
                    f"photos/{self.name(fmt, plain_ext=True).rsplit('/', 1)[1]}",
                    base,
                    data,
                )
            elif exact:
                outer_exact.append(self.add("", self.name(fmt), base, data))
            used: set[str] = set()
            for _ in range(n_variants):
                transform = self.transforms.next(used)
                used.add(transform)
                vdata, vfmt, detail = self.variant(shown, pdq, transform)
                planned = PlannedFile(
                    "",
                    "known_transformed",
                    pid,
                    transform,
                    category,
                    image_format=vfmt,
                    detail=detail,
                )
                if not zip_transformed_done and pid != zip_known:
                    zip_transformed_done = True
                    leaf = self.name(vfmt, plain_ext=True).rsplit("/", 1)[1]
                    self.add(ARCHIVE, f"edited/{leaf}", planned, vdata)
                else:
                    self.add("", self.name(vfmt), planned, vdata)

        # Unseen pictures: two shared cameras, a few one-off cameras, one only inside the zip.
        jpeg = "jpeg" in self.formats
        cameras: dict[str, Camera] = {}
        if jpeg:
            pool = unseen_ids[1:]
            rng.shuffle(pool)
            for i, pid in enumerate(pool[:15]):
                cameras[pid] = (
                    _CAMERAS[0] if i < 6 else _CAMERAS[1] if i < 12 else _OTHER_CAMERAS[i - 12]
                )
        zip_unseen = unseen_ids[0]
        outer_unseen: list[PlannedFile] = []
        shots = {c.serial: self.when(400) for c in _CAMERAS}
        for pid in unseen_ids:
            index = ids.index(pid)
            camera = cameras.get(pid)
            taken: datetime | None = None
            if camera is not None:
                fmt = "jpeg"
                if camera.serial in shots:
                    shots[camera.serial] += timedelta(minutes=rng.randrange(3, 240))
                    taken = shots[camera.serial]
                else:
                    taken = self.when(400)
                stamp = taken.strftime("%Y:%m:%d %H:%M:%S")
                data = encode(
                    self.picture(index),
                    fmt,
                    quality=rng.choice((88, 92, 95)),
                    exif=camera.exif(stamp),
                )
            else:
                fmt = self.pick_format()
                data = encode(self.picture(index), fmt, quality=rng.choice((80, 85, 90, 95)))
            planned = PlannedFile(
                "",
                "unseen",
                pid,
                None,
                None,
                image_format=fmt,
                camera=camera.label if camera else None,
            )
            if pid == zip_unseen:
                self.add(
                    ARCHIVE,
                    f"photos/{self.name(fmt, plain_ext=True).rsplit('/', 1)[1]}",
                    planned,
                    data,
                )
            else:
                outer_unseen.append(
                    self.add("", self._camera_path(camera, taken, fmt), planned, data, mtime=taken)
                )
            n_dups = rng.choice((1, 1, 2, 3)) if pid == zip_unseen or rng.random() < 0.6 else 0
            if n_dups:
                shown = decode(data)
                pdq, _quality = pdq_hex(shown)
            used = set()
            for k in range(min(n_dups, len(self.near_dup_transforms.names))):
                transform = self.near_dup_transforms.next(used)
                used.add(transform)
                vdata, vfmt, detail = self.variant(shown, pdq, transform)
                dup = PlannedFile(
                    "", "unseen_near_dup", pid, transform, None, image_format=vfmt, detail=detail
                )
                if pid == zip_unseen and k == 0:
                    leaf = self.name(vfmt, plain_ext=True).rsplit("/", 1)[1]
                    self.add(NESTED, f"y/{leaf}", dup, vdata)
                else:
                    self.add("", self.name(vfmt), dup, vdata)

        self._copies(outer_exact, outer_unseen)
        self._broken()
        self._non_images()

    def _camera_path(self, camera: Camera | None, taken: datetime | None, fmt: str) -> str:
        if camera is None or taken is None:
            return self.name(fmt)
        self.counter += 1
        if camera is _CAMERAS[0]:
            return f"DCIM/100CANON/IMG_{self.counter:04d}.JPG"
        if camera is _CAMERAS[1]:
            return f"DCIM/Camera/PXL_{taken:%Y%m%d_%H%M%S}{self.counter % 1000:03d}.jpg"
        return f"Users/sam/Pictures/phone/IMG_{taken:%Y%m%d_%H%M%S}.jpg"

    def _copies(self, outer_exact: list[PlannedFile], outer_unseen: list[PlannedFile]) -> None:
        """Byte copies: several contents, some many times over, one inside the nested zip."""
        rng, root = self.rng, self.entries[""]
        derived = sorted(
            (
                e.planned
                for e in root.values()
                if e.planned.role in ("known_transformed", "unseen_near_dup")
            ),
            key=lambda p: p.logical_path,
        )
        n = self.n_base
        originals = (
            rng.sample(outer_exact, min(5, max(1, n // 24), len(outer_exact)))
            + rng.sample(outer_unseen, min(7, max(1, n // 17), len(outer_unseen)))
            + rng.sample(derived, min(3, max(1, n // 40), len(derived)))
        )
        for n, original in enumerate(originals):
            leaf = original.logical_path.rsplit("/", 1)[-1]
            for _ in range(4 if n in (0, 5) else rng.choice((1, 2, 2, 3))):
                name = self.name(original.image_format)
                candidate = f"{name.rsplit('/', 1)[0]}/{leaf}"
                if candidate not in root and not candidate.startswith("cache/"):
                    name = candidate
                copy = replace(original, role="copy", detail=f"copy of {original.logical_path}")
                self.add("", name, copy, root[original.logical_path].data)
        if outer_exact:
            original = outer_exact[-1]
            copy = replace(original, role="copy", detail=f"copy of {original.logical_path}")
            self.add(
                NESTED,
                original.logical_path.rsplit("/", 1)[-1],
                copy,
                root[original.logical_path].data,
            )

    def _broken(self) -> None:
        """Corrupt files (a magic number, then garbage) and truncated JPEGs/PNGs."""
        magics = [m for m in _MAGICS if m[0] in self.formats] or list(_MAGICS[:2])
        for k in range(4):
            fmt, magic, ext = magics[k % len(magics)]
            for attempt in range(100):
                junk = random.Random(f"corrupt:{self.seed}:{k}:{attempt}").randbytes(3000)
                data = magic + junk
                if not decodes(data):
                    break
            else:  # pragma: no cover - Pillow never decodes this much garbage
                raise RuntimeError("could not make a corrupt file")
            folder = self.name(None).rsplit("/", 1)[0]
            self.add(
                "",
                f"{folder}/broken_{k}{ext}",
                PlannedFile(
                    "",
                    "corrupt",
                    None,
                    None,
                    None,
                    image_format=fmt,
                    detail="image magic number followed by garbage",
                ),
                data,
            )
        for k in range(4):
            fmt = ("jpeg", "png")[k % 2]
            if fmt not in self.formats:
                fmt = "jpeg" if "jpeg" in self.formats else "png"
            full = encode(render_picture(-(self.seed * 1_000_003 + k + 1)), fmt, quality=90)
            data = full[: len(full) // 2]
            if decodes(data):  # pragma: no cover - Pillow refuses truncated files by default
                raise RuntimeError("a truncated demo file still decodes")
            self.add(
                "",
                self.name(fmt, plain_ext=True),
                PlannedFile(
                    "",
                    "truncated",
                    None,
                    None,
                    None,
                    image_format=fmt,
                    detail=f"first {len(data)} of {len(full)} bytes",
                ),
                data,
            )

    def _non_images(self) -> None:
        rng = self.rng

        def other(detail: str) -> PlannedFile:
            return PlannedFile("", "non_image", None, None, None, detail=detail)

        self.add("", "Documents/notes.txt", other("text"), _NOTES.encode())
        self.add("", "Documents/letter.pdf", other("pdf-like"), _PDF)
        self.add("", "Documents/backup.bin", other("random bytes"), rng.randbytes(4096))
        self.add(
            "",
            f"cache/{rng.getrandbits(48):012x}",
            other("random bytes, no extension"),
            rng.randbytes(1500),
        )
        self.add(
            "",
            "Users/sam/Pictures/IMG_9999.jpg",
            other("text named .jpg"),
            b"this is not a picture\n" * 8,
        )
        self.add(ARCHIVE, "readme.txt", other("text"), b"holiday pictures, see photos/\n")

    # -- output ------------------------------------------------------------------------------

    def zip_bytes(self, container: str) -> bytes:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            for name in sorted(self.entries[container]):
                entry = self.entries[container][name]
                info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
                info.create_system = 3
                info.external_attr = 0o644 << 16
                text = entry.planned.role == "non_image" or name.endswith(".zip")
                info.compress_type = zipfile.ZIP_DEFLATED if text else zipfile.ZIP_STORED
                zf.writestr(info, entry.data)
        return buf.getvalue()

    def finish_archives(self) -> None:
        archive = PlannedFile("", "archive", None, None, None, image_format="zip")
        self.add(ARCHIVE, "nested.zip", archive, self.zip_bytes(NESTED))
        self.add("", ARCHIVE, archive, self.zip_bytes(ARCHIVE))

    def write(self, exhibit: Path) -> None:
        for name in sorted(self.entries[""]):
            entry = self.entries[""][name]
            path = exhibit / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(entry.data)
            stamp = entry.mtime.timestamp()
            os.utime(path, (stamp, stamp))

    def planned(self) -> tuple[PlannedFile, ...]:
        everything = [e.planned for entries in self.entries.values() for e in entries.values()]
        return tuple(sorted(everything, key=lambda p: p.logical_path))

    def write_bank(self, path: Path) -> None:
        rng = random.Random(f"safeguard-demo-bank:{self.seed}")
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(BANK_HEADER)
            for number, item in enumerate(sorted(self.bank, key=lambda b: b.source_id), 1):
                victim = rng.random() < 0.15
                series = (
                    rng.choice(("demo-series-1", "demo-series-2")) if rng.random() < 0.2 else ""
                )
                self_generated = rng.random() < 0.1
                digests = {
                    HashKind.MD5: hashlib.md5(item.data).hexdigest(),
                    HashKind.SHA1: hashlib.sha1(item.data).hexdigest(),
                    HashKind.SHA256: hashlib.sha256(item.data).hexdigest(),
                    HashKind.PDQ: item.pdq,
                }
                for kind, value in digests.items():
                    writer.writerow(
                        (
                            kind.value,
                            value,
                            item.category,
                            _flag(victim),
                            series,
                            _flag(self_generated),
                            BANK_SOURCE,
                            f"demo-{number:04d}",
                        )
                    )


class _Cycle:
    """Deals names from a list in shuffled rounds, so each appears about equally often."""

    def __init__(self, rng: random.Random, names: Iterable[str]) -> None:
        self.rng, self.names, self.queue = rng, list(names), []

    def next(self, exclude: set[str] | frozenset[str] = frozenset()) -> str:
        """The next name, skipping those in ``exclude`` (there must be one left)."""
        for _ in range(2):
            for i in range(len(self.queue) - 1, -1, -1):
                if self.queue[i] not in exclude:
                    return self.queue.pop(i)
            refill = self.names[:]
            self.rng.shuffle(refill)
            self.queue = refill + self.queue
        raise ValueError("every name is excluded")


def _flag(value: bool) -> str:
    return "true" if value else "false"


def generate_demo(
    out_dir: Path,
    *,
    seed: int = 1,
    n_base: int = 120,
    formats: Sequence[str] = tuple(FORMATS),
) -> DemoCorpus:
    """Write the demo exhibit to ``out_dir/exhibit/`` and its bank to ``out_dir/demo-bank.csv``.

    ``formats`` restricts the formats base pictures are stored in (of jpeg, png, gif, webp,
    bmp, tiff); derived pictures use jpeg/png/webp/tiff among those, else png, and truncated
    files are jpeg or png. Raises FileExistsError when ``out_dir/exhibit`` already holds files.
    """
    out_dir = Path(out_dir)
    exhibit = out_dir / "exhibit"
    if exhibit.exists() and any(exhibit.iterdir()):
        raise FileExistsError(f"{exhibit} is not empty")
    builder = _Builder(seed, n_base, formats)
    builder.build()
    builder.finish_archives()
    exhibit.mkdir(parents=True, exist_ok=True)
    builder.write(exhibit)
    bank_csv = out_dir / "demo-bank.csv"
    builder.write_bank(bank_csv)
    return DemoCorpus(
        exhibit_dir=exhibit,
        bank_csv=bank_csv,
        files=builder.planned(),
        known={b.source_id: b.category for b in sorted(builder.bank, key=lambda b: b.source_id)},
        seed=seed,
        bank_pdq={b.source_id: b.pdq for b in sorted(builder.bank, key=lambda b: b.source_id)},
    )


def write_demo_manifest(corpus: DemoCorpus, path: Path) -> None:
    """Write the ground truth of ``corpus`` as JSON."""
    roles = {role: len(corpus.by_role(role)) for role in ROLES}
    document = {
        "generator": "safeguard.demo",
        "seed": corpus.seed,
        "exhibit_dir": str(corpus.exhibit_dir),
        "bank_csv": str(corpus.bank_csv),
        "note": "benign synthetic pictures; category labels are only labels",
        "counts": roles,
        "known": corpus.known,
        "bank_pdq": corpus.bank_pdq,
        "files": [asdict(f) for f in corpus.files],
    }
    Path(path).write_text(json.dumps(document, indent=2, sort_keys=False) + "\n", encoding="utf-8")

"""Benign, reproducible benchmark data: camera-size pictures and a large generated exhibit.

Nothing here depicts anything. Every picture starts from :func:`safeguard.demo.render_picture`
(abstract shapes and gradients) and gets camera-like noise and texture so that JPEGs have the
entropy, and so the sizes and decode costs, of real photographs (a 12 MP JPEG at quality ~90 is
several MB). Every choice comes from the seed and every encoder runs with fixed settings, so a
seed always gives byte-identical files (with the same Pillow and libjpeg). Generated data is
cached under ``bench/data/`` (gitignored); a manifest written last marks a complete corpus.

* :func:`hashing_corpus`: 12 MP (4000x3000) and 2 MP (1600x1200) JPEGs with EXIF (make, model,
  serial, date, GPS), PNGs (RGB, RGBA, palette) and transformed JPEG variants (recompressed,
  resized, cropped, rotated, flipped) of the JPEGs.
* :func:`exhibit_corpus`: a seized-device-like folder tree of N files (mostly 640x480 JPEGs of
  50-100 KB; PNGs, a few 2 MP camera JPEGs, byte copies, near-duplicates, text and binary
  files) and a CSV bank that matches some of them exactly and some perceptually, padded with
  random hashes.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import random
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pdqhash
from PIL import Image, ImageChops

from safeguard.demo import render_picture
from safeguard.interchange.csvbank import LONG_COLUMNS

VERSION = 1
DATA = Path(__file__).resolve().parent / "data"

LARGE = (4000, 3000)  # 12 MP
MEDIUM = (1600, 1200)  # 2 MP
#: Screenshot and graphics sizes the PNGs cycle through (desktop, phone, laptop, old, web).
PNG_SIZES = ((1920, 1080), (1080, 2340), (1366, 768), (1024, 768), (800, 600))
SMALL = (640, 480)

#: Camera noise levels: (fine luma sigma, coarse luma sigma), like low, medium and high ISO.
NOISE_LEVELS: dict[str, tuple[float, float]] = {
    "low": (3.0, 4.0),
    "mid": (5.0, 6.0),
    "high": (7.0, 9.0),
}
_NOISE_WEIGHTS = {"low": 3, "mid": 5, "high": 2}
_MARGIN = 64

_CAMERAS: tuple[tuple[str, str], ...] = (
    ("Canon", "Canon EOS 250D"),
    ("Google", "Pixel 6a"),
    ("Apple", "iPhone 12"),
    ("samsung", "SM-G991B"),
    ("NIKON CORPORATION", "NIKON D3500"),
    ("SONY", "ILCE-6400"),
)
_EPOCH = datetime(2022, 1, 1, 8, 0, 0)

#: Transforms for variants: (name, JPEG quality). Cycled, so every corpus mixes them.
VARIANT_TRANSFORMS: tuple[tuple[str, int], ...] = (
    ("recompress", 80),
    ("resize50", 85),
    ("recompress", 70),
    ("crop2", 90),
    ("messaging1280", 80),
    ("recompress", 60),
    ("rotate90", 90),
    ("flip_h", 90),
    ("recompress", 50),
    ("recompress", 95),
)


# ---------------------------------------------------------------------------------------------
# Shared building blocks
# ---------------------------------------------------------------------------------------------


def _rng(*parts: object) -> random.Random:
    return random.Random("safeguard-bench:" + ":".join(str(p) for p in parts))


def _scaled(size: tuple[int, int], scale: int) -> tuple[int, int]:
    return max(16, size[0] // scale), max(16, size[1] // scale)


_FIELDS: dict[tuple[int, str, int, int], Image.Image] = {}


def noise_field(seed: int, level: str, width: int, height: int) -> Image.Image:
    """Camera-like noise centred on 128: fine and coarse luma grain plus weaker chroma grain.

    Built once per process and cached; pictures take windows of it at random offsets (JPEG codes
    8x8 blocks independently, so the repetition across files does not make them compress better).
    """
    key = (seed, level, width, height)
    cached = _FIELDS.get(key)
    if cached is not None:
        return cached
    fine_sigma, coarse_sigma = NOISE_LEVELS[level]
    nrng = np.random.default_rng(_rng(seed, "noise", level, width, height).getrandbits(64))
    fine = nrng.normal(0.0, fine_sigma, size=(height, width)).astype(np.float32)
    coarse_small = nrng.normal(0.0, coarse_sigma, size=(max(height // 3, 2), max(width // 3, 2)))
    coarse = Image.fromarray(coarse_small.astype(np.float32), "F").resize(
        (width, height), Image.Resampling.BICUBIC
    )
    luma = fine + np.asarray(coarse, dtype=np.float32)
    del fine, coarse
    out = np.empty((height, width, 3), dtype=np.uint8)
    for channel in range(3):
        chroma = nrng.normal(0.0, fine_sigma / 2, size=(height, width)).astype(np.float32)
        out[..., channel] = np.clip(128.0 + luma + chroma, 0, 255).astype(np.uint8)
    image = Image.fromarray(out, "RGB")
    _FIELDS[key] = image
    return image


def add_noise(image: Image.Image, noise: Image.Image, rng: random.Random) -> Image.Image:
    """``image`` plus a window of ``noise`` (centred on 128) at a random offset."""
    w, h = image.size
    ox, oy = rng.randrange(noise.width - w + 1), rng.randrange(noise.height - h + 1)
    return ImageChops.add(image, noise.crop((ox, oy, ox + w, oy + h)), 1.0, -128)


def camera_exif(rng: random.Random, with_gps: bool) -> Image.Exif:
    """EXIF as a camera writes it: make, model, body serial, date taken, optionally GPS."""
    make, model = rng.choice(_CAMERAS)
    taken = _EPOCH + timedelta(seconds=rng.randrange(3 * 365 * 86400))
    exif = Image.Exif()
    exif[0x010F] = make
    exif[0x0110] = model
    exif[0x0131] = "bench-firmware 1.0"  # Software
    exif[0x0132] = taken.strftime("%Y:%m:%d %H:%M:%S")  # DateTime
    sub = exif.get_ifd(0x8769)
    sub[0x9003] = taken.strftime("%Y:%m:%d %H:%M:%S")  # DateTimeOriginal
    sub[0x9004] = taken.strftime("%Y:%m:%d %H:%M:%S")  # DateTimeDigitized
    sub[0xA431] = f"{rng.randrange(10**11):011d}"  # BodySerialNumber
    if with_gps:
        gps = exif.get_ifd(0x8825)
        lat, lon = rng.uniform(49.9, 58.6), rng.uniform(-6.0, 1.7)
        gps[1] = "N"
        gps[2] = _dms(lat)
        gps[3] = "W" if lon < 0 else "E"
        gps[4] = _dms(abs(lon))
    return exif


def _dms(value: float) -> tuple[float, float, float]:
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = round(((value - degrees) * 60 - minutes) * 60, 2)
    return (float(degrees), float(minutes), seconds)


def encode_jpeg(image: Image.Image, quality: int, exif: Image.Exif | None = None) -> bytes:
    """Baseline JPEG, 4:2:0, fixed settings (what most cameras and phones write)."""
    buf = io.BytesIO()
    extra: dict[str, Any] = {"exif": exif} if exif is not None else {}
    image.save(buf, "JPEG", quality=quality, subsampling=2, optimize=False, **extra)
    return buf.getvalue()


def encode_png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "PNG", compress_level=6)
    return buf.getvalue()


def camera_picture(seed: int, key: str, size: tuple[int, int], level: str) -> Image.Image:
    """A camera-like picture: a rendered scene upscaled 4x (2x for small sizes) plus noise."""
    w, h = size
    factor = 4 if min(w, h) >= 1200 else 2
    base = render_picture(_rng(seed, "scene", key).randrange(2**31), (w // factor, h // factor))
    image = base.resize((w, h), Image.Resampling.BICUBIC)
    field_w = max(w, h) + _MARGIN
    noise = noise_field(seed, level, field_w, field_w)
    return add_noise(image, noise, _rng(seed, "grain", key))


def transform(image: Image.Image, name: str) -> Image.Image:
    """Apply one named variant transform."""
    if name == "recompress":
        return image
    if name == "resize50":
        return image.resize((image.width // 2, image.height // 2), Image.Resampling.LANCZOS)
    if name == "messaging1280":  # long side to 1280, as messaging apps do
        f = 1280 / max(image.size)
        if f >= 1:
            return image
        size = (round(image.width * f), round(image.height * f))
        return image.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    if name == "crop2":
        dx, dy = max(1, image.width // 50), max(1, image.height // 50)
        return image.crop((dx, dy, image.width - dx, image.height - dy))
    if name == "rotate90":
        return image.transpose(Image.Transpose.ROTATE_270)
    if name == "flip_h":
        return image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    raise ValueError(f"unknown transform {name!r}")


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".partial-{path.name}")
    tmp.write_bytes(data)
    tmp.replace(path)


def _run(fn: Callable[[Any], Any], tasks: Sequence[Any], workers: int) -> list[Any]:
    if workers <= 1 or len(tasks) <= 1:
        return [fn(t) for t in tasks]
    with ProcessPoolExecutor(workers) as pool:
        return list(pool.map(fn, tasks, chunksize=1))


def _default_workers() -> int:
    return os.cpu_count() or 1


def _sha256(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


# ---------------------------------------------------------------------------------------------
# Hashing corpus
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HashingSpec:
    """What :func:`hashing_corpus` generates. ``scale`` divides every side (tests use tiny
    corpora); files depend only on ``seed``, ``scale`` and their own index, so a bigger corpus
    reuses a smaller one's files."""

    seed: int = 1
    large: int = 200
    medium: int = 400
    png: int = 200
    variants: int = 200
    scale: int = 1


@dataclass(frozen=True)
class CorpusFile:
    """One file of a corpus, as the manifest records it."""

    name: str
    group: str  # jpeg-12mp | jpeg-2mp | png | variant
    format: str
    width: int
    height: int
    quality: int | None  # JPEG quality the file was written at
    source: str | None = None  # variants: the file they derive from
    transform: str | None = None
    size: int = 0
    sha256: str = ""


@dataclass(frozen=True)
class Corpus:
    root: Path
    spec: HashingSpec
    files: tuple[CorpusFile, ...]

    def paths(self, group: str | None = None) -> list[Path]:
        return [self.root / f.name for f in self.files if group is None or f.group == group]

    def by_group(self) -> dict[str, list[CorpusFile]]:
        groups: dict[str, list[CorpusFile]] = {}
        for f in self.files:
            groups.setdefault(f.group, []).append(f)
        return groups


@dataclass(frozen=True)
class _Original:
    group: str
    index: int
    name: str
    size: tuple[int, int]
    quality: int
    level: str
    gps: bool


def _originals(spec: HashingSpec, group: str) -> list[_Original]:
    count, size, prefix = {
        "jpeg-12mp": (spec.large, LARGE, "12mp/IMG_"),
        "jpeg-2mp": (spec.medium, MEDIUM, "2mp/PXL_"),
    }[group]
    out = []
    for i in range(count):
        rng = _rng(spec.seed, group, i)
        level = rng.choices(list(_NOISE_WEIGHTS), weights=list(_NOISE_WEIGHTS.values()))[0]
        out.append(
            _Original(
                group,
                i,
                f"{prefix}{i:05d}.jpg",
                _scaled(size, spec.scale),
                rng.choice((86, 88, 90, 90, 92, 94, 95)),
                level,
                rng.random() < 0.5,
            )
        )
    return out


def _plan(spec: HashingSpec) -> tuple[list[tuple[_Original, list[CorpusFile]]], list[CorpusFile]]:
    """The originals with their variants (one task each) and the PNG files."""
    large, medium = _originals(spec, "jpeg-12mp"), _originals(spec, "jpeg-2mp")
    variants: dict[str, list[CorpusFile]] = {}
    for j in range(spec.variants):
        pool = large if (j % 2 == 0 and large) or not medium else medium
        if not pool:
            break
        k, idx = divmod(j // 2, len(pool))
        source = pool[idx]
        name, quality = VARIANT_TRANSFORMS[(idx * 3 + k) % len(VARIANT_TRANSFORMS)]
        w, h = _variant_size(source.size, name)
        variants.setdefault(source.name, []).append(
            CorpusFile(
                name=f"variants/{Path(source.name).stem}_v{k}_{name}{quality}.jpg",
                group="variant",
                format="JPEG",
                width=w,
                height=h,
                quality=quality,
                source=source.name,
                transform=name,
            )
        )
    tasks = [(o, variants.get(o.name, [])) for o in large + medium]
    pngs = []
    for i in range(spec.png):
        w, h = _scaled(PNG_SIZES[i % len(PNG_SIZES)], spec.scale)
        pngs.append(CorpusFile(f"png/screen_{i:05d}.png", "png", "PNG", w, h, None))
    return tasks, pngs


def _variant_size(size: tuple[int, int], name: str) -> tuple[int, int]:
    w, h = size
    if name == "resize50":
        return w // 2, h // 2
    if name == "messaging1280" and max(w, h) > 1280:
        f = 1280 / max(w, h)
        return round(w * f), round(h * f)
    if name == "crop2":
        return w - 2 * max(1, w // 50), h - 2 * max(1, h // 50)
    if name == "rotate90":
        return h, w
    return w, h


def _make_original(task: tuple[Path, int, _Original, list[CorpusFile]]) -> None:
    root, seed, original, variants = task
    wanted = [root / original.name] + [root / v.name for v in variants]
    if all(p.exists() for p in wanted):
        return
    key = f"{original.group}:{original.index}"
    image = camera_picture(seed, key, original.size, original.level)
    exif = camera_exif(_rng(seed, "exif", key), original.gps)
    data = encode_jpeg(image, original.quality, exif)
    _write(root / original.name, data)
    if not variants:
        return
    with Image.open(io.BytesIO(data)) as decoded:  # variants start from the JPEG, as in life
        pixels = decoded.convert("RGB")
    for k, variant in enumerate(variants):
        out = transform(pixels, variant.transform or "recompress")
        keep_exif = exif if k % 2 == 0 and variant.transform != "messaging1280" else None
        _write(root / variant.name, encode_jpeg(out, variant.quality or 90, keep_exif))


def _make_png(task: tuple[Path, int, int, CorpusFile]) -> None:
    root, seed, index, planned = task
    path = root / planned.name
    if path.exists():
        return
    rng = _rng(seed, "png", index)
    image = render_picture(rng.randrange(2**31), (planned.width, planned.height))
    style = index % 3
    if style == 1:  # screenshot-like: flat colours
        image = image.quantize(64, method=Image.Quantize.FASTOCTREE)
    elif style == 2:
        alpha = Image.linear_gradient("L").resize(image.size)
        image.putalpha(alpha)
    _write(path, encode_png(image))


def hashing_corpus(
    spec: HashingSpec | None = None,
    root: Path | None = None,
    workers: int | None = None,
    log: Callable[[str], None] | None = None,
) -> Corpus:
    """Generate (or reuse) the hashing corpus for ``spec`` under ``root``."""
    spec = spec or HashingSpec()
    suffix = f"-x{spec.scale}" if spec.scale != 1 else ""
    root = root or DATA / f"hashing-v{VERSION}-s{spec.seed}{suffix}"
    manifest = root / (f"manifest-L{spec.large}-M{spec.medium}-P{spec.png}-V{spec.variants}.json")
    if manifest.exists():
        return _load_corpus(root, manifest)
    tasks, pngs = _plan(spec)
    started = datetime.now()
    workers = workers or _default_workers()
    if log:
        log(f"generating hashing corpus in {root} ({workers} processes) ...")
    _run(_make_original, [(root, spec.seed, o, v) for o, v in tasks], workers)
    _run(_make_png, [(root, spec.seed, i, p) for i, p in enumerate(pngs)], workers)
    planned: list[CorpusFile] = []
    for original, variants in tasks:
        w, h = original.size
        planned.append(CorpusFile(original.name, original.group, "JPEG", w, h, original.quality))
        planned.extend(variants)
    planned.extend(pngs)
    files = tuple(_with_digest(root, f) for f in planned)
    document = {
        "version": VERSION,
        "spec": asdict(spec),
        "files": [asdict(f) for f in files],
    }
    _write(manifest, json.dumps(document, indent=1).encode())
    if log:
        seconds = (datetime.now() - started).total_seconds()
        log(f"generated {len(files)} files in {seconds:.0f} s")
    return Corpus(root, spec, files)


def _with_digest(root: Path, planned: CorpusFile) -> CorpusFile:
    path = root / planned.name
    return CorpusFile(
        **{
            **asdict(planned),
            "size": path.stat().st_size,
            "sha256": _sha256(path),
        }
    )


def _load_corpus(root: Path, manifest: Path) -> Corpus:
    document = json.loads(manifest.read_text())
    names = {f.name for f in fields(HashingSpec)}
    spec = HashingSpec(**{k: v for k, v in document["spec"].items() if k in names})
    files = tuple(CorpusFile(**f) for f in document["files"])
    return Corpus(root, spec, files)


# ---------------------------------------------------------------------------------------------
# Ingest exhibit
# ---------------------------------------------------------------------------------------------

#: (kind, weight) of exhibit files.
EXHIBIT_MIX: tuple[tuple[str, int], ...] = (
    ("jpeg", 800),
    ("png", 50),
    ("camera", 10),
    ("copy", 50),
    ("near_dup", 50),
    ("text", 20),
    ("binary", 20),
)
_FOLDERS: tuple[tuple[str, str, str, int], ...] = (
    # folder, file prefix, extension for JPEGs, weight
    ("DCIM/Camera", "IMG_", ".jpg", 5),
    ("WhatsApp/Media/WhatsApp Images", "IMG-2023-WA", ".jpg", 5),
    ("Pictures/Saved", "image_", ".jpeg", 3),
    ("Download", "download_", ".jpg", 3),
    ("Telegram/Telegram Images", "photo_", ".jpg", 2),
    ("cache/thumbnails", "", ".JPG", 2),
)
_PER_FOLDER = 800
_POOL = 384
_WORDS = [
    "meeting",
    "notes",
    "budget",
    "garden",
    "shopping",
    "list",
    "milk",
    "bread",
    "call",
    "back",
    "tomorrow",
    "invoice",
    "holiday",
    "train",
    "ticket",
    "password",
    "reminder",
    "football",
    "practice",
    "recipe",
    "flour",
    "sugar",
    "eggs",
    "weekend",
    "plan",
    "report",
    "draft",
    "version",
    "final",
    "summary",
    "todo",
    "birthday",
    "present",
    "dentist",
    "appointment",
    "parcel",
]


@dataclass(frozen=True)
class ExhibitSpec:
    """What :func:`exhibit_corpus` generates: ``files`` files and a bank of ``bank`` entries."""

    seed: int = 1
    files: int = 100_000
    bank: int = 100_000
    #: Every picture a tiny 80x60 JPEG or PNG (a few KB) and no 2 MP camera files: for
    #: measuring the pipeline's memory on very many files rather than decoding.
    tiny: bool = False


@dataclass(frozen=True)
class ExhibitFile:
    index: int
    path: str
    kind: str
    source: int | None = None  # copies and near-duplicates: index of the original
    source_path: str | None = None
    transform: str | None = None
    bank: str | None = None  # "exact" or "pdq": the bank knows this file (or its source)


@dataclass(frozen=True)
class Exhibit:
    root: Path
    exhibit_dir: Path
    bank_csv: Path
    spec: ExhibitSpec
    counts: dict[str, int] = field(default_factory=dict)
    total_bytes: int = 0
    bank_counts: dict[str, int] = field(default_factory=dict)


def plan_exhibit(seed: int, files: int) -> list[ExhibitFile]:
    """Every file's path, kind and source; file i depends only on the seed and files < i."""
    kinds = [k for k, _ in EXHIBIT_MIX]
    weights = [w for _, w in EXHIBIT_MIX]
    folder_weights = [f[3] for f in _FOLDERS]
    counters = [0] * len(_FOLDERS)
    pictures: list[int] = []  # unique small JPEGs so far (sources of copies and near-dups)
    out: list[ExhibitFile] = []
    for i in range(files):
        rng = _rng(seed, "exhibit", i)
        kind = rng.choices(kinds, weights)[0]
        if kind in ("copy", "near_dup") and not pictures:
            kind = "jpeg"
        f = rng.choices(range(len(_FOLDERS)), folder_weights)[0]
        folder, prefix, jpeg_ext, _ = _FOLDERS[f]
        n = counters[f]
        counters[f] += 1
        directory = f"{folder}/{n // _PER_FOLDER:03d}" if n >= _PER_FOLDER else folder
        ext = {
            "png": ".png",
            "text": ".txt",
            "binary": rng.choice((".dat", ".bin", ".db")),
        }.get(kind, jpeg_ext)
        source = source_path = transform_name = bank = None
        if kind in ("copy", "near_dup"):
            source = pictures[rng.randrange(len(pictures))]
            source_path = out[source].path
            if kind == "near_dup":
                transform_name = rng.choice(
                    ("recompress", "resize", "crop", "flip_h", "rotate90", "thumbnail")
                )
            ext = jpeg_ext
        roll = rng.random()
        if kind == "jpeg":
            pictures.append(i)
            bank = "exact" if roll < 0.03 else "pdq" if roll < 0.05 else None
        path = f"{directory}/{prefix}{i:06d}{ext}"
        out.append(ExhibitFile(i, path, kind, source, source_path, transform_name, bank))
    return out


_POOLS: dict[tuple[int, int], list[Image.Image]] = {}


def _pool(seed: int, size: int) -> list[Image.Image]:
    """Base scenes (800x600) that small pictures are cut and composed from."""
    key = (seed, size)
    if key not in _POOLS:
        _POOLS[key] = [
            render_picture(_rng(seed, "pool", k).randrange(2**31), (800, 600)) for k in range(size)
        ]
    return _POOLS[key]


def small_picture(
    seed: int, index: int, pool_size: int = _POOL, grain: bool = True
) -> tuple[Image.Image, int, bool]:
    """Picture ``index`` of an exhibit: a window of one scene with parts of two others pasted
    in, a colour cast and camera grain. Returns the picture, its JPEG quality and whether it
    carries camera EXIF. About 5 ms, against about 25 ms for rendering a new scene."""
    rng = _rng(seed, "picture", index)
    pool = _pool(seed, pool_size)
    portrait = rng.random() < 0.15
    out_w, out_h = (SMALL[1], SMALL[0]) if portrait else SMALL
    base = pool[rng.randrange(len(pool))]
    frac = rng.uniform(0.55, 1.0)
    if portrait:
        cw, ch = int(base.height * frac * 0.75), int(base.height * frac)
    else:
        cw, ch = int(base.width * frac), int(base.height * frac)
    x, y = rng.randrange(base.width - cw + 1), rng.randrange(base.height - ch + 1)
    image = base.resize((out_w, out_h), Image.Resampling.BILINEAR, box=(x, y, x + cw, y + ch))
    for share in (rng.uniform(0.3, 0.5), rng.uniform(0.15, 0.3)):
        other = pool[rng.randrange(len(pool))]
        pw, ph = int(out_w * share), int(out_h * share)
        sx, sy = rng.randrange(other.width - pw + 1), rng.randrange(other.height - ph + 1)
        patch = other.crop((sx, sy, sx + pw, sy + ph))
        image.paste(patch, (rng.randrange(out_w - pw + 1), rng.randrange(out_h - ph + 1)))
    if rng.random() < 0.5:
        image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    lut: list[int] = []
    for _ in range(3):
        gain, offset = rng.uniform(0.8, 1.2), rng.uniform(-20, 20)
        lut.extend(min(255, max(0, round(v * gain + offset))) for v in range(256))
    image = image.point(lut)
    if grain:
        image = add_noise(image, noise_field(seed, "mid", 704, 704), rng)
    return image, rng.choice((75, 80, 85, 85, 90, 92)), rng.random() < 0.4


def _text(rng: random.Random) -> bytes:
    lines = [" ".join(rng.choices(_WORDS, k=rng.randint(3, 12))) for _ in range(rng.randint(3, 80))]
    return ("\n".join(lines) + "\n").encode()


def tiny_picture(seed: int, index: int, pool_size: int = _POOL) -> Image.Image:
    """An 80x60 window of one of the pool's scenes (no grain): cheap, distinct pictures."""
    rng = _rng(seed, "tiny", index)
    base = _pool(seed, pool_size)[rng.randrange(pool_size)]
    w = rng.randrange(200, 800)
    h = w * 3 // 4
    x, y = rng.randrange(base.width - w + 1), rng.randrange(base.height - h + 1)
    return base.resize((80, 60), Image.Resampling.BILINEAR, box=(x, y, x + w, y + h))


def _exhibit_bytes(
    seed: int, item: ExhibitFile, pool_size: int, root: Path, tiny: bool = False
) -> tuple[bytes, str | None]:
    """The file's bytes, and its PDQ (hex) when the bank should know it perceptually."""
    rng = _rng(seed, "content", item.index)
    if tiny and item.kind in ("jpeg", "camera", "png", "near_dup"):
        image = tiny_picture(
            seed, item.source if item.kind == "near_dup" else item.index, pool_size
        )
        if item.kind == "png":
            return encode_png(image), None
        if item.kind == "near_dup":
            return encode_jpeg(transform(image, "flip_h"), 80), None
        pdq = _pdq_hex(image) if item.bank == "pdq" else None
        return encode_jpeg(image, 85), pdq
    if item.kind == "jpeg":
        image, quality, has_exif = small_picture(seed, item.index, pool_size)
        exif = camera_exif(rng, rng.random() < 0.3) if has_exif else None
        pdq = _pdq_hex(image) if item.bank == "pdq" else None
        return encode_jpeg(image, quality, exif), pdq
    if item.kind == "camera":
        image = camera_picture(seed, f"exhibit:{item.index}", MEDIUM, "mid")
        return encode_jpeg(image, rng.choice((88, 90, 92)), camera_exif(rng, True)), None
    if item.kind == "png":
        image, _, _ = small_picture(seed, item.index, pool_size, grain=False)
        if item.index % 3 == 0:
            image = image.quantize(128, method=Image.Quantize.FASTOCTREE)
        return encode_png(image), None
    if item.kind == "copy":
        assert item.source_path is not None
        return (root / "exhibit" / item.source_path).read_bytes(), None
    if item.kind == "near_dup":
        assert item.source is not None
        image, quality, _ = small_picture(seed, item.source, pool_size)
        name = item.transform or "recompress"
        if name == "recompress":
            return encode_jpeg(image, rng.choice((55, 65, 75))), None
        if name == "resize":
            f = rng.uniform(0.5, 0.9)
            size = (round(image.width * f), round(image.height * f))
            return encode_jpeg(image.resize(size, Image.Resampling.BILINEAR), quality), None
        if name == "thumbnail":
            image.thumbnail((160, 160))
            return encode_jpeg(image, 80), None
        if name == "crop":
            return encode_jpeg(transform(image, "crop2"), quality), None
        return encode_jpeg(transform(image, name), quality), None
    if item.kind == "text":
        return _text(rng), None
    return rng.randbytes(rng.randint(2_000, 64_000)), None


def _pdq_hex(image: Image.Image) -> str:
    bits, _ = pdqhash.compute(np.asarray(image.convert("RGB")))
    return np.packbits(bits.astype(np.uint8)).tobytes().hex()


def _make_exhibit_chunk(
    task: tuple[Path, int, int, list[ExhibitFile], bool],
) -> list[tuple[int, int, str, str, str | None]]:
    """Write a chunk of files; return (index, size, md5, sha1, pdq) for each."""
    root, seed, pool_size, items, tiny = task
    out = []
    for item in items:
        path = root / "exhibit" / item.path
        pdq = None
        if path.exists() and item.bank != "pdq":
            data = path.read_bytes()
        else:
            data, pdq = _exhibit_bytes(seed, item, pool_size, root, tiny)
            if not path.exists():
                _write(path, data)
        out.append(
            (
                item.index,
                len(data),
                hashlib.md5(data, usedforsecurity=False).hexdigest(),
                hashlib.sha1(data, usedforsecurity=False).hexdigest(),
                pdq,
            )
        )
    return out


def exhibit_corpus(
    spec: ExhibitSpec | None = None,
    root: Path | None = None,
    workers: int | None = None,
    log: Callable[[str], None] | None = None,
) -> Exhibit:
    """Generate (or reuse) an exhibit folder and its bank CSV."""
    spec = spec or ExhibitSpec()
    suffix = "-tiny" if spec.tiny else ""
    root = root or DATA / f"exhibit-v{VERSION}-s{spec.seed}-n{spec.files}{suffix}"
    manifest = root / f"manifest-b{spec.bank}.json"
    if manifest.exists():
        document = json.loads(manifest.read_text())
        return Exhibit(
            root,
            root / "exhibit",
            root / document["bank_csv"],
            spec,
            document["counts"],
            document["total_bytes"],
            document["bank_counts"],
        )
    started = datetime.now()
    workers = workers or _default_workers()
    if log:
        log(f"generating a {spec.files:,}-file exhibit in {root} ({workers} processes) ...")
    plan = plan_exhibit(spec.seed, spec.files)
    pool_size = min(_POOL, max(8, spec.files // 50))
    # Originals first, then the copies and near-duplicates that read or re-render them.
    first = [p for p in plan if p.kind not in ("copy", "near_dup")]
    second = [p for p in plan if p.kind in ("copy", "near_dup")]
    digests: dict[int, tuple[int, str, str, str | None]] = {}
    for batch in (first, second):
        step = 250
        chunks = [
            (root, spec.seed, pool_size, batch[k : k + step], spec.tiny)
            for k in range(0, len(batch), step)
        ]
        for result in _run_ordered(_make_exhibit_chunk, chunks, workers):
            for index, size, md5, sha1, pdq in result:
                digests[index] = (size, md5, sha1, pdq)
    bank_csv = root / f"bank-{spec.bank}.csv"
    bank_counts = _write_bank(bank_csv, spec, plan, digests)
    counts: dict[str, int] = {}
    for item in plan:
        counts[item.kind] = counts.get(item.kind, 0) + 1
    total = sum(v[0] for v in digests.values())
    document = {
        "version": VERSION,
        "spec": asdict(spec),
        "counts": counts,
        "total_bytes": total,
        "bank_csv": bank_csv.name,
        "bank_counts": bank_counts,
        "generation_s": round((datetime.now() - started).total_seconds(), 1),
    }
    _write(manifest, json.dumps(document, indent=1).encode())
    if log:
        log(
            f"generated {spec.files:,} files ({total / 1e9:.2f} GB) in {document['generation_s']} s"
        )
    return Exhibit(root, root / "exhibit", bank_csv, spec, counts, total, bank_counts)


def _run_ordered(fn: Callable[[Any], Any], tasks: Sequence[Any], workers: int) -> Iterable[Any]:
    if workers <= 1:
        yield from (fn(t) for t in tasks)
        return
    with ProcessPoolExecutor(workers) as pool:
        yield from pool.map(fn, tasks, chunksize=1)


_CATEGORIES = ("A", "B", "C")


def _write_bank(
    path: Path,
    spec: ExhibitSpec,
    plan: list[ExhibitFile],
    digests: dict[int, tuple[int, str, str, str | None]],
) -> dict[str, int]:
    """Bank CSV: exact digests and PDQs of the files planned as known, then random padding."""
    rng = _rng(spec.seed, "bank")
    rows: list[tuple[str, str]] = []
    for item in plan:
        size, md5, sha1, pdq = digests[item.index]
        if item.bank == "exact":
            rows.append(("md5", md5) if rng.random() < 0.7 else ("sha1", sha1))
        elif item.bank == "pdq" and pdq:
            rows.append(("pdq", pdq))
    counts = {
        "exact": sum(1 for k, _ in rows if k != "pdq"),
        "pdq": sum(1 for k, _ in rows if k == "pdq"),
    }
    padding = max(0, spec.bank - len(rows))
    for _ in range(padding):
        roll = rng.random()
        if roll < 0.5:
            rows.append(("md5", f"{rng.getrandbits(128):032x}"))
        elif roll < 0.7:
            rows.append(("sha1", f"{rng.getrandbits(160):040x}"))
        else:
            rows.append(("pdq", f"{rng.getrandbits(256):064x}"))
    counts["padding"] = padding
    rng.shuffle(rows)
    tmp = path.with_name(f".partial-{path.name}")
    with tmp.open("w", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(LONG_COLUMNS)
        for n, (kind, value) in enumerate(rows):
            writer.writerow(
                (kind, value, _CATEGORIES[n % 3], "false", "", "false", "bench bank", f"B{n:07d}")
            )
    tmp.replace(path)
    return counts

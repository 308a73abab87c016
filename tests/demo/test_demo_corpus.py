"""The demo exhibit and bank: ground truth, PDQ guarantees, broken files, archives, bank CSV."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import random
import zipfile
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pdqhash
import pytest
from PIL import Image, ImageFile

from safeguard.demo import ROLES, DemoCorpus, PlannedFile, generate_demo, write_demo_manifest
from safeguard.demo.corpus import BANK_HEADER, CATEGORIES
from safeguard.domain.kinds import HashKind, normalise_hex

PICTURE_ROLES = ("known_exact", "known_transformed", "copy", "unseen", "unseen_near_dup")


def _image(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        return img.convert("RGB")


def _bits(hex_hash: str) -> np.ndarray:
    return np.unpackbits(np.frombuffer(bytes.fromhex(hex_hash), dtype=np.uint8)).astype(bool)


def _pdq(img: Image.Image) -> np.ndarray:
    return pdqhash.compute(np.asarray(img))[0].astype(bool)


def _dihedral(img: Image.Image) -> np.ndarray:
    return np.asarray(pdqhash.compute_dihedral(np.asarray(img))[0], dtype=bool)


def _bank_rows(corpus: DemoCorpus) -> list[dict[str, str]]:
    with corpus.bank_csv.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        assert tuple(reader.fieldnames or ()) == BANK_HEADER
        return list(reader)


def test_every_role_is_present_in_plausible_numbers(demo_corpus: DemoCorpus) -> None:
    counts = Counter(f.role for f in demo_corpus.files)
    assert set(counts) == set(ROLES)
    assert 250 <= len(demo_corpus.files) <= 450
    assert counts["corrupt"] >= 3 and counts["truncated"] >= 3 and counts["non_image"] >= 3
    assert counts["archive"] == 2
    # About 40% of the base pictures are known, with all four categories.
    base = {f.source_id for f in demo_corpus.files if f.role in PICTURE_ROLES}
    assert len(base) == 120
    assert len(demo_corpus.known) == 48
    assert set(demo_corpus.known.values()) == set(CATEGORIES)
    transforms = {f.transform for f in demo_corpus.by_role("known_transformed")}
    assert transforms == {
        "resize",
        "recompress",
        "crop",
        "rotate90",
        "rotate180",
        "rotate270",
        "flip_h",
        "flip_v",
    }
    assert {f.transform for f in demo_corpus.by_role("unseen_near_dup")} == {
        "resize",
        "recompress",
        "crop",
    }
    with pytest.raises(ValueError):
        demo_corpus.by_role("nonsense")


def test_planned_files_match_the_tree(demo_corpus: DemoCorpus) -> None:
    on_disk = {
        p.relative_to(demo_corpus.exhibit_dir).as_posix()
        for p in demo_corpus.exhibit_dir.rglob("*")
        if p.is_file()
    }
    outer = {f.logical_path for f in demo_corpus.files if "!/" not in f.logical_path}
    assert on_disk == outer
    for planned in demo_corpus.files:
        data = demo_corpus.read_bytes(planned)
        assert hashlib.sha256(data).hexdigest() == planned.sha256
        assert len(data) == planned.size


def test_same_seed_gives_a_byte_identical_tree(demo_corpus: DemoCorpus, tmp_path: Path) -> None:
    again = generate_demo(tmp_path / "run2")
    assert again.files == demo_corpus.files
    assert again.known == demo_corpus.known
    assert again.bank_csv.read_bytes() == demo_corpus.bank_csv.read_bytes()
    for planned in demo_corpus.files:
        if "!/" not in planned.logical_path:
            first = (demo_corpus.exhibit_dir / planned.logical_path).stat()
            second = (again.exhibit_dir / planned.logical_path).stat()
            assert first.st_mtime == second.st_mtime
    digests = {
        p.relative_to(again.exhibit_dir).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in again.exhibit_dir.rglob("*")
        if p.is_file()
    }
    assert digests == {
        f.logical_path: f.sha256 for f in demo_corpus.files if "!/" not in f.logical_path
    }


def test_another_seed_gives_other_pictures(tmp_path: Path) -> None:
    a = generate_demo(tmp_path / "a", seed=2, n_base=20)
    b = generate_demo(tmp_path / "b", seed=3, n_base=20)
    shas_a = {f.sha256 for f in a.files if f.role in PICTURE_ROLES}
    shas_b = {f.sha256 for f in b.files if f.role in PICTURE_ROLES}
    assert shas_a and not shas_a & shas_b


def test_known_exact_files_are_what_the_bank_hashed(demo_corpus: DemoCorpus) -> None:
    rows = _bank_rows(demo_corpus)
    sha256_to_category = {r["hash"]: r["category"] for r in rows if r["hash_kind"] == "sha256"}
    md5s = {r["hash"] for r in rows if r["hash_kind"] == "md5"}
    exact = demo_corpus.by_role("known_exact")
    assert any("!/" in f.logical_path for f in exact)  # one lives only inside the zip
    for planned in exact:
        data = demo_corpus.read_bytes(planned)
        assert sha256_to_category[planned.sha256] == planned.category
        assert hashlib.md5(data).hexdigest() in md5s
        assert planned.category == demo_corpus.known[planned.source_id]
        bank_pdq = _bits(demo_corpus.bank_pdq[planned.source_id])
        assert int((_pdq(_image(data)) != bank_pdq).sum()) == 0


def test_known_transformed_stay_within_31_bits_and_are_new_bytes(demo_corpus: DemoCorpus) -> None:
    rows = _bank_rows(demo_corpus)
    bank_digests = {r["hash"] for r in rows if HashKind(r["hash_kind"]).is_digest}
    worst = 0
    for planned in demo_corpus.by_role("known_transformed"):
        data = demo_corpus.read_bytes(planned)
        assert hashlib.sha256(data).hexdigest() not in bank_digests
        assert hashlib.md5(data).hexdigest() not in bank_digests
        assert planned.category == demo_corpus.known[planned.source_id]
        reference = _bits(demo_corpus.bank_pdq[planned.source_id])
        distance = int((_dihedral(_image(data)) != reference).sum(-1).min())
        assert distance <= 31, planned
        worst = max(worst, distance)
    assert worst > 0


def test_unseen_near_duplicates_stay_close_to_their_source(demo_corpus: DemoCorpus) -> None:
    unseen = {f.source_id: f for f in demo_corpus.by_role("unseen")}
    assert not set(unseen) & set(demo_corpus.known)
    groups = Counter(f.source_id for f in demo_corpus.by_role("unseen_near_dup"))
    assert len(groups) >= 10 and max(groups.values()) >= 2
    for planned in demo_corpus.by_role("unseen_near_dup"):
        assert planned.source_id in unseen and planned.category is None
        source = _pdq(_image(demo_corpus.read_bytes(unseen[planned.source_id])))
        variant = _dihedral(_image(demo_corpus.read_bytes(planned)))
        assert int((variant != source).sum(-1).min()) <= 31, planned


def test_distinct_pictures_are_far_apart(demo_corpus: DemoCorpus) -> None:
    """A sample of base pictures, as stored: > 50 bits apart from each other and from the bank."""
    bases = sorted(
        demo_corpus.by_role("known_exact") + demo_corpus.by_role("unseen"),
        key=lambda f: f.logical_path,
    )
    sample = random.Random(0).sample(bases, 40)
    assert len({f.source_id for f in sample}) == len(sample)
    plain = {f.source_id: _pdq(_image(demo_corpus.read_bytes(f))) for f in sample}
    ids = sorted(plain)
    for i, a in enumerate(ids):
        variants = _dihedral(
            _image(demo_corpus.read_bytes(next(f for f in sample if f.source_id == a)))
        )
        for b in ids[i + 1 :]:
            assert int((variants != plain[b]).sum(-1).min()) > 50, (a, b)
        for source_id, bank_hex in demo_corpus.bank_pdq.items():
            if source_id != a:
                assert int((variants != _bits(bank_hex)).sum(-1).min()) > 50, (a, source_id)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_corrupt_and_truncated_files_do_not_decode(demo_corpus: DemoCorpus) -> None:
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    broken = demo_corpus.by_role("corrupt") + demo_corpus.by_role("truncated")
    for planned in broken:
        with pytest.raises(Exception):  # noqa: B017 - any decode failure will do
            _image(demo_corpus.read_bytes(planned))
    magics = {demo_corpus.read_bytes(f)[:2] for f in demo_corpus.by_role("corrupt")}
    assert b"\xff\xd8" in magics and b"\x89P" in magics


def test_non_images_are_not_pictures(demo_corpus: DemoCorpus) -> None:
    kinds = {f.detail for f in demo_corpus.by_role("non_image")}
    assert {"text", "pdf-like", "random bytes"} <= kinds
    for planned in demo_corpus.by_role("non_image"):
        with pytest.raises(Exception):  # noqa: B017
            _image(demo_corpus.read_bytes(planned))


def test_archive_holds_a_nested_zip(demo_corpus: DemoCorpus) -> None:
    archives = sorted(f.logical_path for f in demo_corpus.by_role("archive"))
    assert archives == ["archives/bundle.zip", "archives/bundle.zip!/nested.zip"]
    with zipfile.ZipFile(demo_corpus.exhibit_dir / "archives/bundle.zip") as outer:
        names = outer.namelist()
        assert "nested.zip" in names
        assert all(info.date_time == (2023, 6, 12, 21, 4, 10) for info in outer.infolist())
        with zipfile.ZipFile(io.BytesIO(outer.read("nested.zip"))) as nested:
            nested_names = nested.namelist()
    inside = [f for f in demo_corpus.files if f.logical_path.startswith("archives/bundle.zip!/")]
    expected = {f.logical_path.split("!/", 1)[1] for f in inside if f.logical_path.count("!/") == 1}
    assert expected == set(names)
    deeper = {f.logical_path.split("!/")[2] for f in inside if f.logical_path.count("!/") == 2}
    assert deeper == set(nested_names) and deeper
    roles = {f.role for f in inside}
    assert {"known_exact", "unseen", "known_transformed", "unseen_near_dup", "copy"} <= roles


def test_bank_csv_references_only_known_pictures(demo_corpus: DemoCorpus) -> None:
    rows = _bank_rows(demo_corpus)
    by_id: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        kind = HashKind(row["hash_kind"])
        assert normalise_hex(row["hash"], kind) == row["hash"]
        assert row["category"] in CATEGORIES
        assert row["victim_identified"] in ("true", "false")
        assert row["self_generated"] in ("true", "false")
        assert row["source"] == "demo bank"
        assert row["external_id"].startswith("demo-")
        by_id[row["external_id"]].append(row)
    assert len(by_id) == len(demo_corpus.known)
    pdq_to_source = {v: k for k, v in demo_corpus.bank_pdq.items()}
    for entries in by_id.values():
        assert sorted(r["hash_kind"] for r in entries) == ["md5", "pdq", "sha1", "sha256"]
        assert len({(r["category"], r["series"], r["victim_identified"]) for r in entries}) == 1
        source = pdq_to_source[next(r["hash"] for r in entries if r["hash_kind"] == "pdq")]
        assert entries[0]["category"] == demo_corpus.known[source]
    assert any(r["victim_identified"] == "true" for r in rows)
    assert any(r["series"] for r in rows)
    # No unseen picture's bytes are in the bank.
    digests = {r["hash"] for r in rows}
    assert not any(f.sha256 in digests for f in demo_corpus.by_role("unseen"))


def test_copies_and_no_accidental_duplicates(demo_corpus: DemoCorpus) -> None:
    by_sha: dict[str, list[PlannedFile]] = defaultdict(list)
    for planned in demo_corpus.files:
        by_sha[planned.sha256].append(planned)
    for planned in demo_corpus.by_role("copy"):
        group = by_sha[planned.sha256]
        originals = [f for f in group if f.role != "copy"]
        assert len(originals) == 1
        assert planned.detail == f"copy of {originals[0].logical_path}"
        assert planned.source_id == originals[0].source_id
    for group in by_sha.values():
        assert sum(f.role != "copy" for f in group) == 1, group
    assert max(len(g) for g in by_sha.values()) >= 4
    assert any("!/" in f.logical_path for f in demo_corpus.by_role("copy"))


def test_formats_wrong_extensions_and_nesting(demo_corpus: DemoCorpus) -> None:
    pillow_names = {
        "JPEG": "jpeg",
        "PNG": "png",
        "GIF": "gif",
        "WEBP": "webp",
        "BMP": "bmp",
        "TIFF": "tiff",
    }
    extensions = {
        "jpeg": {".jpg", ".jpeg"},
        "png": {".png"},
        "gif": {".gif"},
        "webp": {".webp"},
        "bmp": {".bmp"},
        "tiff": {".tif", ".tiff"},
    }
    wrong = missing = 0
    seen = set()
    for planned in demo_corpus.files:
        if planned.role not in PICTURE_ROLES:
            continue
        with Image.open(io.BytesIO(demo_corpus.read_bytes(planned))) as img:
            fmt = pillow_names[img.format]
        assert fmt == planned.image_format
        seen.add(fmt)
        suffix = Path(planned.logical_path).suffix.lower()
        if not suffix:
            missing += 1
        elif suffix not in extensions[fmt]:
            wrong += 1
    assert seen == set(pillow_names.values())
    assert wrong >= 5 and missing >= 5
    assert max(f.logical_path.count("/") for f in demo_corpus.files) >= 4
    pictures = [f for f in demo_corpus.files if f.role in PICTURE_ROLES]
    assert sum(f.image_format == "jpeg" for f in pictures) > len(pictures) / 2


def test_exif_cameras_shared_across_unseen_files(demo_corpus: DemoCorpus) -> None:
    by_camera: dict[str, list[PlannedFile]] = defaultdict(list)
    for planned in demo_corpus.files:
        if planned.camera:
            by_camera[planned.camera].append(planned)
    shared = {c for c, files in by_camera.items() if len({f.source_id for f in files}) >= 3}
    assert len(shared) == 2
    for camera in shared:
        assert all(
            f.role in ("unseen", "copy") and f.source_id not in demo_corpus.known
            for f in by_camera[camera]
        )
    for files in by_camera.values():
        for planned in files:
            with Image.open(io.BytesIO(demo_corpus.read_bytes(planned))) as img:
                exif = img.getexif()
            sub = exif.get_ifd(0x8769)
            assert planned.camera == f"{exif[0x010F]} {exif[0x0110]} #{sub[0xA431]}"
            assert len(sub[0x9003]) == 19  # "YYYY:MM:DD HH:MM:SS"


def test_manifest_is_json_ground_truth(demo_corpus: DemoCorpus, tmp_path: Path) -> None:
    path = tmp_path / "manifest.json"
    write_demo_manifest(demo_corpus, path)
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["counts"] == {r: len(demo_corpus.by_role(r)) for r in ROLES}
    assert document["known"] == demo_corpus.known
    assert [f["logical_path"] for f in document["files"]] == [
        f.logical_path for f in demo_corpus.files
    ]


def test_formats_parameter_and_refusals(tmp_path: Path, demo_out: Path) -> None:
    corpus = generate_demo(tmp_path / "small", seed=5, n_base=20, formats=("jpeg", "png"))
    pictures = [f for f in corpus.files if f.role in PICTURE_ROLES]
    assert {f.image_format for f in pictures} <= {"jpeg", "png"}
    with pytest.raises(FileExistsError):
        generate_demo(tmp_path / "small", seed=5, n_base=20)
    with pytest.raises(ValueError):
        generate_demo(tmp_path / "bad", formats=("jpeg", "heic"))
    assert (demo_out / "demo-bank.csv").is_file()

"""The benchmark corpus generator is reproducible: a seed always gives the same bytes.

Tiny corpora only (sides divided by ``scale``); benchmarks themselves never run in the tests.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from bench import corpus


def _tree(root: Path) -> dict[str, str]:
    """Every generated file and its SHA-256 (manifests also record generation times)."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.startswith("manifest")
    }


def _hashing(root: Path, seed: int) -> corpus.Corpus:
    spec = corpus.HashingSpec(seed=seed, large=2, medium=2, png=3, variants=6, scale=40)
    return corpus.hashing_corpus(spec, root=root, workers=1)


def test_hashing_corpus_is_deterministic(tmp_path: Path) -> None:
    a = _hashing(tmp_path / "a", seed=3)
    b = _hashing(tmp_path / "b", seed=3)
    c = _hashing(tmp_path / "c", seed=4)
    assert _tree(a.root) == _tree(b.root)
    assert [f.sha256 for f in a.files] == [f.sha256 for f in b.files]
    assert {f.sha256 for f in a.files}.isdisjoint(f.sha256 for f in c.files)
    groups = a.by_group()
    assert [len(groups[g]) for g in ("jpeg-12mp", "jpeg-2mp", "png", "variant")] == [2, 2, 3, 6]
    big = groups["jpeg-12mp"][0]
    assert (big.width, big.height) == (100, 75) and big.format == "JPEG"
    assert {v.source for v in groups["variant"]} <= {f.name for f in a.files}


def test_hashing_corpus_is_reused_from_its_manifest(tmp_path: Path) -> None:
    first = _hashing(tmp_path, seed=3)
    second = _hashing(tmp_path, seed=3)
    assert second.files == first.files


def test_exhibit_is_deterministic_and_a_prefix_plan_is_stable(tmp_path: Path) -> None:
    spec = corpus.ExhibitSpec(seed=5, files=80, bank=120)
    a = corpus.exhibit_corpus(spec, root=tmp_path / "a", workers=1)
    b = corpus.exhibit_corpus(spec, root=tmp_path / "b", workers=1)
    assert _tree(a.root) == _tree(b.root)
    assert sum(a.counts.values()) == 80 and a.counts["jpeg"] > 40
    assert a.bank_csv.read_text().count("\n") == 121  # header and 120 entries
    assert corpus.plan_exhibit(5, 40) == corpus.plan_exhibit(5, 80)[:40]


def test_a_tiny_exhibit_has_only_tiny_pictures(tmp_path: Path) -> None:
    from PIL import Image

    spec = corpus.ExhibitSpec(seed=5, files=80, bank=120, tiny=True)
    a = corpus.exhibit_corpus(spec, root=tmp_path / "a", workers=1)
    b = corpus.exhibit_corpus(spec, root=tmp_path / "b", workers=1)
    assert _tree(a.root) == _tree(b.root)
    pictures = [
        p for p in a.exhibit_dir.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png")
    ]
    assert len(pictures) > 40
    for path in pictures:
        with Image.open(path) as img:
            assert img.size == (80, 60), path

"""The speed-ups in ``analyse_file`` change nothing: same facts as the plain paths, file by file.

The plain paths: reading in 1 MiB chunks, Pillow's 64 KiB decoder blocks and pdqhash's own
``compute_dihedral`` wrapper. Checked on a generated demo exhibit (every format, transforms,
corrupt and truncated files, non-images) and on large JPEGs.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from safeguard.demo.corpus import DemoCorpus
from safeguard.hashing import analyse, analyse_file, images, pdq

from .conftest import encode, textured


def _plain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(analyse, "_read_whole_image", lambda *args: None)
    monkeypatch.setattr(images, "_JPEG_BLOCK_MAX", 0)
    monkeypatch.setattr(pdq, "_native", lambda: None)


@pytest.fixture(scope="module")
def demo_files(tmp_path_factory: pytest.TempPathFactory, demo_corpus: DemoCorpus) -> list[Path]:
    corpus = demo_corpus
    files = sorted(p for p in corpus.exhibit_dir.rglob("*") if p.is_file())
    big = tmp_path_factory.mktemp("big")
    for n, (w, h) in enumerate([(2400, 1800), (4000, 3000)]):
        data = encode(textured(w, h, seed=n), "JPEG", quality=90)
        (big / f"big{n}.jpg").write_bytes(data)
        (big / f"big{n}-truncated.jpg").write_bytes(data[: len(data) // 2])
        files += [big / f"big{n}.jpg", big / f"big{n}-truncated.jpg"]
    return files


def test_fast_paths_give_the_same_facts(
    demo_files: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    fast = [analyse_file(p) for p in demo_files]
    in_memory = [analyse_file(p.read_bytes()) for p in demo_files]
    streamed = [analyse_file(io.BytesIO(p.read_bytes())) for p in demo_files]
    _plain(monkeypatch)
    plain = [analyse_file(p) for p in demo_files]
    assert any(f.image is not None for f in plain) and any(f.error for f in plain)
    for path, a, b, c, d in zip(demo_files, fast, in_memory, streamed, plain, strict=True):
        assert a == b == c == d, path.name

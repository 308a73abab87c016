from __future__ import annotations

from pathlib import Path

import pytest

from safeguard.demo.corpus import DemoCorpus, generate_demo


@pytest.fixture(scope="session")
def demo_corpus(tmp_path_factory: pytest.TempPathFactory) -> DemoCorpus:
    """A small generated benign exhibit with its ground truth (shared, never modified)."""
    return generate_demo(tmp_path_factory.mktemp("demo"), seed=7, n_base=40)


@pytest.fixture
def exhibit_copy(demo_corpus: DemoCorpus) -> Path:
    return demo_corpus.exhibit_dir

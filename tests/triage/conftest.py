from __future__ import annotations

from pathlib import Path

import pytest

from safeguard.demo.corpus import DemoCorpus


@pytest.fixture
def exhibit_copy(demo_corpus: DemoCorpus) -> Path:
    return demo_corpus.exhibit_dir

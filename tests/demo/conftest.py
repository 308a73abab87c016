"""Shared fixtures for the demo corpus tests: one default corpus per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from safeguard.demo import DemoCorpus, generate_demo


@pytest.fixture(scope="session")
def demo_corpus(tmp_path_factory: pytest.TempPathFactory) -> DemoCorpus:
    return generate_demo(tmp_path_factory.mktemp("demo") / "run1")


@pytest.fixture(scope="session")
def demo_out(demo_corpus: DemoCorpus) -> Path:
    return demo_corpus.exhibit_dir.parent

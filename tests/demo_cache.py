"""One benign demo corpus for the whole suite, generated once and kept between runs.

The corpus is a pure function of the demo generator's source, its parameters and Pillow's
version, so it is cached under ``.cache/test-demo/<key>/`` (ignored by git) and regenerated only
when one of those changes. Tests must treat it as read-only: ingests open evidence read-only, and
anything a test writes goes to its own tmp_path.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import shutil
from pathlib import Path

import PIL

import safeguard.demo
from safeguard.demo.corpus import DemoCorpus, generate_demo

CACHE = Path(os.environ.get("SAFEGUARD_TEST_CACHE", Path(__file__).parents[1] / ".cache"))
#: The suite's corpus: small enough to ingest in seconds, with every role of the demo plan.
SEED, N_BASE = 11, 16


def _key(seed: int, n_base: int) -> str:
    digest = hashlib.sha256(f"{seed}/{n_base}/{PIL.__version__}".encode())
    for source in sorted(Path(safeguard.demo.__file__).parent.glob("*.py")):
        digest.update(source.name.encode())
        digest.update(source.read_bytes())
    return digest.hexdigest()[:16]


def cached_demo(seed: int = SEED, n_base: int = N_BASE) -> DemoCorpus:
    """The demo corpus for these parameters, from the cache or generated into it."""
    root = CACHE / "test-demo" / _key(seed, n_base)
    marker = root / "corpus.pickle"
    if marker.exists():
        try:
            corpus = pickle.loads(marker.read_bytes())
            if corpus.exhibit_dir.is_dir() and corpus.bank_csv.is_file():
                return corpus
        except (OSError, pickle.UnpicklingError, AttributeError, EOFError):
            pass
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    corpus = generate_demo(root, seed=seed, n_base=n_base)
    marker.write_bytes(pickle.dumps(corpus))  # written last: the corpus is complete
    return corpus

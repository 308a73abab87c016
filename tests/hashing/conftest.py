"""Shared fixtures for the hashing tests. Every image here is benign and generated at test time,
or one of the public bridge vectors in ../shared/testdata/pdq."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

TESTDATA = Path(__file__).resolve().parents[3] / "shared" / "testdata"
if not TESTDATA.is_dir():  # a checkout elsewhere: fall back to the shared folder's usual place
    TESTDATA = Path("/work/shared/testdata")
PDQ_DIR = TESTDATA / "pdq"

#: Hashes printed by the C++ reference ``pdq-photo-hasher`` (testdata/README.md).
BRIDGE_REFERENCE: dict[str, str] = {
    "bridge-1-original.jpg": "f8f8f0cce0f4e84d0e370a22028f67f0b36e2ed596623e1d33e6339c4e9c9b22",
    "bridge-2-rotate-90.jpg": "b0a10efd71cc3f429413d48d0ffffe12e34e0e17ada952a9d29684210aa9e5af",
    "bridge-3-rotate-180.jpg": "adad5a64b5a142e55362a09057dacd5ae63b847fc23794b766b319361fc93188",
    "bridge-4-rotate-270.jpg": "a5f4a457a48995e8c9065c275aaa5498b61ba4bdf8fcf80387c32f8b0bfc4f05",
    "bridge-5-flipx.jpg": "f8f80f31e0f417b00e37f5cd028f980fb36ed02a9662c1e233e6cc634e9c64dd",
    "bridge-6-flipy.jpg": "8dad2599b1a1bd1853625f6553da32a1e63b7280c2374b4866b366c91bc9ce77",
    "bridge-7-flip-plus-1.jpg": "f0a1f102f1dcc0bd9c5309720fff018de34ef1e8ada9a956d2967ade0ea91a50",
    "bridge-8-flip-minus-1.jpg": "a5f05ba8a4896a17c106a3da5aaaab07b61b5b42f8fc07fc83c3d0740bfcb0fa",
}
BRIDGE_NAMES = sorted(BRIDGE_REFERENCE)


def bridge_path(name: str) -> Path:
    path = PDQ_DIR / name
    if not path.is_file():
        pytest.skip(f"test vector missing: {path}")
    return path


def textured(width: int = 320, height: int = 240, seed: int = 1) -> Image.Image:
    """A benign RGB test picture: smooth gradients plus blobs, so PDQ quality is high."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    r = 127 + 120 * np.sin(x / (width / 7.0) + rng.uniform(0, 6))
    g = 127 + 120 * np.cos(y / (height / 5.0) + rng.uniform(0, 6))
    b = 127 + 120 * np.sin((x + y) / (width / 9.0))
    arr = np.stack([r, g, b], axis=-1)
    for _ in range(6):
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        radius = rng.uniform(0.05, 0.2) * min(width, height)
        mask = (x - cx) ** 2 + (y - cy) ** 2 < radius**2
        arr[mask] = rng.uniform(0, 255, size=3)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")


def encode(img: Image.Image, fmt: str, **params: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **params)
    return buf.getvalue()


@pytest.fixture(scope="session")
def picture() -> Image.Image:
    return textured()

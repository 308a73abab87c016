"""PDQ against the C++ reference hashes of the public bridge vectors."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from safeguard.hashing import DIHEDRAL_ORDER, analyse_image, hamming_hex

from .conftest import BRIDGE_NAMES, BRIDGE_REFERENCE, bridge_path, encode

#: The PDQ project's rule for a conforming implementation (at quality >= 80).
CONFORMANCE_BITS = 10
#: The usual PDQ match threshold.
MATCH_RADIUS = 31


def _facts(name: str, *, draft: bool):
    return analyse_image(bridge_path(name).read_bytes(), draft=draft)


@pytest.mark.parametrize("draft", [True, False], ids=["draft", "full"])
@pytest.mark.parametrize("name", BRIDGE_NAMES)
def test_bridge_conforms_to_reference(name: str, draft: bool) -> None:
    facts = _facts(name, draft=draft)
    assert facts.pdq_quality >= 80
    assert hamming_hex(facts.pdq, BRIDGE_REFERENCE[name]) <= CONFORMANCE_BITS
    assert facts.pdq_dihedral[0] == facts.pdq
    assert len(facts.pdq_dihedral) == 8


@pytest.mark.parametrize("name", BRIDGE_NAMES)
def test_draft_and_full_decode_agree(name: str) -> None:
    assert hamming_hex(_facts(name, draft=True).pdq, _facts(name, draft=False).pdq) <= 10


@pytest.mark.parametrize("name", BRIDGE_NAMES)
def test_every_bridge_matches_the_original_through_its_dihedral_variants(name: str) -> None:
    bank = BRIDGE_REFERENCE["bridge-1-original.jpg"]
    query = _facts(name, draft=True)
    assert min(hamming_hex(v, bank) for v in query.pdq_dihedral) <= MATCH_RADIUS
    # ...and the other way round: the original's variants find this file's reference hash.
    original = _facts("bridge-1-original.jpg", draft=True)
    assert min(hamming_hex(v, BRIDGE_REFERENCE[name]) for v in original.pdq_dihedral) <= 31


def test_dihedral_order_is_the_bridge_files_order() -> None:
    """Variant k of the original is the reference hash of bridge-(k+1): the documented order."""
    original = _facts("bridge-1-original.jpg", draft=True)
    assert len(DIHEDRAL_ORDER) == 8
    for variant, name in zip(original.pdq_dihedral, BRIDGE_NAMES, strict=True):
        assert hamming_hex(variant, BRIDGE_REFERENCE[name]) <= CONFORMANCE_BITS, name


@pytest.mark.parametrize("scale", [2, 3])
@pytest.mark.parametrize("name", BRIDGE_NAMES[:4])
def test_reduced_scale_decode_of_large_jpeg_stays_close(name: str, scale: int) -> None:
    """A large JPEG really decodes at reduced scale, within 10 bits of the full decode."""
    base = Image.open(bridge_path(name)).convert("RGB")
    big = base.resize((base.width * scale, base.height * scale), Image.Resampling.LANCZOS)
    data = encode(big, "JPEG", quality=90)
    drafted = analyse_image(data)
    full = analyse_image(data, draft=False)
    assert (drafted.width, drafted.height) == big.size  # the stored size, not the decoded one
    assert hamming_hex(drafted.pdq, full.pdq) <= 10
    assert drafted.pdq_quality >= 80


def test_large_png_is_reduced_before_hashing_and_stays_close() -> None:
    base = Image.open(bridge_path("bridge-1-original.jpg")).convert("RGB")
    big = base.resize((base.width * 2, base.height * 2), Image.Resampling.BILINEAR)
    data = encode(big, "PNG", compress_level=1)
    reduced = analyse_image(io.BytesIO(data))
    full = analyse_image(data, draft=False)
    assert hamming_hex(reduced.pdq, full.pdq) <= 10
    assert hamming_hex(reduced.pdq, BRIDGE_REFERENCE["bridge-1-original.jpg"]) <= 16

"""Degenerate PDQ hashes (issue 11 item 3): 16-bit greyscale scaled by its real value range, and
no constant hash ever stored."""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from safeguard.demo.pictures import render_picture
from safeguard.hashing.images import analyse_image, is_constant_hash
from safeguard.hashing.pdq import DIHEDRAL_LABELS, hamming_hex, pdq_from_image
from safeguard.hashing.pixels import scale_to_8bit


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _sixteen_bit(values: np.ndarray) -> bytes:
    return _png(Image.fromarray(values.astype(np.uint16)))


def test_a_16_bit_png_holding_8_bit_values_hashes_like_its_8_bit_twin() -> None:
    grey = np.asarray(render_picture(3, (320, 240)).convert("L"))
    eight = analyse_image(_png(Image.fromarray(grey, mode="L")))
    sixteen = analyse_image(_sixteen_bit(grey))
    assert sixteen.pdq is not None and sixteen.pdq_quality >= 50
    assert sixteen.pdq == eight.pdq and sixteen.pdq_quality == eight.pdq_quality


def test_a_16_bit_png_using_the_whole_range_still_hashes_as_before() -> None:
    grey = np.asarray(render_picture(4, (320, 240)).convert("L")).astype(np.uint32)
    eight = analyse_image(_png(Image.fromarray(grey.astype(np.uint8), mode="L")))
    full = analyse_image(_sixteen_bit(grey * 257))  # 0-255 -> 0-65535
    assert full.pdq is not None and eight.pdq is not None
    assert hamming_hex(full.pdq, eight.pdq) <= 2


def test_a_flat_picture_gets_no_hash_rather_than_a_constant_one() -> None:
    """A flat colour hashes to rounding noise of quality 0: not stored either."""
    for image in (Image.new("L", (300, 200), 128), Image.new("RGB", (300, 200), (9, 200, 30))):
        facts = analyse_image(_png(image))
        assert facts.pdq is None and facts.pdq_quality == 0 and facts.pdq_dihedral == ()
    flat16 = analyse_image(_sixteen_bit(np.full((200, 300), 40000)))
    assert flat16.pdq is None


def test_constant_hashes_are_recognised() -> None:
    assert is_constant_hash("0" * 64) and is_constant_hash("f" * 64)
    assert not is_constant_hash("0" * 63 + "1")


@settings(max_examples=80, deadline=None)
@given(
    hnp.arrays(
        np.int64, hnp.array_shapes(min_dims=2, max_dims=2), elements=st.integers(-5, 70000)
    )
)
def test_scaling_to_8_bit_keeps_order_and_range(values: np.ndarray) -> None:
    out = scale_to_8bit(values)
    assert out.shape == values.shape
    assert int(out.min()) >= 0 and int(out.max()) <= 255
    flat_in, flat_out = values.ravel(), out.ravel()
    order = np.argsort(flat_in, kind="stable")
    assert (np.diff(flat_out[order]) >= 0).all()  # monotone: no detail is reordered
    if values.min() >= 0 and values.max() <= 255:
        assert (out == values).all()
    elif values.max() > values.min():
        assert int(out.min()) == 0 and int(out.max()) == 255


@pytest.mark.parametrize(
    ("variant", "transpose"),
    [
        (1, Image.Transpose.ROTATE_90),
        (2, Image.Transpose.ROTATE_180),
        (3, Image.Transpose.ROTATE_270),
        (4, Image.Transpose.FLIP_TOP_BOTTOM),
        (5, Image.Transpose.FLIP_LEFT_RIGHT),
        (6, Image.Transpose.TRANSPOSE),
        (7, Image.Transpose.TRANSVERSE),
    ],
)
def test_orientation_labels_say_what_each_variant_is(variant: int, transpose) -> None:  # noqa: ANN001
    """The report's words for a matched variant are those of the Pillow transpose it undoes."""
    picture = render_picture(7, (384, 384))
    turned = pdq_from_image(picture.transpose(transpose)).hex
    dihedral = pdq_from_image(picture).dihedral
    nearest = min(range(8), key=lambda k: hamming_hex(turned, dihedral[k]))
    assert nearest == variant
    words = {
        Image.Transpose.ROTATE_90: "90° anticlockwise",
        Image.Transpose.ROTATE_180: "180°",
        Image.Transpose.ROTATE_270: "90° clockwise",
        Image.Transpose.FLIP_TOP_BOTTOM: "top to bottom",
        Image.Transpose.FLIP_LEFT_RIGHT: "left to right",
        Image.Transpose.TRANSPOSE: "main diagonal",
        Image.Transpose.TRANSVERSE: "other diagonal",
    }
    assert words[transpose] in DIHEDRAL_LABELS[variant]


def test_small_jpegs_hash_exactly_as_the_full_rgb_decode() -> None:
    """Issue 11 item 2: below 1024 px a JPEG decodes in full and in colour, as the PDQ reference
    and HMA do; the straight-to-luma decode it used to take differs by a few bits (seeds 0, 4
    and 7 here, at quality 100), a share of the match budget spent for no speed."""
    for seed in range(8):
        out = io.BytesIO()
        render_picture(seed, (320, 240)).save(out, "JPEG", quality=100)
        raw = out.getvalue()
        assert analyse_image(raw).pdq == analyse_image(raw, draft=False).pdq, seed

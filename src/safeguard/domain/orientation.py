"""Words for PDQ's eight dihedral variants, and the matching quality threshold's default."""

from __future__ import annotations

#: What each dihedral variant (``pdqhash.compute_dihedral`` order) means, in words, for reports:
#: the media's variant ``k`` matched, i.e. the known picture is the file turned this way
#: (checked against Pillow's transposes in tests/hashing/test_degenerate_hashes.py).
DIHEDRAL_LABELS: tuple[str, ...] = (
    "as stored",
    "rotated 90° anticlockwise",
    "rotated 180°",
    "rotated 90° clockwise",
    "flipped top to bottom",
    "mirrored left to right",
    "transposed (mirrored on the main diagonal)",
    "transversed (mirrored on the other diagonal)",
)

#: PDQ hashes of lower quality (flat or tiny pictures) are too unreliable to match on.
DEFAULT_MIN_QUALITY = 50

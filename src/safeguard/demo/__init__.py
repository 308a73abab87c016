"""A benign, reproducible demo exhibit and demo bank with a known ground truth.

Everything here is synthetic: abstract shapes, gradients and noise. Category labels attached to
these pictures are only labels.
"""

from .corpus import (
    ROLES,
    DemoCorpus,
    PlannedFile,
    generate_demo,
    write_demo_manifest,
)
from .pictures import render_picture

__all__ = [
    "ROLES",
    "DemoCorpus",
    "PlannedFile",
    "generate_demo",
    "render_picture",
    "write_demo_manifest",
]

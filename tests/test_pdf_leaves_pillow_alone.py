"""Rendering a PDF must not change how the process decodes evidence afterwards.

WeasyPrint turns on Pillow's LOAD_TRUNCATED_IMAGES when imported; a truncated evidence file
would then decode silently instead of being recorded as an error.
"""

from __future__ import annotations

import subprocess
import sys


def test_a_pdf_render_leaves_truncated_pictures_refused() -> None:
    script = """
import io
from PIL import Image, ImageFile
from safeguard.reports.pdf import html_to_pdf
assert html_to_pdf("<p>schedule</p>").startswith(b"%PDF")
assert ImageFile.LOAD_TRUNCATED_IMAGES is False
picture = io.BytesIO()
Image.effect_noise((256, 256), 60).convert("RGB").save(picture, "JPEG", quality=90)
data = picture.getvalue()[: len(picture.getvalue()) // 2]
try:
    Image.open(io.BytesIO(data)).load()
except OSError:
    print("refused")
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "refused"

"""Benign synthetic pictures: procedurally drawn scenes of gradients, shapes and soft noise.

Nothing here depicts anything: every picture is abstract geometry chosen by a seeded random
generator, so the same seed always gives the same pixels. Large shapes and gradients carry the
low-frequency structure that PDQ hashes, so pictures from different seeds hash far apart.
"""

from __future__ import annotations

import random

import numpy as np
from PIL import Image, ImageDraw

__all__ = ["render_picture"]


def _random_colour(rng: random.Random) -> tuple[int, int, int]:
    return (rng.randrange(256), rng.randrange(256), rng.randrange(256))


def _background(rng: random.Random, nrng: np.random.Generator, w: int, h: int) -> Image.Image:
    """A two- or three-stop linear gradient in a random direction plus low-frequency noise.

    Built on a coarse grid and smoothly upsampled to ``(w, h)``: it holds no fine detail anyway.
    """
    cw, ch = max(w // 8, 2), max(h // 8, 2)
    angle = rng.uniform(0.0, 2.0 * np.pi)
    xs = np.linspace(-0.5, 0.5, cw, dtype=np.float32)[None, :] * cw
    ys = np.linspace(-0.5, 0.5, ch, dtype=np.float32)[:, None] * ch
    t = xs * np.cos(angle) + ys * np.sin(angle)
    t = ((t - t.min()) / max(float(t.max() - t.min()), 1e-6))[..., None]
    stops = [np.array(_random_colour(rng), dtype=np.float32) for _ in range(rng.choice((2, 3)))]
    if len(stops) == 2:
        img = stops[0] * (1 - t) + stops[1] * t
    else:
        lo, hi = np.clip(t * 2, 0, 1), np.clip(t * 2 - 1, 0, 1)
        img = (stops[0] * (1 - lo) + stops[1] * lo) * (1 - hi) + stops[2] * hi
    # Low-frequency colour noise: a coarse random grid, smoothly upsampled.
    gw, gh = rng.randint(3, 7), rng.randint(3, 6)
    grid = nrng.integers(0, 256, size=(gh, gw, 3), dtype=np.uint8)
    blob = Image.fromarray(grid, "RGB").resize((cw, ch), Image.Resampling.BICUBIC)
    amp = rng.uniform(0.25, 0.5)
    img = img * (1 - amp) + np.asarray(blob, dtype=np.float32) * amp
    small = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")
    return small.resize((w, h), Image.Resampling.BILINEAR)


def _shape(draw: ImageDraw.ImageDraw, rng: random.Random, w: int, h: int, scale: float) -> None:
    """Draw one random ellipse, rectangle, polygon or line; ``scale`` sets its size."""
    colour = _random_colour(rng)
    cx, cy = rng.uniform(-0.1, 1.1) * w, rng.uniform(-0.1, 1.1) * h
    rx, ry = rng.uniform(0.3, 1.0) * scale * w, rng.uniform(0.3, 1.0) * scale * h
    kind = rng.random()
    if kind < 0.08:
        # A patch of parallel stripes: texture that survives PDQ's downsampling.
        step = rng.uniform(0.012, 0.03) * (w + h)
        width = max(1, int(step * rng.uniform(0.3, 0.6)))
        dx, dy = rng.uniform(-1, 1) * rx, rng.uniform(-1, 1) * ry
        for k in range(-4, 5):
            ox, oy = (
                -dy / max(abs(dx) + abs(dy), 1e-6) * step * k,
                dx / max(abs(dx) + abs(dy), 1e-6) * step * k,
            )
            draw.line(
                (cx - dx + ox, cy - dy + oy, cx + dx + ox, cy + dy + oy), fill=colour, width=width
            )
    elif kind < 0.35:
        draw.ellipse((cx - rx, cy - ry, cx + rx, cy + ry), fill=colour)
    elif kind < 0.6:
        draw.rectangle((cx - rx, cy - ry, cx + rx, cy + ry), fill=colour)
    elif kind < 0.88:
        n = rng.randint(3, 7)
        points = []
        for i in range(n):
            a = 2 * np.pi * (i + rng.uniform(-0.3, 0.3)) / n
            r = rng.uniform(0.4, 1.0)
            points.append((cx + r * rx * np.cos(a), cy + r * ry * np.sin(a)))
        draw.polygon(points, fill=colour)
    else:
        x2, y2 = rng.uniform(0, w), rng.uniform(0, h)
        draw.line((cx, cy, x2, y2), fill=colour, width=rng.randint(4, max(5, int(scale * 60))))


def render_picture(seed: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """One benign synthetic RGB picture, fully determined by ``seed`` and ``size``."""
    w, h = size
    rng = random.Random(f"safeguard-demo-picture:{seed}")
    nrng = np.random.default_rng(rng.getrandbits(64))
    # Draw at half resolution; the smooth upscale softens edges like a camera would.
    dw, dh = max(w // 2, 1), max(h // 2, 1)
    img = _background(rng, nrng, dw, dh)
    draw = ImageDraw.Draw(img)
    # Large shapes first (they dominate PDQ), then medium, then small detail.
    for scale, count in (
        (0.35, rng.randint(3, 6)),
        (0.15, rng.randint(10, 16)),
        (0.05, rng.randint(24, 40)),
    ):
        for _ in range(count):
            _shape(draw, rng, dw, dh, scale)
    img = img.resize((w, h), Image.Resampling.BICUBIC)
    # A faint grain so that the picture does not look flat; far too weak to matter to PDQ.
    grain = nrng.integers(-3, 4, size=(h, w, 1), dtype=np.int16)
    out = np.clip(np.asarray(img, dtype=np.int16) + grain, 0, 255).astype(np.uint8)
    return Image.fromarray(out, "RGB")

"""Textured low-contrast backgrounds for the `clutter` scenes, so that thresholding alone cannot find the items.

A clutter background is a grey level (30–110 of 255), plus smooth noise at three scales (random 4×4, 8×8 and
16×16 grids resized bilinearly to the canvas, about ±40 grey levels together), plus 2–5 faint fragments of
Fashion-MNIST items (a random 8–20 px rectangle of an item from the same split's pool, at 25–50 % contrast,
added). Items are then pasted over it inside their silhouettes. Every background pixel is far above the
silhouette threshold, and the fragments carry the items' own textures, so neither a threshold nor connected
components separate items from background.
"""

from __future__ import annotations

import numpy as np

from cnnkit.data.resample import resize_bilinear

BASE_LEVEL = (30.0, 110.0)
NOISE = ((4, 22.0), (8, 16.0), (16, 10.0))  # (grid side, standard deviation in grey levels)
FRAGMENTS = (2, 5)  # inclusive range of the fragment count
FRAGMENT_SIDE = (8, 20)
FRAGMENT_CONTRAST = (0.25, 0.5)


def smooth_noise(rng: np.random.Generator, size: int) -> np.ndarray:
    """float64 (size, size): the sum over NOISE of bilinearly enlarged Gaussian grids."""
    texture = np.zeros((size, size))
    for grid, std in NOISE:
        texture += resize_bilinear(rng.normal(0.0, std, (grid, grid)), (size, size))
    return texture


def add_fragments(rng: np.random.Generator, canvas: np.ndarray, items: np.ndarray) -> None:
    """Add faint rectangles cut from random items (uint8 (N, h, w)) to canvas, in place, clipped at its edges."""
    size = canvas.shape[0]
    for _ in range(int(rng.integers(FRAGMENTS[0], FRAGMENTS[1] + 1))):
        item = items[int(rng.integers(len(items)))]
        h, w = (int(v) for v in rng.integers(FRAGMENT_SIDE[0], FRAGMENT_SIDE[1] + 1, size=2))
        h, w = min(h, item.shape[0]), min(w, item.shape[1])
        top, left = int(rng.integers(0, item.shape[0] - h + 1)), int(rng.integers(0, item.shape[1] - w + 1))
        piece = item[top : top + h, left : left + w] * rng.uniform(*FRAGMENT_CONTRAST)
        y = int(rng.integers(-(h // 2), size - h // 2))  # may hang over an edge by up to half its size
        x = int(rng.integers(-(w // 2), size - w // 2))
        y0, x0 = max(y, 0), max(x, 0)
        y1, x1 = min(y + h, size), min(x + w, size)
        canvas[y0:y1, x0:x1] += piece[y0 - y : y1 - y, x0 - x : x1 - x]


def clutter_background(rng: np.random.Generator, items: np.ndarray, size: int) -> np.ndarray:
    """uint8 (size, size) textured background; fragments are cut from `items` (uint8 (N, h, w))."""
    canvas = rng.uniform(*BASE_LEVEL) + smooth_noise(rng, size)
    add_fragments(rng, canvas, items)
    return np.clip(np.rint(canvas), 0, 255).astype(np.uint8)

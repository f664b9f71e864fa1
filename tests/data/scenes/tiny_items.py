"""Tiny Fashion-MNIST look-alikes for the scene tests: 28×28 uint8 items of known shape, and IDX files of them.

Item k of class c is a filled rectangle (odd classes: an ellipse) of random size 8–24 px at a random place, with
grey levels 60–255, a hole in its middle for classes 2 and 7 (fill_holes must close it), and faint speckle
(values 1–10, below the silhouette threshold) around it, as real items have.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.data.builders import idx_bytes, write


def make_items(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 items (n, 28, 28), uint8 classes (n,))."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n).astype(np.uint8)
    items = rng.integers(0, 11, (n, 28, 28)).astype(np.uint8) * (rng.random((n, 28, 28)) < 0.2)
    yy, xx = np.mgrid[0:28, 0:28]
    for i, c in enumerate(labels):
        h, w = rng.integers(8, 25, size=2)
        top, left = rng.integers(0, 28 - h + 1), rng.integers(0, 28 - w + 1)
        inside = (yy >= top) & (yy < top + h) & (xx >= left) & (xx < left + w)
        if c % 2:
            cy, cx = top + (h - 1) / 2, left + (w - 1) / 2
            inside = ((yy - cy) / (h / 2)) ** 2 + ((xx - cx) / (w / 2)) ** 2 <= 1
        values = rng.integers(60, 256, (28, 28)).astype(np.uint8)
        items[i][inside] = values[inside]
        if c in (2, 7):  # a 2×2 hole at the centre of the shape
            cy, cx = int(top + h // 2), int(left + w // 2)
            items[i, cy - 1 : cy + 1, cx - 1 : cx + 1] = 0
    return items, labels


def write_tiny_items(folder: Path, n_train: int = 60, n_test: int = 20, seed: int = 0) -> Path:
    """train and t10k IDX files of tiny items in folder (where FashionMNIST(root=folder) finds them); not gzipped,
    since compressing the speckle of thousands of items takes seconds."""
    for prefix, n, offset in (("train", n_train, 0), ("t10k", n_test, 1)):
        items, labels = make_items(n, seed + offset)
        write(folder / f"{prefix}-images-idx3-ubyte", idx_bytes(items), gz=False)
        write(folder / f"{prefix}-labels-idx1-ubyte", idx_bytes(labels), gz=False)
    return folder

"""A tiny learnable data set in Fashion-MNIST's real file format (gzipped IDX), for trainer and CLI tests.

Class k's images carry a bright 6×6 block at a position that depends on k, plus noise, so a LeNet learns
them in a few epochs while every file is read by the same code as the real data set.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.data.builders import idx_bytes, write


def make_images(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    images = rng.integers(0, 60, (len(labels), 28, 28)).astype(np.uint8)
    for i, k in enumerate(labels):
        row, col = 3 + 6 * (k // 4), 3 + 6 * (k % 4)
        images[i, row : row + 6, col : col + 6] = 230
    return images


def write_tiny_fashion(folder: Path, n_train: int = 320, n_test: int = 100, seed: int = 0) -> Path:
    """Write train and t10k IDX files into folder (as FashionMNIST(root=folder) finds them)."""
    rng = np.random.default_rng(seed)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        labels = rng.integers(0, 10, n).astype(np.uint8)
        write(folder / f"{prefix}-images-idx3-ubyte.gz", idx_bytes(make_images(labels, rng)), gz=True)
        write(folder / f"{prefix}-labels-idx1-ubyte.gz", idx_bytes(labels), gz=True)
    return folder

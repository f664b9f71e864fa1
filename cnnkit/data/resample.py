"""Resizing arrays for the data pipeline: bilinear images through interpolation matrices, nearest-neighbour masks.

Both use half-pixel centres (PyTorch's `align_corners=False`): output pixel d of n_out reads the input position
s = (d + 0.5) · n_in / n_out − 0.5. Bilinear mixes the two inputs around s (no antialiasing when shrinking, as
`F.interpolate(mode="bilinear")`); nearest reads input floor(s + 0.5), i.e. floor((d + 0.5) · n_in / n_out), as
Pillow's NEAREST and PyTorch's "nearest-exact", so a label mask never gets a value its input did not have.
Index maps are computed in float64 from integers, so they are the same on every machine.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np


@lru_cache(maxsize=256)
def bilinear_matrix(n_in: int, n_out: int) -> np.ndarray:
    """A (n_out, n_in) float64 matrix M with resized = M @ x along one axis; each row sums to 1."""
    if n_in < 1 or n_out < 1:
        raise ValueError(f"bilinear_matrix: sizes must be positive, got {n_in} -> {n_out}")
    src = (np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5
    src = np.clip(src, 0, n_in - 1)
    low = np.floor(src).astype(np.int64)
    high = np.minimum(low + 1, n_in - 1)
    frac = src - low
    matrix = np.zeros((n_out, n_in))
    rows = np.arange(n_out)
    matrix[rows, low] += 1 - frac
    matrix[rows, high] += frac  # low == high at the clamped edge: the two weights add up to 1 there
    matrix.flags.writeable = False  # cached and shared
    return matrix


@lru_cache(maxsize=256)
def nearest_indices(n_in: int, n_out: int) -> np.ndarray:
    """The input index each of n_out outputs reads: floor((d + 0.5) · n_in / n_out), clipped to the input."""
    if n_in < 1 or n_out < 1:
        raise ValueError(f"nearest_indices: sizes must be positive, got {n_in} -> {n_out}")
    index = np.floor((np.arange(n_out) + 0.5) * (n_in / n_out)).astype(np.int64)
    index = np.minimum(index, n_in - 1)
    index.flags.writeable = False
    return index


def resize_bilinear(x: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize the last two axes of x (…, H, W) to size (h, w), bilinear; float32 out (float64 for float64 in)."""
    h, w = size
    rows, cols = bilinear_matrix(x.shape[-2], h), bilinear_matrix(x.shape[-1], w)
    dtype = np.float64 if x.dtype == np.float64 else np.float32
    out = rows.astype(dtype) @ x.astype(dtype, copy=False) @ cols.T.astype(dtype)
    return out


def resize_nearest(x: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize the last two axes of x (…, H, W) to size (h, w), nearest neighbour; keeps the dtype (masks, labels)."""
    h, w = size
    rows, cols = nearest_indices(x.shape[-2], h), nearest_indices(x.shape[-1], w)
    return x[..., rows[:, None], cols[None, :]]

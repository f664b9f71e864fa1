"""The copy check: does a generator reproduce its training images?

Each sample's Euclidean distance (pixels in [0, 1]) to its nearest training image is compared with the same
distance for real test images, which were never trained on: the threshold is the test images' 1st percentile,
so 1 % of test images fall below it by definition; a generator that copies puts many more samples there.
Distances come from ‖q − r‖² = ‖q‖² − 2q·r + ‖r‖², one matrix product per chunk of queries.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def nearest_distances(queries: np.ndarray, references: np.ndarray, chunk: int = 1000) -> np.ndarray:
    """For each query row, the Euclidean distance to its nearest reference row (flattened images, float32)."""
    q = np.asarray(queries, dtype=np.float32).reshape(len(queries), -1)
    r = np.asarray(references, dtype=np.float32).reshape(len(references), -1)
    if q.shape[1] != r.shape[1]:
        raise ValueError(f"nearest_distances: queries of {q.shape[1]} values vs references of {r.shape[1]}")
    r_norms = np.einsum("ij,ij->i", r, r)
    best = np.empty(len(q), np.float32)
    for i in range(0, len(q), chunk):
        block = q[i : i + chunk]
        squared = r_norms[None, :] - 2 * (block @ r.T)  # ‖q‖² added after the minimum: it is constant per row
        best[i : i + chunk] = squared.min(axis=1) + np.einsum("ij,ij->i", block, block)
    return np.sqrt(np.clip(best, 0.0, None))


@dataclass(frozen=True)
class CopyCheck:
    """Nearest-training-image distances of samples and test images, the threshold and the share below it."""

    threshold: float  # the test images' `percentile`-th percentile of nearest-training-image distance
    share_below: float  # the share of samples closer to a training image than the threshold
    sample_distances: np.ndarray
    test_distances: np.ndarray
    percentile: float


def copy_check(
    samples: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    percentile: float = 1.0,
    test_distances: np.ndarray | None = None,
) -> CopyCheck:
    """Compare samples' nearest-training-image distances with the test images' (computed unless given)."""
    if test_distances is None:
        test_distances = nearest_distances(test, train)
    threshold = float(np.percentile(test_distances, percentile))
    distances = nearest_distances(samples, train)
    return CopyCheck(threshold, float((distances < threshold).mean()), distances, test_distances, percentile)

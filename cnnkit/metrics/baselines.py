"""Reference image sets for judging a generator's scores: what a measure gives for things that are not it.

- real training images (n drawn without replacement): the floor a perfect generator would reach;
- per-class mean images (each class's average, repeated): right classes, no variety;
- a per-class Gaussian in the top `dims` principal components of that class's pixels: right first and
  second moments in a linear subspace, blurry and without fine structure;
- pure noise, uniform in [0, 1]: the ceiling.

Each returns (images (n, C, H, W) float32 in [0, 1], labels (n,)), classes balanced as 0, 1, …, K − 1, 0, ….
"""

from __future__ import annotations

import numpy as np


def _balanced(n: int, num_classes: int) -> np.ndarray:
    return np.arange(n, dtype=np.int64) % num_classes


def real_images(images: np.ndarray, labels: np.ndarray, n: int, rng: np.random.Generator):
    """n images drawn without replacement from a real set, with their labels."""
    if n > len(images):
        raise ValueError(f"real_images: asked for {n} images from a set of {len(images)}")
    chosen = rng.choice(len(images), n, replace=False)
    return images[chosen].astype(np.float32), np.asarray(labels)[chosen].astype(np.int64)


def class_mean_images(images: np.ndarray, labels: np.ndarray, n: int, num_classes: int):
    """Each class's mean image, repeated to n images."""
    labels = np.asarray(labels, dtype=np.int64)
    means = np.stack([images[labels == k].mean(axis=0) for k in range(num_classes)]).astype(np.float32)
    wanted = _balanced(n, num_classes)
    return means[wanted], wanted


def pca_gaussian_images(
    images: np.ndarray, labels: np.ndarray, n: int, num_classes: int, rng: np.random.Generator, dims: int = 40
):
    """Per class: mean + z·V with V the top `dims` principal directions of the class's images and z ~ N(0, the
    variances along them), clipped to [0, 1]."""
    labels = np.asarray(labels, dtype=np.int64)
    shape = images.shape[1:]
    wanted = _balanced(n, num_classes)
    out = np.empty((n, int(np.prod(shape))), np.float32)
    for k in range(num_classes):
        pixels = images[labels == k].reshape(-1, out.shape[1]).astype(np.float64)
        mean = pixels.mean(axis=0)
        _, singular, vt = np.linalg.svd(pixels - mean, full_matrices=False)
        std = singular[:dims] / np.sqrt(max(len(pixels) - 1, 1))  # the standard deviation along each direction
        where = np.flatnonzero(wanted == k)
        z = rng.standard_normal((len(where), len(std))) * std
        out[where] = mean + z @ vt[:dims]
    return np.clip(out, 0.0, 1.0).reshape(n, *shape), wanted


def noise_images(n: int, shape: tuple[int, ...], num_classes: int, rng: np.random.Generator):
    """n images of independent uniform [0, 1] pixels."""
    return rng.random((n, *shape), dtype=np.float32), _balanced(n, num_classes)

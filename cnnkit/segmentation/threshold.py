"""Grey-level thresholds for a stack of uint8 images: a fixed level, or Otsu's threshold computed per image.

Otsu (1979): split the grey levels at t into class 0 (levels ≤ t) and class 1 (levels > t); with the image's
histogram p_i (shares of the pixels at level i), ω(t) = Σ_{i≤t} p_i, μ(t) = Σ_{i≤t} i·p_i and μ_T = μ(255),
the between-class variance is σ_B²(t) = (μ_T·ω(t) − μ(t))² / (ω(t)·(1 − ω(t))), and Otsu's t maximises it
(the first such t on ties; an image of one grey level gets t = that level, so nothing is foreground). The
histograms of a whole stack come from one `np.bincount`, and every σ_B² from cumulative sums along the levels.
"""

from __future__ import annotations

import numpy as np

LEVELS = 256


def histograms(images: np.ndarray) -> np.ndarray:
    """int64 (N, 256): the grey-level histogram of each uint8 image of a stack (N, H, W)."""
    images = _uint8_stack("histograms", images)
    n = len(images)
    index = images.reshape(n, -1).astype(np.int64) + (np.arange(n) * LEVELS)[:, None]
    return np.bincount(index.ravel(), minlength=n * LEVELS).reshape(n, LEVELS)


def otsu_thresholds(images: np.ndarray) -> np.ndarray:
    """int64 (N,): Otsu's threshold t of each uint8 image (N, H, W); its foreground is `image > t`."""
    counts = histograms(images).astype(np.float64)
    p = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    omega = np.cumsum(p, axis=1)
    mu = np.cumsum(p * np.arange(LEVELS), axis=1)
    mu_total = mu[:, -1:]
    with np.errstate(invalid="ignore", divide="ignore"):
        between = (mu_total * omega - mu) ** 2 / (omega * (1 - omega))
    between[~np.isfinite(between)] = -1.0  # t with an empty class: never chosen over a real split
    single = (counts > 0).sum(axis=1) <= 1
    thresholds = between.argmax(axis=1)
    thresholds[single] = counts[single].argmax(axis=1)  # one grey level: nothing above it
    return thresholds.astype(np.int64)


def foreground(images: np.ndarray, threshold: str | int = "otsu") -> np.ndarray:
    """bool (N, H, W): pixels above the threshold, "otsu" (per image) or a grey level 0–255 (the same for all)."""
    images = _uint8_stack("foreground", images)
    if isinstance(threshold, str):
        if threshold != "otsu":
            raise ValueError(f"threshold: expected 'otsu' or a grey level 0-255, got {threshold!r}")
        return images > otsu_thresholds(images)[:, None, None]
    if isinstance(threshold, bool) or not isinstance(threshold, int | np.integer) or not 0 <= threshold <= 255:
        raise ValueError(f"threshold: expected 'otsu' or a grey level 0-255, got {threshold!r}")
    return images > threshold


def parse_threshold(text: str) -> str | int:
    """'otsu' or a grey level from the command line's --threshold."""
    if text == "otsu":
        return text
    try:
        level = int(text)
    except ValueError:
        raise ValueError(f"--threshold: expected 'otsu' or a grey level 0-255, got {text!r}") from None
    if not 0 <= level <= 255:
        raise ValueError(f"--threshold: expected 'otsu' or a grey level 0-255, got {level}")
    return level


def _uint8_stack(op: str, images: np.ndarray) -> np.ndarray:
    images = np.asarray(images)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise ValueError(f"{op}: expected uint8 images (N, H, W), got {images.dtype} of shape {images.shape}")
    return images

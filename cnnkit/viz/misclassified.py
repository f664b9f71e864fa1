"""The most confidently misclassified images: wrong predictions sorted by the probability the model gave them.

These are the mistakes the model is surest of: often label noise or genuinely ambiguous images.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cnnkit.viz.figure import for_display, save_figure, show_image, suptitle, tile_figure

TILE = 1.4  # inches per image


def most_confident_mistakes(probabilities: Any, targets: Any, k: int = 16) -> np.ndarray:
    """Indices of up to k wrongly predicted samples, the highest predicted probability first."""
    probabilities, targets = np.asarray(probabilities), np.asarray(targets)
    if probabilities.ndim != 2 or len(probabilities) != len(targets):
        raise ValueError(
            f"most_confident_mistakes: expected probabilities (N, classes) and targets (N,), got "
            f"shapes {probabilities.shape} and {targets.shape}"
        )
    predicted = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predicted != targets)
    confidence = probabilities[wrong, predicted[wrong]]
    return wrong[np.argsort(-confidence, kind="stable")[:k]]


def plot_misclassified(
    images: Any, targets: Any, probabilities: Any, classes: Sequence[str], path: str | os.PathLike, title: str = ""
) -> Path:
    """Draw (N, C, H, W) images titled 'true → predicted (probability)'; returns the PNG's path.

    Images within [0, 1] (stored pixels) are drawn as they are, others scaled by their own range.
    """
    images, targets, probabilities = np.asarray(images), np.asarray(targets), np.asarray(probabilities)
    if len(images) == 0:
        raise ValueError("plot_misclassified: no images to draw (the model made no mistakes?)")
    if not len(images) == len(targets) == len(probabilities):
        raise ValueError(
            f"plot_misclassified: {len(images)} images, {len(targets)} targets and "
            f"{len(probabilities)} probability rows; expected the same number"
        )
    fig, axes = tile_figure(len(images), TILE, max_cols=6, label=0.35, min_width=3.6)
    for ax, image, true, probs in zip(axes, images, targets, probabilities, strict=True):
        show_image(ax, for_display(image, keep_unit=True))
        predicted = int(np.argmax(probs))
        ax.set_title(
            f"{classes[int(true)][:11]}\n→ {classes[predicted][:11]} ({probs[predicted]:.2f})", fontsize=7, pad=2
        )
    suptitle(fig, title or "most confident mistakes: true → predicted (probability)")
    return save_figure(fig, path)

"""The confusion matrix as a heat map: rows true classes, columns predictions, each cell its count.

Colour is the row's share (the recall of the true class on the diagonal), so rare and common classes read
alike; the number in the cell is the raw count.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cnnkit.viz.figure import new_figure, save_figure


def plot_confusion_matrix(confusion: Any, classes: Sequence[str], path: str | os.PathLike, title: str = "") -> Path:
    """Draw a (K, K) count matrix (rows true, columns predicted) with class names; returns the PNG's path."""
    counts = np.asarray(confusion)
    k = len(classes)
    if counts.shape != (k, k):
        raise ValueError(f"plot_confusion_matrix: expected a {k}×{k} matrix for {k} classes, got shape {counts.shape}")
    rows = counts.sum(axis=1, keepdims=True)
    share = counts / np.where(rows > 0, rows, 1)
    size = max(4.0, 0.55 * k + 2.0)
    fig = new_figure(size + 0.8, size)
    ax = fig.subplots()
    image = ax.imshow(share, cmap="Blues", vmin=0.0, vmax=1.0)
    for (i, j), count in np.ndenumerate(counts):
        if count:
            ax.text(
                j,
                i,
                str(int(count)),
                ha="center",
                va="center",
                fontsize=7,
                color="white" if share[i, j] > 0.5 else "black",
            )
    short = [name[:12] for name in classes]
    ax.set_xticks(range(k), short, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(k), short, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    fig.colorbar(image, ax=ax, shrink=0.8, label="share of the true class")
    total = counts.sum()
    accuracy = np.trace(counts) / total if total else 0.0
    ax.set_title(title or f"confusion matrix ({int(total)} images, accuracy {accuracy:.4f})", fontsize=10)
    return save_figure(fig, path)

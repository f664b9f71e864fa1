"""Shift invariance, measured: accuracy of a model on test images moved by 0, 1, 2, … pixels, and its plot.

An image shifted by s pixels is moved s pixels in each of the four directions (right, left, down, up) in turn,
with the uncovered border filled with 0 (the background of stored digit and clothing images; the shift happens
before normalisation). The accuracy at shift s is the mean over the four directions.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

import cnnkit
from cnnkit import nn
from cnnkit.data.transforms import translate_batch
from cnnkit.viz.figure import new_figure, save_figure
from cnnkit.viz.hooks import as_batch, evaluating

DIRECTIONS = ((0, 1), (0, -1), (1, 0), (-1, 0))  # (dy, dx) per unit of shift: right, left, down, up


def shift_images(images: Any, dy: int, dx: int, fill: float = 0.0) -> np.ndarray:
    """(N, C, H, W) images moved dy pixels down and dx right (negative: up/left), `fill` where uncovered."""
    batch = as_batch(images, "shift_images")
    n = len(batch)
    return translate_batch(batch, np.full(n, dy, np.int64), np.full(n, dx, np.int64), fill)


def accuracy_under_shift(
    model: nn.Module,
    images: Any,
    labels: Any,
    shifts: Sequence[int] = range(7),
    transform: Callable | None = None,
    batch_size: int = 1000,
) -> np.ndarray:
    """Accuracy at each shift (mean over the four directions) of images (N, C, H, W) in stored pixel scale.

    `transform` (e.g. Normalize) is applied after shifting, as in training.
    """
    batch, labels = as_batch(images, "accuracy_under_shift"), np.asarray(labels)
    if len(batch) != len(labels):
        raise ValueError(f"accuracy_under_shift: {len(batch)} images but {len(labels)} labels")
    result = []
    for shift in shifts:
        directions = DIRECTIONS if shift else ((0, 0),)
        correct = sum(
            _correct(model, shift_images(batch, dy * shift, dx * shift), labels, transform, batch_size)
            for dy, dx in directions
        )
        result.append(correct / (len(labels) * len(directions)))
    return np.asarray(result, dtype=np.float64)


def _correct(
    model: nn.Module, images: np.ndarray, labels: np.ndarray, transform: Callable | None, batch_size: int
) -> int:
    right = 0
    with evaluating(model):
        for start in range(0, len(images), batch_size):
            chunk = images[start : start + batch_size]
            chunk = transform(chunk) if transform is not None else chunk
            logits = model(cnnkit.tensor(np.asarray(chunk, dtype=np.float32)))._data
            right += int((logits.argmax(axis=1) == labels[start : start + batch_size]).sum())
    return right


def plot_shift_accuracy(
    shifts: Sequence[int], accuracies: Mapping[str, Sequence[float]], path: str | os.PathLike, title: str = ""
) -> Path:
    """One line of accuracy against shift per model (the legend gives its name); returns the PNG's path."""
    if not accuracies:
        raise ValueError("plot_shift_accuracy: no models to plot")
    shifts = list(shifts)
    fig = new_figure(5.5, 3.6)
    ax = fig.subplots()
    for (name, values), marker in zip(accuracies.items(), "os^vD*", strict=False):
        if len(values) != len(shifts):
            raise ValueError(f"plot_shift_accuracy: {name!r} has {len(values)} accuracies for {len(shifts)} shifts")
        ax.plot(shifts, values, marker=marker, label=name)
    ax.set_xticks(shifts)
    ax.set_xlabel("shift (pixels, mean over right, left, down, up)")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0.0, 1.0)
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title(title or "accuracy on shifted test images", fontsize=10)
    return save_figure(fig, path)

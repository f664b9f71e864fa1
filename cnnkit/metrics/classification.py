"""Classification metrics: accuracy, the confusion matrix and per-class accuracy (recall)."""

from __future__ import annotations

import numpy as np


def accuracy(predictions: np.ndarray, targets: np.ndarray) -> float:
    """Share of predictions equal to their target."""
    predictions, targets = np.asarray(predictions), np.asarray(targets)
    if predictions.shape != targets.shape:
        raise ValueError(f"accuracy: predictions of shape {predictions.shape} vs targets of shape {targets.shape}")
    return float((predictions == targets).mean()) if targets.size else 0.0


def confusion_matrix(predictions: np.ndarray, targets: np.ndarray, num_classes: int) -> np.ndarray:
    """C[i, j] = number of samples of true class i predicted as class j (one bincount, no loop)."""
    predictions, targets = np.asarray(predictions, dtype=np.int64), np.asarray(targets, dtype=np.int64)
    if predictions.shape != targets.shape:
        raise ValueError(f"confusion_matrix: predictions {predictions.shape} vs targets {targets.shape}")
    for name, values in (("predictions", predictions), ("targets", targets)):
        if values.size and (values.min() < 0 or values.max() >= num_classes):
            raise ValueError(f"confusion_matrix: {name} must lie in [0, {num_classes}), got "
                             f"[{values.min()}, {values.max()}]")
    flat = targets.ravel() * num_classes + predictions.ravel()
    return np.bincount(flat, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def per_class_accuracy(confusion: np.ndarray) -> np.ndarray:
    """Recall per true class: the diagonal over each row's total (NaN for a class with no samples)."""
    totals = confusion.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, np.diag(confusion) / np.maximum(totals, 1), np.nan)

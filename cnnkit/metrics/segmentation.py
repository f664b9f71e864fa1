"""Semantic-segmentation metrics from one confusion matrix accumulated over a whole dataset.

`SegmentationConfusion(num_classes, ignore_index=255)` counts n_ij = pixels of ground-truth class i predicted
as class j (one `np.bincount` per batch), skipping pixels whose ground truth is `ignore_index`. With
t_i = Σ_j n_ij (ground-truth pixels of class i) and s_j = Σ_i n_ij (pixels predicted as j), as in Long et al.
2015 (FCN) and the VOC devkit:

    pixel accuracy          Σ_i n_ii / Σ_i t_i
    class accuracy          n_ii / t_i                      (NaN for a class with no ground-truth pixel)
    IoU                     n_ii / (t_i + s_i − n_ii)       (NaN for a class absent from truth and prediction)
    mean IoU                the mean of the IoUs that are not NaN
    frequency-weighted IoU  Σ_i t_i·IoU_i / Σ_i t_i

A class absent from both truth and prediction is left out of the mean (counting it as 1 or 0 would move the
mean for no reason); a class only predicted has IoU 0 and counts. Averaging per-image IoUs gives a different,
noisier number: accumulate the whole dataset first.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


class SegmentationConfusion:
    """The confusion matrix n_ij (ground truth i, prediction j) of a dataset's pixels, and the metrics from it."""

    def __init__(self, num_classes: int, ignore_index: int = 255) -> None:
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"SegmentationConfusion: expected num_classes to be a positive int, got {num_classes!r}")
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.matrix = np.zeros((num_classes, num_classes), dtype=np.int64)

    def reset(self) -> None:
        self.matrix[...] = 0

    @property
    def total(self) -> int:
        """Pixels counted so far (ignored ones excluded)."""
        return int(self.matrix.sum())

    def update(self, prediction: Any, target: Any) -> None:
        """Add a batch: prediction holds class ids of the target's shape, or scores with the classes on dim 1
        ((N, C, H, W) for an (N, H, W) target, reduced by argmax); tensors or arrays."""
        target = np.asarray(target)
        prediction = self._class_ids(np.asarray(prediction), target.shape)
        valid = target != self.ignore_index
        truth = target[valid].astype(np.int64, copy=False)
        predicted = prediction[valid].astype(np.int64, copy=False)
        self._check_range("target", truth, f" (or the ignore index {self.ignore_index})")
        self._check_range("prediction", predicted, "")
        counts = np.bincount(truth * self.num_classes + predicted, minlength=self.num_classes**2)
        self.matrix += counts.reshape(self.num_classes, self.num_classes)

    def _class_ids(self, prediction: np.ndarray, target_shape: tuple[int, ...]) -> np.ndarray:
        scores_shape = target_shape[:1] + (self.num_classes,) + target_shape[1:]
        if prediction.shape == scores_shape and prediction.shape != target_shape:
            return prediction.argmax(axis=1)
        if prediction.shape != target_shape:
            raise ValueError(
                f"SegmentationConfusion: expected a prediction of class ids of the target's shape "
                f"{target_shape} or scores of shape {scores_shape}, got {prediction.shape}"
            )
        if prediction.dtype.kind not in "iub":
            raise ValueError(
                f"SegmentationConfusion: expected integer class ids, got a {prediction.dtype} prediction "
                f"of the target's shape (pass scores with the classes on dim 1, or their argmax)"
            )
        return prediction

    def _check_range(self, name: str, values: np.ndarray, also: str) -> None:
        if values.size and (values.min() < 0 or values.max() >= self.num_classes):
            bad = values[(values < 0) | (values >= self.num_classes)][0]
            raise ValueError(f"SegmentationConfusion: {name} holds class {bad}, outside [0, {self.num_classes}){also}")

    # ------------------------------------------------------------------------------------------ metrics
    def pixel_accuracy(self) -> float:
        """Σ n_ii / Σ n_ij: the share of counted pixels classified correctly (NaN before any pixel)."""
        total = self.total
        return float(np.trace(self.matrix) / total) if total else float("nan")

    def class_accuracy(self) -> np.ndarray:
        """Per class n_ii / t_i (recall); NaN for a class with no ground-truth pixel."""
        truth = self.matrix.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(truth > 0, np.diag(self.matrix) / np.maximum(truth, 1), np.nan)

    def mean_class_accuracy(self) -> float:
        return _nanmean(self.class_accuracy())

    def iou(self) -> np.ndarray:
        """Per class n_ii / (t_i + s_i − n_ii); NaN for a class absent from both truth and prediction."""
        hits = np.diag(self.matrix)
        union = self.matrix.sum(axis=1) + self.matrix.sum(axis=0) - hits
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(union > 0, hits / np.maximum(union, 1), np.nan)

    def mean_iou(self) -> float:
        """The mean of the per-class IoUs, leaving out classes absent from truth and prediction (NaN if all are)."""
        return _nanmean(self.iou())

    def frequency_weighted_iou(self) -> float:
        """Σ t_i·IoU_i / Σ t_i: each class's IoU weighted by its share of the ground-truth pixels."""
        truth = self.matrix.sum(axis=1)
        if not truth.sum():
            return float("nan")
        return float(np.nansum(truth * self.iou()) / truth.sum())

    # ------------------------------------------------------------------------------------------ reports
    def to_dict(self, class_names: Sequence[str] | None = None) -> dict[str, Any]:
        """The metrics as plain JSON-ready values (NaN becomes None), per-class ones keyed by class name."""
        names = self._names(class_names)
        return {
            "pixel_accuracy": _json_float(self.pixel_accuracy()),
            "mean_class_accuracy": _json_float(self.mean_class_accuracy()),
            "mean_iou": _json_float(self.mean_iou()),
            "frequency_weighted_iou": _json_float(self.frequency_weighted_iou()),
            "iou": {n: _json_float(v) for n, v in zip(names, self.iou(), strict=True)},
            "class_accuracy": {n: _json_float(v) for n, v in zip(names, self.class_accuracy(), strict=True)},
            "pixels": self.total,
        }

    def format_table(self, class_names: Sequence[str] | None = None) -> str:
        """Per class: IoU, accuracy, ground-truth and predicted pixels; then the dataset-wide metrics.

        A class absent from truth and prediction shows "—" (it is not in the mean).
        """
        names = self._names(class_names)
        width = max([5] + [len(n) for n in names]) + 2
        truth, predicted = self.matrix.sum(axis=1), self.matrix.sum(axis=0)
        lines = [f"{'class':<{width}}{'IoU':>8}{'accuracy':>10}{'pixels':>13}{'predicted':>13}"]
        for name, iou, acc, t, s in zip(names, self.iou(), self.class_accuracy(), truth, predicted, strict=True):
            lines.append(f"{name:<{width}}{_cell(iou):>8}{_cell(acc):>10}{t:>13,}{s:>13,}")
        scored = int(np.count_nonzero(~np.isnan(self.iou())))
        lines += [
            "",
            f"pixel accuracy          {_cell(self.pixel_accuracy())}",
            f"mean class accuracy     {_cell(self.mean_class_accuracy())}",
            f"mean IoU                {_cell(self.mean_iou())}  (over {scored} of {self.num_classes} classes)",
            f"frequency-weighted IoU  {_cell(self.frequency_weighted_iou())}",
        ]
        return "\n".join(lines)

    def _names(self, class_names: Sequence[str] | None) -> list[str]:
        if class_names is None:
            return [str(i) for i in range(self.num_classes)]
        names = [str(n) for n in class_names]
        if len(names) != self.num_classes:
            raise ValueError(f"SegmentationConfusion: expected {self.num_classes} class names, got {len(names)}")
        return names


def _nanmean(values: np.ndarray) -> float:
    """The mean of the non-NaN values, NaN (without a warning) when there are none."""
    kept = values[~np.isnan(values)]
    return float(kept.mean()) if kept.size else float("nan")


def _cell(value: float) -> str:
    return "—" if np.isnan(value) else f"{value:.4f}"


def _json_float(value: float) -> float | None:
    return None if np.isnan(value) else float(value)

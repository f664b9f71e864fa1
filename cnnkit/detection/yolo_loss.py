"""The YOLO v1 loss (Redmon et al. 2016, eq. 3): sums of squares over the grid, written with cnnkit's ops.

For predictions P (N, S, S, B·5 + C) and targets T (N, S, S, 5 + C) (`cnnkit.detection.yolo.encode_targets`):

    λ_coord Σ 1obj_ij [(x − x̂)² + (y − ŷ)² + (√w − √ŵ)² + (√h − √ĥ)²]
  + Σ 1obj_ij (C_ij − IoU_ij)² + λ_noobj Σ 1noobj_ij C_ij² + Σ_i 1obj_i Σ_c (p_i(c) − p̂_i(c))²

summed over cells i and predictors j, divided by N (a mean over images). 1obj_ij marks the predictor j of a
cell holding an object that is responsible for it — the one whose current box has the highest IoU with the
object (the first on ties); 1noobj_ij = 1 − 1obj_ij (empty cells, and the other predictors of full ones).
The confidence target is that IoU, computed from the predictions but held constant (no gradient flows
through it). λ_coord = 5 and λ_noobj = 0.5 are the paper's.

The choice of the responsible predictor and the IoU targets are made in NumPy; the loss itself is one
weighted sum of squares Σ W ⊙ (P − T')² of cnnkit tensors, so its gradient 2 W ⊙ (P − T') / N is autograd's.
"""

from __future__ import annotations

import numpy as np

from cnnkit import nn
from cnnkit.detection.yolo import prediction_boxes
from cnnkit.tensor import Tensor


def pairwise_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of boxes a and b (…, 4) xyxy, element by element (broadcast), 0 where the union is empty."""
    w = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    h = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = w * h
    union = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1]) + (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    union = union - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def responsibility(
    predictions: np.ndarray, targets: np.ndarray, boxes_per_cell: int, image_size: int
) -> tuple[np.ndarray, np.ndarray]:
    """(responsible (N, S, S, B) bool, iou (N, S, S, B)): which predictor answers for each object, and the IoUs."""
    predicted = prediction_boxes(predictions, boxes_per_cell, image_size)  # (N, S, S, B, 4)
    truth = prediction_boxes(targets, 1, image_size)  # (N, S, S, 1, 4)
    iou = pairwise_iou(predicted, truth)
    best = iou.argmax(axis=-1)  # the first predictor on ties (e.g. all IoUs 0)
    has_object = targets[..., 4] > 0
    responsible = (np.arange(boxes_per_cell) == best[..., None]) & has_object[..., None]
    return responsible, iou


class YOLOLoss(nn.Module):
    """YOLO v1's loss for predictions (N, S, S, B·5 + C) and targets (N, S, S, 5 + C); a mean over images."""

    def __init__(
        self, boxes_per_cell: int = 2, lambda_coord: float = 5.0, lambda_noobj: float = 0.5, image_size: int = 64
    ) -> None:
        super().__init__()
        self.boxes_per_cell, self.image_size = boxes_per_cell, image_size
        self.lambda_coord, self.lambda_noobj = lambda_coord, lambda_noobj

    def forward(self, predictions: Tensor, targets: Tensor) -> Tensor:
        target, weight = self.regression_targets(predictions._data, np.asarray(targets._data))
        dtype = predictions.dtype
        diff = predictions - Tensor(target.astype(dtype))
        return (diff * diff * Tensor(weight.astype(dtype))).sum() / predictions.shape[0]

    def regression_targets(self, predictions: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(T', W) of the prediction's shape such that the loss is Σ W ⊙ (P − T')² / N."""
        b = self.boxes_per_cell
        self._check(predictions, targets)
        responsible, iou = responsibility(predictions, targets, b, self.image_size)
        n, s = predictions.shape[:2]
        box_target = np.zeros((n, s, s, b, 5))
        box_weight = np.zeros((n, s, s, b, 5))
        box_target[..., :4] = targets[..., None, :4]  # the object's x, y, √w, √h for every predictor
        box_weight[..., :4] = self.lambda_coord * responsible[..., None]
        box_target[..., 4] = np.where(responsible, iou, 0.0)  # confidence → IoU (constant) or → 0
        box_weight[..., 4] = np.where(responsible, 1.0, self.lambda_noobj)
        has_object = targets[..., 4:5] > 0
        target = np.concatenate([box_target.reshape(n, s, s, 5 * b), targets[..., 5:]], axis=-1)
        weight = np.concatenate(
            [box_weight.reshape(n, s, s, 5 * b), np.broadcast_to(has_object, targets[..., 5:].shape)], axis=-1
        )
        return target, weight

    def _check(self, predictions: np.ndarray, targets: np.ndarray) -> None:
        b = self.boxes_per_cell
        if (
            predictions.ndim != 4
            or targets.ndim != 4
            or predictions.shape[:3] != targets.shape[:3]
            or predictions.shape[3] - 5 * b != targets.shape[3] - 5
            or targets.shape[3] <= 5
        ):
            raise ValueError(
                f"YOLOLoss: expected predictions (N, S, S, {b}·5 + C) and targets (N, S, S, 5 + C) "
                f"of the same N, S and C, got {predictions.shape} and {targets.shape}"
            )

    def extra_repr(self) -> str:
        return (
            f"boxes_per_cell={self.boxes_per_cell}, lambda_coord={self.lambda_coord}, lambda_noobj={self.lambda_noobj}"
        )

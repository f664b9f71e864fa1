"""The YOLO v1 loss against the same loss written here in PyTorch, cell by cell: value and every gradient;
and hand-made cases for the responsible predictor and the IoU confidence target."""

from __future__ import annotations

import numpy as np
import pytest

import cnnkit
from cnnkit.detection.yolo import encode_targets
from cnnkit.detection.yolo_loss import YOLOLoss, pairwise_iou
from tests.gradcheck import requires_torch

B, C, S, SIZE = 2, 3, 4, 64


def torch_yolo_loss(pred, target, b: int, size: int, lambda_coord: float = 5.0, lambda_noobj: float = 0.5):
    """YOLO v1's loss in PyTorch, one cell at a time, read from the paper's equation (3)."""
    import torch

    n, s = pred.shape[:2]
    cell = size / s
    total = pred.new_zeros(())
    for i in range(n):
        for r in range(s):
            for c in range(s):
                p, t = pred[i, r, c], target[i, r, c]
                if t[4] == 0:  # no object: every predictor's confidence → 0
                    for j in range(b):
                        total = total + lambda_noobj * p[5 * j + 4] ** 2
                    continue
                gt = torch.stack(
                    [
                        (c + t[0]) * cell - t[2] ** 2 * size / 2,
                        (r + t[1]) * cell - t[3] ** 2 * size / 2,
                        (c + t[0]) * cell + t[2] ** 2 * size / 2,
                        (r + t[1]) * cell + t[3] ** 2 * size / 2,
                    ]
                )
                ious = []
                for j in range(b):
                    q = p[5 * j : 5 * j + 5].detach()
                    box = torch.stack(
                        [
                            (c + q[0]) * cell - q[2] ** 2 * size / 2,
                            (r + q[1]) * cell - q[3] ** 2 * size / 2,
                            (c + q[0]) * cell + q[2] ** 2 * size / 2,
                            (r + q[1]) * cell + q[3] ** 2 * size / 2,
                        ]
                    )
                    w = (torch.minimum(box[2], gt[2]) - torch.maximum(box[0], gt[0])).clamp(min=0)
                    h = (torch.minimum(box[3], gt[3]) - torch.maximum(box[1], gt[1])).clamp(min=0)
                    union = (box[2] - box[0]) * (box[3] - box[1]) + (gt[2] - gt[0]) * (gt[3] - gt[1]) - w * h
                    ious.append(w * h / union)
                best = max(range(b), key=lambda j: (float(ious[j]), -j))  # highest IoU, first on ties
                for j in range(b):
                    if j == best:
                        total = total + lambda_coord * ((p[5 * j : 5 * j + 4] - t[:4]) ** 2).sum()
                        total = total + (p[5 * j + 4] - ious[j].detach()) ** 2
                    else:
                        total = total + lambda_noobj * p[5 * j + 4] ** 2
                total = total + ((p[5 * b :] - t[5:]) ** 2).sum()
    return total / n


def random_case(seed: int, n: int = 3):
    rng = np.random.default_rng(seed)
    boxes, labels = [], []
    for _ in range(n):
        k = rng.integers(0, 5)
        xy = rng.uniform(0, 44, (k, 2))
        wh = rng.uniform(4, 20, (k, 2))
        boxes.append(np.concatenate([xy, xy + wh], axis=1).astype(np.float32))
        labels.append(rng.integers(1, C + 1, k))
    targets, _ = encode_targets(boxes, labels, C, S, SIZE)
    predictions = rng.uniform(0.05, 0.95, (n, S, S, 5 * B + C)).astype(np.float32)
    # put some predictions near their objects so that IoUs are not all 0 and both predictors get chosen
    near = targets[..., 4] > 0
    predictions[..., :4][near] = np.clip(targets[..., :4][near] + rng.normal(0, 0.05, (near.sum(), 4)), 0.01, 0.99)
    return predictions, targets


@requires_torch
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_loss_and_its_gradient_match_the_loss_written_in_pytorch(seed: int) -> None:
    import torch

    predictions, targets = random_case(seed)
    assert (targets[..., 4] > 0).sum() >= 2  # the case has objects
    x = cnnkit.tensor(predictions, requires_grad=True)
    loss = YOLOLoss(boxes_per_cell=B, image_size=SIZE)(x, cnnkit.tensor(targets))
    loss.backward()
    tx = torch.tensor(predictions, requires_grad=True)
    expected = torch_yolo_loss(tx, torch.tensor(targets), B, SIZE)
    expected.backward()
    assert loss.dtype == np.float32
    np.testing.assert_allclose(loss.item(), expected.item(), rtol=1e-5)
    np.testing.assert_allclose(x.grad._data, tx.grad.numpy(), rtol=1e-4, atol=1e-6)


def _one_object_case():
    """One object in cell (1, 2) of a 4×4 grid; predictor 1 lies on it, predictor 0 far away."""
    boxes, labels = [np.array([[36.0, 20.0, 44.0, 28.0]], np.float32)], [np.array([2])]
    targets, _ = encode_targets(boxes, labels, C, S, SIZE)
    predictions = np.full((1, S, S, 5 * B + C), 0.5, np.float32)
    predictions[0, 1, 2, 0:4] = [0.1, 0.1, 0.1, 0.1]  # a 0.64-px box at the cell's corner: IoU 0
    predictions[0, 1, 2, 5:9] = targets[0, 1, 2, :4]  # exactly the object: IoU 1
    return predictions, targets


def test_the_predictor_with_the_higher_iou_is_responsible_and_its_confidence_target_is_that_iou() -> None:
    predictions, targets = _one_object_case()
    target, weight = YOLOLoss(boxes_per_cell=B, image_size=SIZE).regression_targets(predictions, targets)
    cell_t, cell_w = target[0, 1, 2], weight[0, 1, 2]
    np.testing.assert_allclose(cell_w[:5], [0, 0, 0, 0, 0.5])  # predictor 0: confidence → 0 at λ_noobj
    np.testing.assert_allclose(cell_w[5:10], [5, 5, 5, 5, 1])  # predictor 1: λ_coord, confidence → IoU
    np.testing.assert_allclose(cell_t[9], 1.0, atol=1e-6)  # its IoU with the object
    np.testing.assert_allclose(cell_t[10:], [0, 1, 0])  # class 2 of 3, one-hot
    np.testing.assert_allclose(cell_w[10:], 1)
    empty_t, empty_w = target[0, 0, 0], weight[0, 0, 0]
    np.testing.assert_allclose(empty_w, [0, 0, 0, 0, 0.5, 0, 0, 0, 0, 0.5, 0, 0, 0])  # only λ_noobj · C²
    np.testing.assert_allclose(empty_t, 0)


def test_loss_of_a_hand_made_case() -> None:
    predictions, targets = _one_object_case()
    loss = YOLOLoss(boxes_per_cell=B, image_size=SIZE)(cnnkit.tensor(predictions), cnnkit.tensor(targets)).item()
    # 15 empty cells × 2 predictors × 0.5 · 0.5², predictor 0 of the full cell 0.5 · 0.5², predictor 1 (1 − 0.5)²,
    # classes (0.5² + 0.5² + 0.5²)
    expected = 15 * 2 * 0.5 * 0.25 + 0.5 * 0.25 + 0.25 + 3 * 0.25
    np.testing.assert_allclose(loss, expected, rtol=1e-6)


def test_pairwise_iou_by_hand() -> None:
    a = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 0, 0]], np.float64)
    b = np.array([[5, 0, 15, 10], [20, 20, 30, 30], [0, 0, 0, 0]], np.float64)
    np.testing.assert_allclose(pairwise_iou(a, b), [50 / 150, 0, 0])


def test_mismatched_shapes_are_refused_naming_both() -> None:
    with pytest.raises(ValueError, match=r"\(2, 4, 4, 13\).*\(2, 4, 4, 9\)"):
        YOLOLoss(boxes_per_cell=B)(cnnkit.zeros(2, 4, 4, 13), cnnkit.zeros(2, 4, 4, 9))

"""Training data and loss of propose-then-classify: crops labelled by R-CNN's IoU rules.

A proposal whose best IoU with a true box is ≥ 0.5 is a positive labelled with that box's class (1…C); one whose
best IoU is < 0.3 is background (0); those in between are not used (R-CNN: fine-tuning positives at ≥ 0.5, the
classifiers' negatives below 0.3). Fast R-CNN's rule is an option (`background_iou=0.5`, with a share of the
backgrounds drawn from the near misses at IoU ≥ 0.1): measured on the scenes, a fifth of the R-CNN-rule model's
detections scoring ≥ 0.9 are windows at IoU 0.3–0.5, which training never showed its classifier.

Per scene the candidates are the model's proposals, the true boxes and jittered copies of them (R-CNN also trains
on the ground truth); `positives` positives and `negatives` backgrounds are drawn (with replacement when there
are fewer). R-CNN's batches hold 1 positive for 3 backgrounds (32 + 96); here half are positives: with a quarter,
the LeNet-sized classifier predicted background for everything for its first ~400 steps on the scenes, and with
half it learns the classes from the first epoch.

Targets are float32 (M, 5): [label, tx, ty, tw, th] with the offsets (`box_coder`) from the crop's box to its
matched true box (zeros for background); without box regression (M, 1): [label]. The loss is cross-entropy over
the C + 1 classes plus, with box regression, torchvision's Fast R-CNN box loss: smooth L1 (β = 1/9) over the
positives' offsets, summed and divided by the number of crops.
"""

from __future__ import annotations

import numpy as np

import cnnkit.nn.functional as F
from cnnkit import nn
from cnnkit.detection.box_coder import encode_offsets
from cnnkit.detection.crops import crop_and_resize
from cnnkit.tensor import Tensor

POSITIVE_IOU, NEGATIVE_IOU = 0.5, 0.3
NEAR_MISS_IOU = 0.1  # Fast R-CNN draws its backgrounds from [0.1, 0.5): windows that touch an object
IGNORED = -1


def best_overlap(proposals: np.ndarray, gt_boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(index of each proposal's best-overlapping true box (k,), that IoU (k,); 0 for both without true boxes)."""
    from cnnkit.detection.boxes import box_iou

    if len(gt_boxes) == 0:
        return np.zeros(len(proposals), np.int64), np.zeros(len(proposals))
    iou = np.nan_to_num(box_iou(proposals, gt_boxes))  # (k, m); a degenerate pair counts as no overlap
    return iou.argmax(axis=1), iou.max(axis=1)


def label_proposals(
    proposals: np.ndarray, gt_boxes: np.ndarray, gt_labels: np.ndarray, background_iou: float = NEGATIVE_IOU
) -> tuple[np.ndarray, ...]:
    """(labels int64 (k,): the matched class at IoU ≥ 0.5, 0 below background_iou, −1 between; matched box (k,)).

    background_iou = 0.3 is R-CNN's rule; 0.5 is Fast R-CNN's, which leaves no proposal unused.
    """
    match, best = best_overlap(proposals, gt_boxes)
    return overlap_labels(match, best, gt_labels, background_iou), match


def overlap_labels(match: np.ndarray, best: np.ndarray, gt_labels: np.ndarray, background_iou: float) -> np.ndarray:
    """The labels of `label_proposals` from each proposal's best true box and IoU (background without true boxes)."""
    if len(gt_labels) == 0:
        return np.zeros(len(match), np.int64)
    labels = np.where(best >= POSITIVE_IOU, np.asarray(gt_labels, np.int64)[match], IGNORED)
    labels[best < background_iou] = 0
    return labels.astype(np.int64)


def jitter_boxes(
    boxes: np.ndarray, rng: np.random.Generator, copies: int, image_size: int, spread: float = 0.1
) -> np.ndarray:
    """float32 (copies·m, 4): each box moved by N(0, spread·size) and rescaled by exp(N(0, spread)), clipped."""
    boxes = np.repeat(np.asarray(boxes, np.float64).reshape(-1, 4), copies, axis=0)
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    noise = rng.standard_normal((len(boxes), 4)) * spread
    cx, cy = (boxes[:, 0] + boxes[:, 2]) / 2 + noise[:, 0] * w, (boxes[:, 1] + boxes[:, 3]) / 2 + noise[:, 1] * h
    w, h = w * np.exp(noise[:, 2]), h * np.exp(noise[:, 3])
    out = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
    return np.clip(out, 0, image_size).astype(np.float32)


def draw(pool: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """count indices from pool, without replacement when it is large enough; none from an empty pool."""
    if len(pool) == 0 or count == 0:
        return pool[:0]
    return rng.choice(pool, count, replace=len(pool) < count)


def sample_crops(
    images: np.ndarray,
    boxes: np.ndarray,
    proposer,
    rng: np.random.Generator,
    positives: int = 8,
    negatives: int = 8,
    jitters: int = 4,
    crop_size: int = 28,
    box_regression: bool = True,
    background_iou: float = NEGATIVE_IOU,
    near_miss_share: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """(crops float32 (M, C, crop_size, crop_size), targets float32 (M, 5) or (M, 1)) from scenes (B, C, H, W)
    and their padded boxes (B, K, 5) [label, x1, y1, x2, y2] (label 0: no box).

    Backgrounds are the candidates below background_iou; round(near_miss_share · negatives) of them are drawn
    from the near misses (best IoU ≥ 0.1, Fast R-CNN's hard backgrounds) when a scene has any, the rest from all.
    """
    image_size = images.shape[-1]
    hard = int(round(near_miss_share * negatives))
    chosen_boxes, owners, targets = [], [], []
    for i, (proposals, scene) in enumerate(zip(proposer(images), boxes, strict=True)):
        gt = scene[scene[:, 0] > 0]
        gt_boxes, gt_labels = gt[:, 1:5], gt[:, 0].astype(np.int64)
        candidates = np.concatenate([proposals, gt_boxes, jitter_boxes(gt_boxes, rng, jitters, image_size)])
        candidates = candidates[(candidates[:, 2] > candidates[:, 0]) & (candidates[:, 3] > candidates[:, 1])]
        match, best = best_overlap(candidates, gt_boxes)
        labels = overlap_labels(match, best, gt_labels, background_iou)
        background = np.flatnonzero(labels == 0)
        near_picks = draw(background[best[background] >= NEAR_MISS_IOU], hard, rng)
        picked = np.concatenate(
            [
                draw(np.flatnonzero(labels > 0), positives, rng),
                near_picks,
                draw(background, negatives - len(near_picks), rng),
            ]
        )
        target = np.zeros((len(picked), 5), np.float32)
        target[:, 0] = labels[picked]
        positive = labels[picked] > 0
        target[positive, 1:] = encode_offsets(candidates[picked][positive], gt_boxes[match[picked][positive]])
        chosen_boxes.append(candidates[picked])
        owners.append(np.full(len(picked), i))
        targets.append(target)
    crops = crop_and_resize(images, np.concatenate(chosen_boxes), np.concatenate(owners), crop_size)
    targets = np.concatenate(targets)
    return crops, targets if box_regression else targets[:, :1]


class ProposeClassifyLoss(nn.Module):
    """Cross-entropy over the C + 1 classes (+ box_weight × smooth L1 of the positives' offsets / M)."""

    def __init__(self, box_regression: bool = True, box_weight: float = 1.0, beta: float = 1 / 9) -> None:
        super().__init__()
        self.box_regression, self.box_weight, self.beta = bool(box_regression), box_weight, beta

    def forward(self, outputs: Tensor, targets: Tensor) -> Tensor:
        target = np.asarray(targets._data)
        width = 5 if self.box_regression else 1
        if outputs.ndim != 2 or target.ndim != 2 or target.shape != (outputs.shape[0], width):
            raise ValueError(
                f"ProposeClassifyLoss: expected outputs (M, classes{' + 4' * self.box_regression}) and "
                f"targets (M, {width}), got {tuple(outputs.shape)} and {target.shape}"
            )
        labels = target[:, 0].astype(np.int64)
        classes = outputs.shape[1] - 4 if self.box_regression else outputs.shape[1]
        loss = F.cross_entropy(outputs[:, :classes], Tensor(labels))
        if not self.box_regression:
            return loss
        per_number = F.smooth_l1_loss(
            outputs[:, classes:], Tensor(target[:, 1:].astype(outputs.dtype)), reduction="none", beta=self.beta
        )
        positive = Tensor((labels > 0)[:, None].astype(outputs.dtype))
        return loss + (per_number * positive).sum() * (self.box_weight / len(labels))

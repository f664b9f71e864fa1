"""Pascal VOC average precision, written from the devkit's algorithm (py-faster-rcnn lib/datasets/voc_eval.py).

Per class, the detections of all images are sorted by descending score. Each is compared only with the ground
truth of the same class in its image that it overlaps most (no fallback to the next-best box):

    IoU > threshold (strictly), box not difficult, box not matched yet  → true positive (the box is now matched)
    IoU > threshold, box not difficult, box already matched             → false positive (a duplicate)
    IoU > threshold, box difficult                                      → neither (ignored)
    IoU ≤ threshold, or no box of that class in the image               → false positive

npos counts the boxes that are not difficult. Then recall = TP / npos, precision = TP / (TP + FP) cumulatively,
and AP is either all-point (VOC2010+: make precision monotone from the right, sum Δrecall × precision where
recall changes) or 11-point (VOC2007: the mean over r ∈ {0, 0.1, …, 1} of the maximum precision at recall ≥ r).

A box is matched once per image, so the whole decision can be made per image (`match_detections`, which also
colours pictures); only the cumulative sums need the global score order. Ties in score are ordered stably (the
devkit's quicksort leaves them unspecified). `plus_one` is the devkit's inclusive-pixel IoU, w = x2 − x1 + 1,
for boxes given in VOC's own 1-based inclusive coordinates; boxes in cnnkit's pixel edges (what
`cnnkit.data.VOCDetection` returns) already have x2 − x1 = xmax − xmin + 1, so they take plus_one=False and give
the devkit's numbers.
"""

from __future__ import annotations

import numpy as np

TP, FP, IGNORED = 1, 0, -1


def voc_iou(boxes1: np.ndarray, boxes2: np.ndarray, plus_one: bool = False) -> np.ndarray:
    """(N, M) IoU in float64 as the devkit computes it; with plus_one, widths and heights are x2 − x1 + 1.
    An empty union (two zero-area boxes) counts as IoU 0."""
    a, b = np.asarray(boxes1, np.float64).reshape(-1, 4), np.asarray(boxes2, np.float64).reshape(-1, 4)
    one = 1.0 if plus_one else 0.0
    iw = np.maximum(np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]) + one, 0.0)
    ih = np.maximum(np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]) + one, 0.0)
    inter = iw * ih
    area_a = (a[:, 2] - a[:, 0] + one) * (a[:, 3] - a[:, 1] + one)
    area_b = (b[:, 2] - b[:, 0] + one) * (b[:, 3] - b[:, 1] + one)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union != 0)


def match_detections(
    pred_boxes: np.ndarray,
    pred_scores: np.ndarray,
    pred_labels: np.ndarray,
    gt_boxes: np.ndarray,
    gt_labels: np.ndarray,
    gt_difficult: np.ndarray | None = None,
    iou_threshold: float = 0.5,
    plus_one: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """VOC's decision for one image: (status int8 (n,) of each prediction — 1 TP, 0 FP, −1 ignored (its best box
    is difficult) —, matched bool (m,) of each ground-truth box).

    A prediction is compared only with the box of its own label that it overlaps most (the first such box on
    ties, as np.argmax); the first prediction in descending score order to take a free box is the TP.
    """
    n, m = len(pred_boxes), len(gt_boxes)
    difficult = np.zeros(m, bool) if gt_difficult is None else np.asarray(gt_difficult, bool)
    status, matched = np.full(n, FP, np.int8), np.zeros(m, bool)
    if n == 0 or m == 0:
        return status, matched
    iou = voc_iou(pred_boxes, gt_boxes, plus_one)
    iou[np.asarray(pred_labels)[:, None] != np.asarray(gt_labels)[None, :]] = -np.inf  # other classes never match
    best = iou.argmax(axis=1)
    hit = iou[np.arange(n), best] > iou_threshold  # −inf (no box of its class) is never a hit
    status[hit & difficult[best]] = IGNORED
    order = np.argsort(-np.asarray(pred_scores, np.float64), kind="stable")
    candidates = order[(hit & ~difficult[best])[order]]  # would-be TPs, in score order
    _, first = np.unique(best[candidates], return_index=True)  # the first to reach each box takes it
    winners = candidates[first]
    status[winners] = TP
    matched[best[winners]] = True
    return status, matched


def precision_recall(scores: np.ndarray, status: np.ndarray, npos: int) -> tuple[np.ndarray, np.ndarray]:
    """(precision, recall) after each detection in descending score order (stable on ties); recall is NaN
    when there is no positive."""
    order = np.argsort(-np.asarray(scores, np.float64), kind="stable")
    status = np.asarray(status)[order]
    tp = np.cumsum(status == TP).astype(np.float64)
    fp = np.cumsum(status == FP).astype(np.float64)
    precision = tp / np.maximum(tp + fp, np.finfo(np.float64).eps)
    recall = tp / npos if npos > 0 else np.full_like(tp, np.nan)
    return precision, recall


def average_precision(recall: np.ndarray, precision: np.ndarray, use_07_metric: bool = False) -> float:
    """VOC AP of a precision–recall curve: all-point (default) or VOC2007's 11-point interpolation."""
    recall, precision = np.asarray(recall, np.float64), np.asarray(precision, np.float64)
    if use_07_metric:
        total = 0.0
        for t in np.arange(0.0, 1.1, 0.1):  # the devkit's exact thresholds, 0.30000000000000004 included
            above = recall >= t
            total += (precision[above].max() if above.any() else 0.0) / 11.0
        return float(total)
    mrec = np.concatenate(([0.0], recall, [1.0]))
    mpre = np.concatenate(([0.0], precision, [0.0]))
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]  # the precision envelope: running maximum from the right
    changes = np.flatnonzero(mrec[1:] != mrec[:-1])
    return float(np.sum((mrec[changes + 1] - mrec[changes]) * mpre[changes + 1]))

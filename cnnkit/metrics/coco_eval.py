"""The COCO box evaluation as pycocotools 2.0.11 computes it (cocoeval.py evaluate / accumulate / summarize).

Per image and category (`evaluate_image`): detections sorted by score (stable mergesort) and cut to the largest
maxDets; ground truth is ignored when it is a crowd region or its `area` lies outside the area range (both ends
inclusive). For each IoU threshold t in 0.50:0.05:0.95, each detection in score order takes the still-unmatched
box of highest IoU provided IoU ≥ t (t capped at 1 − 1e−10; equal IoUs: the later box), preferring boxes that
are not ignored over ignored ones; a crowd box can absorb any number of detections. A detection matched to an
ignored box is ignored, and so is an unmatched detection whose own area is outside the range. IoU is pycocotools'
`bbIou` on (x, y, w, h) doubles: intersection / union, or intersection / detection area for a crowd box.

Per category, area range and maxDets (`accumulate`): the detections of all images (in image order, each cut to
maxDets) sorted by score (stable), cumulative TP and FP over the ones not ignored, recall = TP / (boxes not
ignored), precision = TP / (TP + FP + eps) made monotone from the right, sampled at the 101 recall thresholds
0:0.01:1 with searchsorted(side="left"), 0 beyond the largest recall reached; −1 where a category has no box.

`summarize` gives the 12 numbers, averaging the entries > −1: AP at IoU .50:.95 (maxDets 100, hard-coded as in
pycocotools: −1 when 100 is not among max_dets), at .50 and .75, for small (area < 32²), medium and large
(> 96²) objects; AR at maxDets 1, 10, 100 and by size. Like pycocotools' maxDets[2], the third of max_dets serves
the other lines.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# pycocotools' own expressions, so that the floats are the same (0.75 must compare equal in summarize)
IOU_THRESHOLDS = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)
RECALL_THRESHOLDS = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True)
AREA_RANGES = np.array([[0**2, 1e5**2], [0**2, 32**2], [32**2, 96**2], [96**2, 1e5**2]], dtype=np.float64)
AREA_LABELS = ("all", "small", "medium", "large")
MAX_DETS = (1, 10, 100)
STAT_NAMES = (
    "map", "map_50", "map_75", "map_small", "map_medium", "map_large",
    "mar_1", "mar_10", "mar_100", "mar_small", "mar_medium", "mar_large",
)  # fmt: skip


@dataclass
class ImageEval:
    """One image and category: scores (D,) in score order, matched and ignored (T, A, D) per IoU threshold and
    area range, and gt_ignored (A, G)."""

    scores: np.ndarray
    matched: np.ndarray
    ignored: np.ndarray
    gt_ignored: np.ndarray


def coco_iou(dt_xywh: np.ndarray, gt_xywh: np.ndarray, iscrowd: np.ndarray) -> np.ndarray:
    """(D, G) IoU of (x, y, w, h) boxes as pycocotools' bbIou: a crowd box's union is the detection's area."""
    d, g = dt_xywh[:, None, :], gt_xywh[None, :, :]
    w = np.minimum(d[..., 2] + d[..., 0], g[..., 2] + g[..., 0]) - np.maximum(d[..., 0], g[..., 0])
    h = np.minimum(d[..., 3] + d[..., 1], g[..., 3] + g[..., 1]) - np.maximum(d[..., 1], g[..., 1])
    inter = np.where((w > 0) & (h > 0), w * h, 0.0)
    dt_area, gt_area = d[..., 2] * d[..., 3], g[..., 2] * g[..., 3]
    union = np.where(iscrowd[None, :], dt_area, dt_area + gt_area - inter)
    return np.divide(inter, union, out=np.zeros_like(inter), where=inter > 0)


def _xywh(xyxy: np.ndarray) -> np.ndarray:
    xyxy = np.asarray(xyxy, np.float64).reshape(-1, 4)
    return np.concatenate([xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2]], axis=1)


def evaluate_image(
    dt_boxes: np.ndarray,
    dt_scores: np.ndarray,
    gt_boxes: np.ndarray,
    gt_crowd: np.ndarray,
    gt_area: np.ndarray,
    max_det: int = 100,
) -> ImageEval | None:
    """pycocotools' evaluateImg for every area range at once (xyxy boxes); None when there is nothing to score."""
    if len(dt_boxes) == 0 and len(gt_boxes) == 0:
        return None
    order = np.argsort(-np.asarray(dt_scores, np.float64), kind="mergesort")[:max_det]
    dt, gt = _xywh(dt_boxes)[order], _xywh(gt_boxes)
    crowd = np.asarray(gt_crowd, bool)
    lo, hi = AREA_RANGES[:, :1], AREA_RANGES[:, 1:]
    gt_area = np.asarray(gt_area, np.float64)
    gt_ignored = crowd[None, :] | (gt_area[None, :] < lo) | (gt_area[None, :] > hi)  # (A, G)
    matched, ignored = _greedy_match(coco_iou(dt, gt, crowd), crowd, gt_ignored)
    dt_area = dt[:, 2] * dt[:, 3]
    outside = (dt_area[None, :] < lo) | (dt_area[None, :] > hi)  # (A, D)
    ignored |= ~matched & outside[None]
    return ImageEval(np.asarray(dt_scores, np.float64)[order], matched, ignored, gt_ignored)


def _greedy_match(ious: np.ndarray, crowd: np.ndarray, gt_ignored: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(matched, ignored) bool (T, A, D): the detections in score order take boxes greedily, all thresholds and
    area ranges at once (one Python step per detection that reaches the lowest threshold)."""
    T, (A, G), D = len(IOU_THRESHOLDS), gt_ignored.shape, len(ious)
    matched, ignored = np.zeros((T * A, D), bool), np.zeros((T * A, D), bool)
    if D == 0 or G == 0:
        return matched.reshape(T, A, D), ignored.reshape(T, A, D)
    thresholds = np.repeat(np.minimum(IOU_THRESHOLDS, 1 - 1e-10), A)[:, None]  # row r = (t, a) = (r // A, r % A)
    gt_ig = np.tile(gt_ignored, (T, 1))  # (T·A, G)
    taken = np.zeros((T * A, G), bool)
    rows = np.arange(T * A)
    for d in np.flatnonzero(ious.max(axis=1) >= thresholds.min()):
        ok = (~taken | crowd[None, :]) & (ious[d][None, :] >= thresholds)
        plain = ok & ~gt_ig
        ok = np.where(plain.any(axis=1, keepdims=True), plain, ok)  # boxes not ignored first
        found = ok.any(axis=1)
        best = G - 1 - np.argmax(np.where(ok, ious[d], -1.0)[:, ::-1], axis=1)  # highest IoU, the later on ties
        r, g = rows[found], best[found]
        taken[r, g] = True
        matched[r, d] = True
        ignored[r, d] = gt_ig[r, g]
    return matched.reshape(T, A, D), ignored.reshape(T, A, D)


def accumulate(
    per_category: Sequence[Sequence[ImageEval]], max_dets: Sequence[int] = MAX_DETS
) -> tuple[np.ndarray, np.ndarray]:
    """(precision (T, R, K, A, M), recall (T, K, A, M)) with −1 where a category has no box in the range."""
    T, R, A, M, K = len(IOU_THRESHOLDS), len(RECALL_THRESHOLDS), len(AREA_RANGES), len(max_dets), len(per_category)
    precision, recall = -np.ones((T, R, K, A, M)), -np.ones((T, K, A, M))
    for k, evals in enumerate(per_category):
        if not evals:
            continue
        npig = np.sum([np.count_nonzero(~e.gt_ignored, axis=1) for e in evals], axis=0)  # (A,)
        for m, max_det in enumerate(max_dets):
            scores = np.concatenate([e.scores[:max_det] for e in evals])
            order = np.argsort(-scores, kind="mergesort")
            dtm = np.concatenate([e.matched[..., :max_det] for e in evals], axis=2)[..., order]
            dtig = np.concatenate([e.ignored[..., :max_det] for e in evals], axis=2)[..., order]
            tp = np.cumsum(dtm & ~dtig, axis=2).astype(float)
            fp = np.cumsum(~dtm & ~dtig, axis=2).astype(float)
            for a in np.flatnonzero(npig > 0):
                precision[:, :, k, a, m], recall[:, k, a, m] = _curve(tp[:, a], fp[:, a], npig[a])
    return precision, recall


def _curve(tp: np.ndarray, fp: np.ndarray, npig: int) -> tuple[np.ndarray, np.ndarray]:
    """(precision (T, R) at the recall thresholds, final recall (T,)) from cumulative TP and FP (T, N)."""
    T, N = tp.shape
    if N == 0:
        return np.zeros((T, len(RECALL_THRESHOLDS))), np.zeros(T)
    rc = tp / npig
    pr = tp / (fp + tp + np.spacing(1))
    pr = np.maximum.accumulate(pr[:, ::-1], axis=1)[:, ::-1]  # monotone from the right
    q = np.zeros((T, len(RECALL_THRESHOLDS)))
    for t in range(T):
        at = np.searchsorted(rc[t], RECALL_THRESHOLDS, side="left")
        inside = at < N  # beyond the largest recall reached, precision stays 0
        q[t, inside] = pr[t, at[inside]]
    return q, rc[:, -1]


def summarize(precision: np.ndarray, recall: np.ndarray, max_dets: Sequence[int] = MAX_DETS) -> np.ndarray:
    """The 12 numbers of COCOeval.summarize() for boxes (−1 where nothing is defined)."""
    if len(max_dets) != 3:
        raise ValueError(f"summarize: expected three max_dets (as COCOeval's params.maxDets), got {list(max_dets)}")
    last = max_dets[2]
    lines = [
        (1, None, "all", 100), (1, 0.5, "all", last), (1, 0.75, "all", last),
        (1, None, "small", last), (1, None, "medium", last), (1, None, "large", last),
        (0, None, "all", max_dets[0]), (0, None, "all", max_dets[1]),
        (0, None, "all", last), (0, None, "small", last), (0, None, "medium", last), (0, None, "large", last),
    ]  # fmt: skip
    return np.array([_mean_entry(precision, recall, max_dets, *line) for line in lines])


def _mean_entry(
    precision: np.ndarray, recall: np.ndarray, max_dets: Sequence[int], ap: int, iou: float | None, area: str, det: int
) -> float:
    a = [i for i, label in enumerate(AREA_LABELS) if label == area]
    m = [i for i, value in enumerate(max_dets) if value == det]
    s = precision if ap else recall
    if iou is not None:
        s = s[np.where(iou == IOU_THRESHOLDS)[0]]
    s = s[..., a, :][..., m]
    valid = s[s > -1]
    return float(np.mean(valid)) if valid.size else -1.0

"""Box operations with torchvision's names and semantics (torchvision/ops/boxes.py), on NumPy arrays.

Boxes are (x1, y1, x2, y2) floats in pixel-edge coordinates (0-based, x2 and y2 exclusive), so a box's width
x2 − x1 is a pixel count: area = (x2 − x1)(y2 − y1), with no "+1" (the VOC devkit's +1 lives in
`cnnkit.metrics.detection`, for VOC data only). Nothing clamps inverted boxes, as in torchvision.

Dtypes: float32 in, float32 out; float64 stays float64 (the COCO evaluation needs pycocotools' doubles);
integer and other inputs become float32. Indices are int64.

NaN: `box_iou` of two zero-area boxes is 0 / 0 = NaN, exactly as torchvision. A zero-area box against a box with
area has IoU 0. Code that wants 0 for an empty union says so at its call site with `np.nan_to_num`.

`nms` and `batched_nms` are torchvision's greedy CPU algorithm: visit boxes by descending score, keep a box
unless its IoU with an already kept box is strictly greater than `iou_threshold` (so an IoU equal to the
threshold survives; a NaN IoU never suppresses). The IoU is computed as torchvision's kernel does,
inter / (area_i + area_j − inter), in the boxes' dtype. Ties in score: torchvision leaves their order
unspecified; here the sort is stable, so among equal scores the lower input index comes first.
"""

from __future__ import annotations

from typing import Any

import numpy as np

FORMATS = ("xyxy", "xywh", "cxcywh")


def as_boxes(boxes: Any, name: str = "boxes", caller: str = "box") -> np.ndarray:
    """boxes as an (N, 4) float array (float32 unless already float64); a clear error for another shape."""
    array = np.asarray(getattr(boxes, "_data", boxes))
    if array.dtype != np.float64:
        array = array.astype(np.float32, copy=False)
    if array.size == 0 and array.ndim <= 2:
        return array.reshape(0, 4)
    if array.ndim != 2 or array.shape[1] != 4:
        raise ValueError(f"{caller}: expected {name} of shape (N, 4), got shape {array.shape}")
    return array


def _as_scores(scores: Any, n: int, caller: str) -> np.ndarray:
    array = np.asarray(getattr(scores, "_data", scores))
    if array.shape != (n,):
        raise ValueError(f"{caller}: expected scores of shape ({n},) for {n} boxes, got shape {array.shape}")
    return array


def box_area(boxes: Any) -> np.ndarray:
    """(N,) areas (x2 − x1)(y2 − y1) of (N, 4) xyxy boxes."""
    boxes = as_boxes(boxes, caller="box_area")
    return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])


def _inter_union(boxes1: np.ndarray, boxes2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, M) intersection areas and union areas: union = area1 + area2 − intersection."""
    area1, area2 = box_area(boxes1), box_area(boxes2)
    lt = np.maximum(boxes1[:, None, :2], boxes2[None, :, :2])  # (N, M, 2) top-left of the intersection
    rb = np.minimum(boxes1[:, None, 2:], boxes2[None, :, 2:])  # (N, M, 2) bottom-right
    wh = np.clip(rb - lt, 0, None)
    inter = wh[..., 0] * wh[..., 1]
    return inter, area1[:, None] + area2[None, :] - inter


def _result_dtype(boxes1: np.ndarray, boxes2: np.ndarray) -> np.dtype:
    return np.result_type(boxes1.dtype, boxes2.dtype)


def box_iou(boxes1: Any, boxes2: Any) -> np.ndarray:
    """(N, M) intersection over union of every box in boxes1 (N, 4) with every box in boxes2 (M, 4), xyxy.

    Two zero-area boxes give 0 / 0 = NaN (as torchvision); callers wanting 0 use `np.nan_to_num`.
    """
    boxes1, boxes2 = as_boxes(boxes1, "boxes1", "box_iou"), as_boxes(boxes2, "boxes2", "box_iou")
    inter, union = _inter_union(boxes1, boxes2)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (inter / union).astype(_result_dtype(boxes1, boxes2), copy=False)


def generalized_box_iou(boxes1: Any, boxes2: Any) -> np.ndarray:
    """(N, M) generalised IoU (Rezatofighi et al. 2019): IoU − (C − union) / C, C = area of the smallest box
    enclosing both; in [−1, 1]."""
    boxes1 = as_boxes(boxes1, "boxes1", "generalized_box_iou")
    boxes2 = as_boxes(boxes2, "boxes2", "generalized_box_iou")
    inter, union = _inter_union(boxes1, boxes2)
    lt = np.minimum(boxes1[:, None, :2], boxes2[None, :, :2])
    rb = np.maximum(boxes1[:, None, 2:], boxes2[None, :, 2:])
    wh = np.clip(rb - lt, 0, None)
    enclosing = wh[..., 0] * wh[..., 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        giou = inter / union - (enclosing - union) / enclosing
    return giou.astype(_result_dtype(boxes1, boxes2), copy=False)


def box_convert(boxes: Any, in_fmt: str, out_fmt: str) -> np.ndarray:
    """Convert (N, 4) boxes between "xyxy" (corners), "xywh" (top-left, width, height) and "cxcywh" (centre,
    width, height). Returns a new array."""
    for name, fmt in (("in_fmt", in_fmt), ("out_fmt", out_fmt)):
        if fmt not in FORMATS:
            raise ValueError(f"box_convert: {name} must be one of {', '.join(FORMATS)}; got {fmt!r}")
    boxes = as_boxes(boxes, caller="box_convert")
    if in_fmt == out_fmt:
        return boxes.copy()
    xyxy = _to_xyxy(boxes, in_fmt)
    return _from_xyxy(xyxy, out_fmt)


def _to_xyxy(boxes: np.ndarray, fmt: str) -> np.ndarray:
    a, b, c, d = boxes.T
    if fmt == "xywh":  # x2 = x + w, y2 = y + h
        return np.stack([a, b, a + c, b + d], axis=1)
    if fmt == "cxcywh":  # x1 = cx − w/2, x2 = cx + w/2
        return np.stack([a - 0.5 * c, b - 0.5 * d, a + 0.5 * c, b + 0.5 * d], axis=1)
    return boxes


def _from_xyxy(boxes: np.ndarray, fmt: str) -> np.ndarray:
    x1, y1, x2, y2 = boxes.T
    if fmt == "xywh":
        return np.stack([x1, y1, x2 - x1, y2 - y1], axis=1)
    if fmt == "cxcywh":
        return np.stack([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1], axis=1)
    return boxes


def clip_boxes_to_image(boxes: Any, size: tuple[int, int]) -> np.ndarray:
    """Boxes with x clamped to [0, W] and y to [0, H], size = (H, W) as torchvision."""
    boxes = as_boxes(boxes, caller="clip_boxes_to_image")
    if len(size) != 2:
        raise ValueError(f"clip_boxes_to_image: expected size (H, W), got {size!r}")
    height, width = size
    out = boxes.copy()
    out[:, 0::2] = np.clip(out[:, 0::2], 0, width)
    out[:, 1::2] = np.clip(out[:, 1::2], 0, height)
    return out


def remove_small_boxes(boxes: Any, min_size: float) -> np.ndarray:
    """int64 indices of the boxes whose width and height are both at least min_size."""
    boxes = as_boxes(boxes, caller="remove_small_boxes")
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    return np.flatnonzero((w >= min_size) & (h >= min_size)).astype(np.int64)


def _iou_row(box: np.ndarray, area: Any, others: np.ndarray, other_areas: np.ndarray) -> np.ndarray:
    """IoU of one box with each of others, in torchvision's NMS kernel's order of operations."""
    w = np.maximum(0, np.minimum(box[2], others[:, 2]) - np.maximum(box[0], others[:, 0]))
    h = np.maximum(0, np.minimum(box[3], others[:, 3]) - np.maximum(box[1], others[:, 1]))
    inter = w * h
    with np.errstate(divide="ignore", invalid="ignore"):
        return inter / (area + other_areas - inter)


def _greedy_nms(boxes: np.ndarray, scores: np.ndarray, groups: np.ndarray | None, iou_threshold: float) -> np.ndarray:
    """Kept indices by descending score; a box is suppressed by a kept box of its group with IoU > threshold.

    One IoU row per kept box against the boxes still in play: the Python loop runs once per kept box.
    """
    order = np.argsort(-scores, kind="stable")
    sorted_boxes = boxes[order]
    areas = box_area(sorted_boxes)
    sorted_groups = None if groups is None else groups[order]
    alive = np.arange(len(order))
    keep = []
    while alive.size:
        i, rest = alive[0], alive[1:]
        keep.append(i)
        suppress = _iou_row(sorted_boxes[i], areas[i], sorted_boxes[rest], areas[rest]) > iou_threshold
        if sorted_groups is not None:
            suppress &= sorted_groups[rest] == sorted_groups[i]
        alive = rest[~suppress]
    return order[np.asarray(keep, dtype=np.int64)].astype(np.int64)


def nms(boxes: Any, scores: Any, iou_threshold: float) -> np.ndarray:
    """Greedy non-maximum suppression: int64 indices of the kept boxes, in descending score order.

    A box is suppressed when its IoU with an already kept box is > iou_threshold (strictly).
    """
    boxes = as_boxes(boxes, caller="nms")
    scores = _as_scores(scores, len(boxes), "nms")
    return _greedy_nms(boxes, scores, None, iou_threshold)


def batched_nms(boxes: Any, scores: Any, idxs: Any, iou_threshold: float) -> np.ndarray:
    """NMS done independently per category idxs (N,): boxes of different categories never suppress each other.
    int64 indices of the kept boxes, in descending score order.

    One greedy pass in which only boxes of the same category suppress each other; it equals torchvision's
    per-category result exactly (torchvision's coordinate-offset trick shifts coordinates, which rounds the IoU).
    """
    boxes = as_boxes(boxes, caller="batched_nms")
    scores = _as_scores(scores, len(boxes), "batched_nms")
    idxs = np.asarray(getattr(idxs, "_data", idxs))
    if idxs.shape != (len(boxes),):
        n = len(boxes)
        raise ValueError(f"batched_nms: expected idxs of shape ({n},) for {n} boxes, got shape {idxs.shape}")
    return _greedy_nms(boxes, scores, idxs, iou_threshold)

"""`cnnkit.vision.ops`: torchvision.ops' box functions (cnnkit.detection.boxes), returning Tensors as torchvision.

nms(boxes (N, 4) xyxy, scores (N,), iou_threshold) → int64 indices kept, by decreasing score; batched_nms does
it per category; box_iou (N, M); box_area (N,); box_convert between "xyxy", "xywh" and "cxcywh".
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnkit.detection import boxes as _boxes
from cnnkit.tensor import Tensor


def _tensor(array: np.ndarray) -> Tensor:
    return Tensor(array, dtype=array.dtype)


def nms(boxes: Any, scores: Any, iou_threshold: float) -> Tensor:
    return _tensor(_boxes.nms(boxes, scores, iou_threshold))


def batched_nms(boxes: Any, scores: Any, idxs: Any, iou_threshold: float) -> Tensor:
    return _tensor(_boxes.batched_nms(boxes, scores, idxs, iou_threshold))


def box_iou(boxes1: Any, boxes2: Any) -> Tensor:
    return _tensor(_boxes.box_iou(boxes1, boxes2))


def box_area(boxes: Any) -> Tensor:
    return _tensor(_boxes.box_area(boxes))


def box_convert(boxes: Any, in_fmt: str, out_fmt: str) -> Tensor:
    return _tensor(_boxes.box_convert(boxes, in_fmt, out_fmt))


def generalized_box_iou(boxes1: Any, boxes2: Any) -> Tensor:
    return _tensor(_boxes.generalized_box_iou(boxes1, boxes2))


def clip_boxes_to_image(boxes: Any, size: tuple[int, int]) -> Tensor:
    return _tensor(_boxes.clip_boxes_to_image(boxes, size))


def remove_small_boxes(boxes: Any, min_size: float) -> Tensor:
    return _tensor(_boxes.remove_small_boxes(boxes, min_size))


__all__ = ["nms", "batched_nms", "box_iou", "box_area", "box_convert", "generalized_box_iou", "clip_boxes_to_image",
           "remove_small_boxes"]

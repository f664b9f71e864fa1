"""Detection results as text for `cnnkit eval`: one row per class (ground-truth boxes, detections, VOC AP@0.5,
COCO AP@[.5:.95]), the means, then the 12 lines of pycocotools' COCOeval.summarize() in its own format."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from cnnkit.metrics.coco_eval import IOU_THRESHOLDS

# (AP or AR, IoU threshold or None for .50:.95, area range) of the 12 stats, in COCOeval.stats' order
_LINES = (
    (1, None, "all"), (1, 0.5, "all"), (1, 0.75, "all"), (1, None, "small"), (1, None, "medium"), (1, None, "large"),
    (0, None, "all"), (0, None, "all"), (0, None, "all"), (0, None, "small"), (0, None, "medium"), (0, None, "large"),
)  # fmt: skip


def _number(value: float) -> str:
    return "   n/a" if np.isnan(value) else f"{value:6.3f}"


def class_table(voc: dict[str, Any], coco: dict[str, Any], class_names: Sequence[str]) -> str:
    """Per-class rows and a mean row; n/a for a class with no ground truth."""
    width = max(5, *(len(name) for name in class_names))
    header = f"{'class':<{width}}  {'boxes':>6}  {'detections':>10}  {'AP@0.5':>6}  {'AP@[.5:.95]':>11}"
    rows = [header, "-" * len(header)]
    for k, name in enumerate(class_names):
        rows.append(
            f"{name:<{width}}  {int(voc['npos'][k]):>6}  {int(voc['num_detections'][k]):>10}  "
            f"{_number(voc['ap'][k])}  {_number(coco['ap_per_class'][k]):>11}"
        )
    rows.append("-" * len(header))
    total = f"{int(np.sum(voc['npos'])):>6}  {int(np.sum(voc['num_detections'])):>10}"
    coco_map = float("nan") if coco["map"] < 0 else coco["map"]
    rows.append(f"{'mean':<{width}}  {total}  {_number(voc['map'])}  {_number(coco_map):>11}")
    return "\n".join(rows)


def coco_lines(coco: dict[str, Any]) -> str:
    """COCOeval.summarize()'s 12 lines, character for character."""
    lines = []
    max_dets = coco["max_dets"]
    dets = (100, max_dets[2], max_dets[2], max_dets[2], max_dets[2], max_dets[2], *max_dets, *[max_dets[2]] * 3)
    for (ap, iou, area), det, value in zip(_LINES, dets, coco["stats"], strict=True):
        title, kind = ("Average Precision", "(AP)") if ap else ("Average Recall", "(AR)")
        iou_text = f"{IOU_THRESHOLDS[0]:0.2f}:{IOU_THRESHOLDS[-1]:0.2f}" if iou is None else f"{iou:0.2f}"
        lines.append(f" {title:<18} {kind} @[ IoU={iou_text:<9} | area={area:>6s} | maxDets={det:>3d} ] = {value:0.3f}")
    return "\n".join(lines)


def format_detection_table(voc: dict[str, Any], coco: dict[str, Any], class_names: Sequence[str]) -> str:
    """The per-class table (VOC AP at the result's IoU threshold), mAP lines, then the COCO summary."""
    return "\n".join(
        [
            class_table(voc, coco, class_names),
            "",
            f"VOC mAP@{voc['iou_threshold']:g}: {voc['map']:.4f}    COCO mAP@[.5:.95]: {coco['map']:.4f}",
            "",
            coco_lines(coco),
        ]
    )

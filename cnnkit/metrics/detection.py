"""Detection metrics over a whole data set: `DetectionEvaluator` accumulates each image's predictions and ground
truth, then scores them the way the field's reference tools do — Pascal VOC AP per class (`voc()`, see
`voc_ap.py`) and the COCO evaluation's 12 numbers (`coco()`, see `coco_eval.py`, equal to pycocotools) — and
prints both as text (`format_table()`) for `cnnkit eval`.

Boxes are xyxy in pixel edges (0-based, x2 and y2 exclusive), the convention of `cnnkit.data`; labels are class
ids 1..num_classes (0 is background and never an object: Fashion-MNIST scenes use class + 1). Evaluate on (almost)
all detections: a display threshold such as 0.5 applied before evaluation cuts the precision–recall curves short
and lowers AP.

Choices where the references say nothing: images are visited in the order of their image_id (pycocotools sorts
them; ids default to 0, 1, 2, … in update order), which only matters for detections of equal score; VOC treats a
crowd region like a difficult box (neither matched nor counted); the COCO numbers ignore `difficult`, which
pycocotools does not know; a class without ground truth has AP NaN per class and is left out of the means.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from cnnkit.metrics import coco_eval
from cnnkit.metrics.detection_table import format_detection_table
from cnnkit.metrics.voc_ap import IGNORED, TP, average_precision, match_detections, precision_recall


@dataclass
class _Image:
    """One image's predictions and ground truth, validated, in float64 (pycocotools computes in doubles)."""

    image_id: Any
    pred_boxes: np.ndarray
    pred_scores: np.ndarray
    pred_labels: np.ndarray
    gt_boxes: np.ndarray
    gt_labels: np.ndarray
    difficult: np.ndarray
    crowd: np.ndarray
    area: np.ndarray


def _numpy(value: Any) -> np.ndarray:
    return np.asarray(getattr(value, "_data", value))


class DetectionEvaluator:
    """Accumulate detections and ground truth image by image; `voc()`, `coco()`, `pr_curves()`, `format_table()`.

    evaluator = DetectionEvaluator(num_classes=10, class_names=FashionScenes.classes[1:])  # not "background"
    for p, t in zip(predictions, targets):  # dicts of NumPy arrays or tensors, one image each
        evaluator.update(p["boxes"], p["scores"], p["labels"], t["boxes"], t["labels"])
    print(evaluator.voc()["map"], evaluator.coco()["map"])
    print(evaluator.format_table())
    """

    def __init__(self, num_classes: int, class_names: Sequence[str] | None = None) -> None:
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"DetectionEvaluator: expected num_classes to be a positive int, got {num_classes!r}")
        if class_names is not None and len(class_names) != num_classes:
            raise ValueError(
                f"DetectionEvaluator: expected {num_classes} class names (labels 1..{num_classes}), "
                f"got {len(class_names)}"
            )
        self.num_classes = num_classes
        self.class_names = list(class_names) if class_names is not None else [str(k + 1) for k in range(num_classes)]
        self.images: list[_Image] = []
        self._ids: set[Any] = set()

    def __len__(self) -> int:
        return len(self.images)

    def reset(self) -> None:
        self.images, self._ids = [], set()

    def update(
        self,
        pred_boxes: Any,
        pred_scores: Any,
        pred_labels: Any,
        gt_boxes: Any,
        gt_labels: Any,
        gt_difficult: Any = None,
        gt_iscrowd: Any = None,
        gt_area: Any = None,
        image_id: Any = None,
    ) -> None:
        """Add one image: predictions (n, 4) xyxy, (n,) scores, (n,) labels; ground truth (m, 4), (m,) labels and
        optionally difficult and crowd flags and COCO areas (m,) (default: the box areas)."""
        image_id = len(self.images) if image_id is None else image_id
        if image_id in self._ids:
            raise ValueError(f"DetectionEvaluator.update: image_id {image_id!r} was already added")
        where = f"DetectionEvaluator.update (image {image_id!r})"
        pred_boxes, gt_boxes = self._boxes(pred_boxes, "pred_boxes", where), self._boxes(gt_boxes, "gt_boxes", where)
        n, m = len(pred_boxes), len(gt_boxes)
        gt_area_default = (gt_boxes[:, 2] - gt_boxes[:, 0]) * (gt_boxes[:, 3] - gt_boxes[:, 1])
        image = _Image(
            image_id=image_id,
            pred_boxes=pred_boxes,
            pred_scores=self._vector(pred_scores, "pred_scores", n, np.float64, where),
            pred_labels=self._labels(pred_labels, "pred_labels", n, where),
            gt_boxes=gt_boxes,
            gt_labels=self._labels(gt_labels, "gt_labels", m, where),
            difficult=self._flags(gt_difficult, "gt_difficult", m, where),
            crowd=self._flags(gt_iscrowd, "gt_iscrowd", m, where),
            area=gt_area_default if gt_area is None else self._vector(gt_area, "gt_area", m, np.float64, where),
        )
        self.images.append(image)
        self._ids.add(image_id)

    @staticmethod
    def _boxes(value: Any, name: str, where: str) -> np.ndarray:
        array = _numpy(value).astype(np.float64, copy=False)
        if array.size == 0:
            return array.reshape(0, 4)
        if array.ndim != 2 or array.shape[1] != 4:
            raise ValueError(f"{where}: expected {name} of shape (N, 4) xyxy, got shape {array.shape}")
        if not np.isfinite(array).all():
            raise ValueError(f"{where}: {name} holds a NaN or infinite coordinate")
        return array

    @staticmethod
    def _vector(value: Any, name: str, n: int, dtype: type, where: str) -> np.ndarray:
        array = _numpy(value)
        array = array.reshape(0) if array.size == 0 and n == 0 else array
        if array.shape != (n,):
            raise ValueError(f"{where}: expected {name} of shape ({n},) to go with the boxes, got shape {array.shape}")
        return array.astype(dtype, copy=False)

    def _labels(self, value: Any, name: str, n: int, where: str) -> np.ndarray:
        labels = self._vector(value, name, n, np.int64, where)
        bad = (labels < 1) | (labels > self.num_classes)
        if bad.any():
            raise ValueError(
                f"{where}: {name} must be class ids in 1..{self.num_classes} (0 is background), "
                f"got {int(labels[bad][0])}"
            )
        return labels

    def _flags(self, value: Any, name: str, m: int, where: str) -> np.ndarray:
        return np.zeros(m, bool) if value is None else self._vector(value, name, m, bool, where)

    def _in_id_order(self) -> list[_Image]:
        return sorted(self.images, key=lambda image: image.image_id)

    def voc(self, iou_threshold: float = 0.5, use_07_metric: bool = False, plus_one: bool = False) -> dict[str, Any]:
        """Pascal VOC AP per class: {"ap" (K,) NaN for a class with no ground truth, "map" (their nanmean),
        "precision" / "recall" / "scores": K arrays along the detections in descending score order, "npos" (K,)
        boxes counted (not difficult), "num_detections", "num_true_positives", "num_ignored" (K,)}. Index k is
        label k + 1."""
        statuses, scores, labels, npos = [], [], [], np.zeros(self.num_classes, np.int64)
        for image in self._in_id_order():
            skip = image.difficult | image.crowd
            status, _ = match_detections(
                image.pred_boxes,
                image.pred_scores,
                image.pred_labels,
                image.gt_boxes,
                image.gt_labels,
                skip,
                iou_threshold,
                plus_one,
            )
            statuses.append(status)
            scores.append(image.pred_scores)
            labels.append(image.pred_labels)
            npos += np.bincount(image.gt_labels[~skip] - 1, minlength=self.num_classes)
        status = np.concatenate([np.zeros(0, np.int8), *statuses])
        score = np.concatenate([np.zeros(0), *scores])
        label = np.concatenate([np.zeros(0, np.int64), *labels])
        result: dict[str, Any] = {"ap": np.full(self.num_classes, np.nan), "precision": [], "recall": [], "scores": []}
        for k in range(self.num_classes):
            mine = label == k + 1
            precision, recall = precision_recall(score[mine], status[mine], int(npos[k]))
            if npos[k] > 0:
                result["ap"][k] = average_precision(recall, precision, use_07_metric)
            result["precision"].append(precision)
            result["recall"].append(recall)
            result["scores"].append(np.sort(score[mine])[::-1])
        per_class = np.arange(1, self.num_classes + 1)[:, None] == label[None, :]  # (K, detections)
        result["map"] = _nanmean(result["ap"])
        result["npos"] = npos
        result["num_detections"] = per_class.sum(axis=1)
        result["num_true_positives"] = (per_class & (status == TP)[None, :]).sum(axis=1)
        result["num_ignored"] = (per_class & (status == IGNORED)[None, :]).sum(axis=1)
        result.update(iou_threshold=iou_threshold, use_07_metric=use_07_metric, plus_one=plus_one)
        return result

    def pr_curves(self, iou_threshold: float = 0.5, plus_one: bool = False) -> list[tuple[np.ndarray, np.ndarray]]:
        """(recall, precision) of each class (index k = label k + 1) along its detections by descending score,
        VOC's matching at iou_threshold; a class with no ground truth has NaN recall."""
        result = self.voc(iou_threshold=iou_threshold, plus_one=plus_one)
        return list(zip(result["recall"], result["precision"], strict=True))

    def coco(self, max_dets: Sequence[int] = coco_eval.MAX_DETS) -> dict[str, Any]:
        """The COCO evaluation (pycocotools' numbers): {"stats" (12,) in COCOeval.stats' order with −1 where
        undefined, each also by name ("map", "map_50", "map_75", "map_small", "map_medium", "map_large",
        "mar_1", "mar_10", "mar_100", "mar_small", "mar_medium", "mar_large"), "precision" (T, R, K, A, M),
        "recall" (T, K, A, M), "ap_per_class" / "ap50_per_class" / "ap75_per_class" (K,) NaN without ground
        truth, "max_dets"}."""
        max_dets = sorted(int(m) for m in max_dets)
        images = self._in_id_order()
        per_category = [self._category_evals(images, k + 1, max_dets[-1]) for k in range(self.num_classes)]
        precision, recall = coco_eval.accumulate(per_category, max_dets)
        stats = coco_eval.summarize(precision, recall, max_dets)
        result: dict[str, Any] = {"stats": stats, **dict(zip(coco_eval.STAT_NAMES, stats.tolist(), strict=True))}
        at_last = precision[..., 0, len(max_dets) - 1]  # (T, R, K): area "all", the largest maxDets
        result["ap_per_class"] = _class_means(at_last)
        result["ap50_per_class"] = _class_means(at_last[:1])
        result["ap75_per_class"] = _class_means(at_last[5:6])
        result.update(precision=precision, recall=recall, max_dets=max_dets)
        return result

    @staticmethod
    def _category_evals(images: list[_Image], label: int, max_det: int) -> list[coco_eval.ImageEval]:
        evals = []
        for image in images:
            dt, gt = image.pred_labels == label, image.gt_labels == label
            if not dt.any() and not gt.any():
                continue
            evals.append(
                coco_eval.evaluate_image(
                    image.pred_boxes[dt],
                    image.pred_scores[dt],
                    image.gt_boxes[gt],
                    image.crowd[gt],
                    image.area[gt],
                    max_det,
                )
            )
        return evals

    def format_table(self, class_names: Sequence[str] | None = None) -> str:
        """Per-class VOC AP@0.5 and COCO AP@[.5:.95] with box counts, the means, then COCOeval's 12 lines."""
        names = list(class_names) if class_names is not None else self.class_names
        if len(names) != self.num_classes:
            raise ValueError(f"format_table: expected {self.num_classes} class names, got {len(names)}")
        return format_detection_table(self.voc(), self.coco(), names)


def _nanmean(values: np.ndarray) -> float:
    finite = values[~np.isnan(values)]
    return float(finite.mean()) if finite.size else float("nan")


def _class_means(precision: np.ndarray) -> np.ndarray:
    """(K,) mean over thresholds and recall points of (T, R, K) precision; NaN for a class marked −1."""
    valid = precision > -1
    sums = np.where(valid, precision, 0.0).sum(axis=(0, 1))
    counts = valid.sum(axis=(0, 1))
    return np.divide(sums, counts, out=np.full(sums.shape, np.nan), where=counts > 0)

"""Evaluation metrics as plain NumPy: classification accuracy and confusion matrices; segmentation's pixel
accuracy and IoUs from a dataset-wide confusion matrix (`SegmentationConfusion`); detection's Pascal VOC AP and
the COCO evaluation's 12 numbers (`DetectionEvaluator`; `voc_ap` and `coco_eval` hold the algorithms)."""

from cnnkit.metrics.classification import accuracy, confusion_matrix, per_class_accuracy
from cnnkit.metrics.detection import DetectionEvaluator
from cnnkit.metrics.segmentation import SegmentationConfusion
from cnnkit.metrics.voc_ap import average_precision, match_detections

__all__ = [
    "DetectionEvaluator",
    "SegmentationConfusion",
    "accuracy",
    "average_precision",
    "confusion_matrix",
    "match_detections",
    "per_class_accuracy",
]

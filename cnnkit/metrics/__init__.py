"""Evaluation metrics as plain NumPy: classification accuracy and confusion matrices; segmentation's pixel
accuracy and IoUs from a dataset-wide confusion matrix (`SegmentationConfusion`)."""

from cnnkit.metrics.classification import accuracy, confusion_matrix, per_class_accuracy
from cnnkit.metrics.segmentation import SegmentationConfusion

__all__ = ["SegmentationConfusion", "accuracy", "confusion_matrix", "per_class_accuracy"]

"""Evaluation metrics as plain NumPy: classification accuracy and confusion matrices (more tasks later)."""

from cnnkit.metrics.classification import accuracy, confusion_matrix, per_class_accuracy

__all__ = ["accuracy", "confusion_matrix", "per_class_accuracy"]

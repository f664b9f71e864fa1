"""Classification metrics against direct computations."""

from __future__ import annotations

import numpy as np
import pytest

from cnnkit.metrics import accuracy, confusion_matrix, per_class_accuracy


def test_confusion_matrix_counts_pairs(rng):
    targets = rng.integers(0, 4, size=500)
    preds = rng.integers(0, 4, size=500)
    expected = np.zeros((4, 4), dtype=np.int64)
    for t, p in zip(targets, preds, strict=True):
        expected[t, p] += 1
    np.testing.assert_array_equal(confusion_matrix(preds, targets, 4), expected)
    assert accuracy(preds, targets) == pytest.approx(np.trace(expected) / 500)


def test_per_class_accuracy_handles_absent_class():
    confusion = np.array([[3, 1, 0], [0, 0, 0], [1, 1, 2]])
    result = per_class_accuracy(confusion)
    assert result[0] == pytest.approx(0.75) and np.isnan(result[1]) and result[2] == pytest.approx(0.5)


def test_out_of_range_labels_are_refused():
    with pytest.raises(ValueError, match=r"targets must lie in \[0, 3\)"):
        confusion_matrix(np.array([0, 1]), np.array([0, 3]), 3)
    with pytest.raises(ValueError, match="predictions of shape"):
        accuracy(np.zeros(3), np.zeros(4))

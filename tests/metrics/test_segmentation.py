"""Segmentation metrics against hand computations: a hand-made case with ignored pixels, a class only predicted
and a class absent from both truth and prediction; accumulation over batches; scores vs class ids; errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

import cnnkit
from cnnkit.metrics import SegmentationConfusion

# two 2×4 images over 5 classes; 255 = ignore. Class 3 is only predicted (once), class 4 only at ignored pixels.
TARGET = np.array([[[0, 0, 1, 1], [0, 255, 1, 2]], [[255, 0, 2, 2], [0, 0, 2, 1]]])
PREDICTION = np.array([[[0, 1, 1, 1], [0, 4, 2, 2]], [[4, 0, 2, 0], [3, 0, 2, 1]]])
# the 14 counted (truth, prediction) pairs, tallied by hand
MATRIX = np.array([[4, 1, 0, 1, 0], [0, 3, 1, 0, 0], [1, 0, 3, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0]])


@pytest.fixture
def confusion() -> SegmentationConfusion:
    c = SegmentationConfusion(5)
    c.update(PREDICTION, TARGET)
    return c


def test_hand_made_case(confusion):
    np.testing.assert_array_equal(confusion.matrix, MATRIX)
    assert confusion.total == 14
    assert confusion.pixel_accuracy() == pytest.approx(10 / 14)
    np.testing.assert_allclose(confusion.class_accuracy(), [4 / 6, 3 / 4, 3 / 4, np.nan, np.nan])
    assert confusion.mean_class_accuracy() == pytest.approx((4 / 6 + 3 / 4 + 3 / 4) / 3)
    # IoU = n_ii / (t_i + s_i − n_ii): class 3 only predicted → 0 (counts), class 4 absent → NaN (left out)
    np.testing.assert_allclose(confusion.iou(), [4 / 7, 3 / 5, 3 / 5, 0, np.nan])
    assert confusion.mean_iou() == pytest.approx((4 / 7 + 3 / 5 + 3 / 5 + 0) / 4)
    assert confusion.frequency_weighted_iou() == pytest.approx((6 * 4 / 7 + 4 * 3 / 5 + 4 * 3 / 5) / 14)


def test_batches_accumulate_and_scores_give_the_same_matrix(confusion):
    split = SegmentationConfusion(5)
    split.update(PREDICTION[:1], TARGET[:1])
    split.update(cnnkit.tensor(PREDICTION[1:]), cnnkit.tensor(TARGET[1:]))  # tensors are accepted
    np.testing.assert_array_equal(split.matrix, MATRIX)
    scores = np.moveaxis(np.eye(5, dtype=np.float32)[PREDICTION], -1, 1)  # (N, C, H, W), argmax = PREDICTION
    from_scores = SegmentationConfusion(5)
    from_scores.update(scores, TARGET)
    np.testing.assert_array_equal(from_scores.matrix, MATRIX)
    split.reset()
    assert split.total == 0 and np.isnan(split.pixel_accuracy()) and np.isnan(split.mean_iou())


def test_random_case_matches_a_pixel_by_pixel_count():
    rng = np.random.default_rng(0)
    target = rng.integers(0, 6, (3, 9, 7))
    target[rng.random(target.shape) < 0.1] = 255
    prediction = rng.integers(0, 6, target.shape)
    expected = np.zeros((6, 6), np.int64)
    for t, p in zip(target.ravel(), prediction.ravel(), strict=True):
        if t != 255:
            expected[t, p] += 1
    c = SegmentationConfusion(6)
    c.update(prediction, target)
    np.testing.assert_array_equal(c.matrix, expected)


def test_other_ignore_index():
    c = SegmentationConfusion(2, ignore_index=-1)
    c.update(np.array([0, 1, 1]), np.array([0, -1, 0]))
    np.testing.assert_array_equal(c.matrix, [[1, 1], [0, 0]])


def test_table_and_dict(confusion):
    names = ["background", "shirt", "coat", "bag", "boot"]
    table = confusion.format_table(names)
    lines = table.splitlines()
    assert lines[0].split() == ["class", "IoU", "accuracy", "pixels", "predicted"]
    assert lines[1].split() == ["background", "0.5714", "0.6667", "6", "5"]
    assert lines[4].split() == ["bag", "0.0000", "—", "0", "1"]
    assert lines[5].split() == ["boot", "—", "—", "0", "0"]
    assert "mean IoU                0.4429  (over 4 of 5 classes)" in table
    assert f"pixel accuracy          {10 / 14:.4f}" in table
    result = json.loads(json.dumps(confusion.to_dict(names)))
    assert result["iou"]["boot"] is None and result["iou"]["bag"] == 0 and result["pixels"] == 14
    assert result["mean_iou"] == pytest.approx((4 / 7 + 1.2) / 4)


def test_bad_input_is_refused(confusion):
    with pytest.raises(ValueError, match=r"target holds class 7, outside \[0, 5\) \(or the ignore index 255\)"):
        confusion.update(np.zeros((1, 2), np.int64), np.array([[0, 7]]))
    with pytest.raises(ValueError, match=r"prediction holds class 5, outside \[0, 5\)"):
        confusion.update(np.array([[5, 0]]), np.array([[0, 0]]))
    with pytest.raises(ValueError, match=r"target's shape \(1, 2\) or scores of shape \(1, 5, 2\), got \(1, 3\)"):
        confusion.update(np.zeros((1, 3), np.int64), np.zeros((1, 2), np.int64))
    with pytest.raises(ValueError, match="expected integer class ids, got a float32 prediction"):
        confusion.update(np.zeros((1, 2), np.float32), np.zeros((1, 2), np.int64))
    with pytest.raises(ValueError, match="expected 5 class names, got 2"):
        confusion.format_table(["a", "b"])
    with pytest.raises(ValueError, match="num_classes to be a positive int, got 0"):
        SegmentationConfusion(0)
    np.testing.assert_array_equal(confusion.matrix, MATRIX)  # refused batches left the counts alone

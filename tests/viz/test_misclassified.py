"""most_confident_mistakes picks the surest wrong predictions in order; plot_misclassified draws them."""

from __future__ import annotations

import numpy as np
import pytest

from cnnkit.viz.misclassified import most_confident_mistakes, plot_misclassified
from tests.viz.png import read_png

PROBS = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7], [0.95, 0.05]])
TARGETS = np.array([0, 0, 1, 1, 1])  # wrong: 1 (0.8), 2 (0.6), 4 (0.95)


def test_order_and_limit():
    np.testing.assert_array_equal(most_confident_mistakes(PROBS, TARGETS), [4, 1, 2])
    np.testing.assert_array_equal(most_confident_mistakes(PROBS, TARGETS, k=2), [4, 1])
    assert len(most_confident_mistakes(PROBS, PROBS.argmax(axis=1))) == 0


def test_plot(tmp_path, rng):
    images = rng.random((3, 1, 10, 10)).astype(np.float32)
    chosen = most_confident_mistakes(PROBS, TARGETS)
    path = plot_misclassified(images, TARGETS[chosen], PROBS[chosen], ["shoe", "bag"], tmp_path / "m.png")
    read_png(path, (360, 405))  # 3 tiles in 2 rows × 2 columns


def test_errors(tmp_path):
    with pytest.raises(ValueError, match=r"expected probabilities \(N, classes\) and targets \(N,\)"):
        most_confident_mistakes(PROBS[0], TARGETS)
    with pytest.raises(ValueError, match="no images to draw"):
        plot_misclassified(np.zeros((0, 1, 4, 4)), [], np.zeros((0, 2)), ["a", "b"], tmp_path / "m.png")
    with pytest.raises(ValueError, match="2 images, 3 targets and 3 probability rows"):
        plot_misclassified(np.zeros((2, 1, 4, 4)), [0, 1, 0], PROBS[:3], ["a", "b"], tmp_path / "m.png")

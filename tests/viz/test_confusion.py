"""plot_confusion_matrix: size, the colour of a perfect row, and the shape check."""

from __future__ import annotations

import numpy as np
import pytest

from cnnkit.viz.confusion import plot_confusion_matrix
from tests.viz.png import colormap_rgb, has_colour, read_png


def test_confusion_png(tmp_path):
    counts = np.array([[5, 0, 0], [1, 3, 1], [0, 2, 2]])
    pixels = read_png(plot_confusion_matrix(counts, ["cat", "dog", "bird"], tmp_path / "c.png"), (480, 400))
    assert has_colour(pixels, colormap_rgb("Blues", 1.0), 2)  # the perfect first row's diagonal cell
    assert has_colour(pixels, colormap_rgb("Blues", 0.6), 2)  # dog → dog, 3 of 5


def test_shape_must_match_the_classes(tmp_path):
    with pytest.raises(ValueError, match=r"expected a 2×2 matrix for 2 classes, got shape \(3, 3\)"):
        plot_confusion_matrix(np.eye(3), ["a", "b"], tmp_path / "c.png")

"""Shifting images, accuracy under shift (a max-pooled conv detector keeps it, a fixed template loses it), the plot."""

from __future__ import annotations

import numpy as np
import pytest

from cnnkit import nn
from cnnkit.viz.shift import accuracy_under_shift, plot_shift_accuracy, shift_images
from tests.viz.png import read_png


def test_shift_moves_pixels_and_fills_with_background():
    image = np.zeros((1, 1, 5, 5), np.float32)
    image[0, 0, 2, 2] = 1.0
    moved = shift_images(image, 1, -2)
    assert moved[0, 0, 3, 0] == 1.0 and moved.sum() == 1.0
    assert shift_images(image, 0, 3).sum() == 0.0  # pushed out of the frame
    np.testing.assert_array_equal(shift_images(image, 0, 0), image)


def _bars(n: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Class 0: a horizontal 3-pixel bar at the centre of a 15×15 image; class 1: a vertical one."""
    images = np.zeros((n, 1, 15, 15), np.float32)
    labels = np.arange(n) % 2
    for i, label in enumerate(labels):
        if label == 0:
            images[i, 0, 7, 6:9] = 1.0
        else:
            images[i, 0, 6:9, 7] = 1.0
    return images, labels


def _bar_detector() -> nn.Module:
    """Convolution with a horizontal and a vertical bar kernel, then a global max: translation invariant."""
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1, bias=False), nn.AdaptiveMaxPool2d(1), nn.Flatten())
    model[0].weight._data[...] = 0.0
    model[0].weight._data[0, 0, 1, :] = 1.0
    model[0].weight._data[1, 0, :, 1] = 1.0
    return model


def _template_matcher(images: np.ndarray, labels: np.ndarray) -> nn.Module:
    """A linear layer whose weights are the centred bars: it only recognises them where they were."""
    model = nn.Sequential(nn.Flatten(), nn.Linear(15 * 15, 2))
    model[1].weight._data[...] = np.stack([images[labels == k][0].ravel() for k in (0, 1)])
    model[1].bias._data[...] = 0.0
    return model


def test_conv_and_pooling_keep_accuracy_under_shift_while_a_template_loses_it():
    images, labels = _bars()
    conv = accuracy_under_shift(_bar_detector(), images, labels, shifts=range(4))
    template = accuracy_under_shift(_template_matcher(images, labels), images, labels, shifts=range(4))
    np.testing.assert_array_equal(conv, [1.0, 1.0, 1.0, 1.0])
    # The two templates share the centre pixel. Shift 1: a bar moved along itself still overlaps its template in
    # 2 pixels (right); moved across, it touches only the other template's centre row/column (wrong): 2 of 4.
    # Shift 2: a bar overlaps its own template in 1 pixel or in none; a tie of zeros goes to class 0 (argmax), so
    # horizontal bars are always right and vertical ones only when moved along: (4 + 2) / 8. Shift 3: no overlap
    # at all, every image is called class 0: one half.
    np.testing.assert_allclose(template, [1.0, 0.5, 0.75, 0.5])


def test_transform_is_applied_after_the_shift():
    images, labels = _bars()
    calls = []
    accuracy_under_shift(_bar_detector(), images, labels, shifts=[2], transform=lambda b: calls.append(b) or b)
    assert len(calls) == 4 and calls[0][0, 0, 7, 8:11].tolist() == [1.0, 1.0, 1.0]  # moved right by 2


def test_plot_and_errors(tmp_path):
    path = plot_shift_accuracy(range(3), {"MLP": [0.9, 0.6, 0.3], "CNN": [0.9, 0.85, 0.8]}, tmp_path / "s.png")
    read_png(path, (550, 360))
    with pytest.raises(ValueError, match="'MLP' has 2 accuracies for 3 shifts"):
        plot_shift_accuracy(range(3), {"MLP": [0.9, 0.6]}, tmp_path / "s.png")
    with pytest.raises(ValueError, match="8 images but 3 labels"):
        accuracy_under_shift(_bar_detector(), _bars()[0], [0, 1, 0])

"""Mask colours (VOC's palette, 255 = ignore), overlays, error maps and the input | truth | prediction | errors
figure, checked pixel by pixel on hand-made masks."""

from __future__ import annotations

import numpy as np
import pytest

from cnnkit.viz.segmentation import colorize_mask, error_map, overlay_mask, plot_segmentation
from tests.viz.png import has_colour, read_png

MASK = np.array([[0, 1, 2], [255, 1, 0]])


def test_colorize_mask_uses_vocs_palette():
    colours = colorize_mask(MASK)
    assert colours.dtype == np.uint8 and colours.shape == (2, 3, 3)
    np.testing.assert_array_equal(colours[0], [[0, 0, 0], [128, 0, 0], [0, 128, 0]])
    np.testing.assert_array_equal(colours[1, 0], [224, 224, 192])  # ignore
    own = np.zeros((256, 3), np.uint8)
    own[1] = (1, 2, 3)
    np.testing.assert_array_equal(colorize_mask(MASK, own)[0, 1], [1, 2, 3])


def test_overlay_blends_all_but_background():
    image = np.full((1, 2, 3), 0.4, np.float32)  # grey 102 in [0, 255]
    out = overlay_mask(image, MASK, alpha=0.25)
    np.testing.assert_array_equal(out[0, 0], [102, 102, 102])  # background: the image
    np.testing.assert_array_equal(out[0, 1], np.rint([0.75 * 102 + 0.25 * 128, 76.5, 76.5]))
    np.testing.assert_array_equal(out[1, 0], np.rint([0.75 * 102 + 0.25 * 224] * 2 + [0.75 * 102 + 0.25 * 192]))
    picture = np.full((2, 3, 3), 200, np.uint8)  # a Pillow-style RGB picture
    np.testing.assert_array_equal(overlay_mask(picture, MASK, alpha=1.0)[0, 2], [0, 128, 0])


def test_error_map():
    prediction = np.array([[0, 2, 2], [3, 1, 1]])
    out = error_map(MASK, prediction)
    np.testing.assert_array_equal(out[0], [[0, 0, 0], [255, 0, 0], [0, 0, 0]])
    np.testing.assert_array_equal(out[1], [[224, 224, 192], [0, 0, 0], [255, 0, 0]])


def test_plot_segmentation(tmp_path, rng):
    images = rng.random((2, 1, 8, 8)).astype(np.float32)
    targets = np.zeros((2, 8, 8), np.int64)
    targets[:, 2:6, 2:6] = 1
    targets[0, 0, :] = 255
    predictions = targets.copy()
    predictions[0, 0] = 0
    predictions[1, 3:5, 3:5] = 2
    path = plot_segmentation(images, targets, predictions, ["background", "shirt", "coat"], tmp_path / "s.png")
    pixels = read_png(path, (640, 400))  # 4 columns × 1.6 in, 2 rows × 1.6 in + 0.8 in of legend, at 100 dpi
    assert has_colour(pixels, (255, 0, 0)) and has_colour(pixels, (224, 224, 192))  # errors and ignored pixels
    assert has_colour(pixels, (0, 128, 0))  # the coat's legend patch
    assert 60 < pixels[60:300, 10:150].mean() < 200  # the input column shows the random image, not a white box


def test_errors(tmp_path):
    with pytest.raises(ValueError, match=r"colorize_mask: expected an \(H, W\) mask of integer class ids"):
        colorize_mask(np.zeros((2, 2), np.float32))
    with pytest.raises(ValueError, match=r"class ids must lie in \[0, 255\].*got \[0, 300\]"):
        colorize_mask(np.array([[0, 300]]))
    with pytest.raises(ValueError, match=r"image of size \(2, 2\) and mask of size \(2, 3\) differ"):
        overlay_mask(np.zeros((2, 2)), MASK)
    with pytest.raises(ValueError, match="alpha must be in"):
        overlay_mask(np.zeros((2, 3)), MASK, alpha=2)
    with pytest.raises(ValueError, match="class id 2 has no name"):
        plot_segmentation(np.zeros((1, 1, 2, 3)), MASK[None] % 255, MASK[None] % 255, ["bg", "a"], tmp_path / "s.png")
    with pytest.raises(ValueError, match="as many images, targets and predictions"):
        plot_segmentation(np.zeros((2, 1, 2, 3)), MASK[None], MASK[None], ["bg", "a", "b"], tmp_path / "s.png")

"""plot_filters: grey kernels in a diverging map, RGB kernels in colour, size, labels, errors."""

from __future__ import annotations

import numpy as np
import pytest

from cnnkit import nn
from cnnkit.viz.filters import filter_images, plot_filters
from tests.viz.png import colormap_rgb, has_colour, read_png


def _grey_model() -> nn.Module:
    model = nn.Sequential(nn.Conv2d(1, 6, 5), nn.ReLU(), nn.Conv2d(6, 4, 3))
    weight = np.zeros((6, 1, 5, 5), np.float32)
    weight[:, 0, :2] = 2.0  # top rows at +max (darkest red), bottom rows at −max (darkest blue)
    weight[:, 0, 3:] = -2.0
    model[0].weight._data[...] = weight
    return model


def test_grey_kernels_in_a_diverging_map(tmp_path):
    pixels = read_png(plot_filters(_grey_model(), tmp_path / "filters.png"), (380, 279))  # 2×3 tiles + colour bar
    assert has_colour(pixels, colormap_rgb("RdBu_r", 1.0)) and has_colour(pixels, colormap_rgb("RdBu_r", 0.0))


def test_rgb_kernels_in_colour(tmp_path):
    model = nn.Sequential(nn.Conv2d(3, 4, 3))
    weight = np.zeros((4, 3, 3, 3), np.float32)
    weight[:, 0] = 1.0  # every kernel: pure red where the red weights are highest
    weight[:, :, 0, 0] = 0.0
    model[0].weight._data[...] = weight
    pixels = read_png(plot_filters(model, tmp_path / "rgb.png"), (280, 279))
    assert has_colour(pixels, (255, 0, 0))
    np.testing.assert_allclose(filter_images(weight)[0, 1, 1], [1.0, 0.0, 0.0])
    np.testing.assert_allclose(filter_images(weight)[0, 0, 0], [0.0, 0.0, 0.0])


def test_each_grey_kernel_is_scaled_by_its_own_peak():
    weight = np.arange(2 * 4, dtype=np.float32).reshape(2, 1, 2, 2) - 2
    images = filter_images(weight)
    np.testing.assert_allclose(images[0], [[-1.0, -0.5], [0.0, 0.5]])
    np.testing.assert_allclose(images[1], [[2 / 5, 3 / 5], [4 / 5, 1.0]])


def test_a_named_layer_and_the_errors(tmp_path):
    model = _grey_model()
    with pytest.raises(ValueError, match=r"layer '2' has kernels over 6 input channels"):
        plot_filters(model, tmp_path / "x.png", layer="2")
    with pytest.raises(ValueError, match=r"layer '1' is a ReLU, not a Conv2d"):
        plot_filters(model, tmp_path / "x.png", layer="1")
    with pytest.raises(ValueError, match=r"no layer 'conv1'; its layers are: '0', '1', '2'"):
        plot_filters(model, tmp_path / "x.png", layer="conv1")
    with pytest.raises(ValueError, match="has no Conv2d layer"):
        plot_filters(nn.Sequential(nn.Linear(2, 2)), tmp_path / "x.png")

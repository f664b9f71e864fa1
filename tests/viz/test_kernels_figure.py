"""plot_kernels: the image, its five filtered versions and the kernels' values, from grey and colour images."""

from __future__ import annotations

import numpy as np
import pytest

from cnnkit.signal.kernels import gaussian_blur
from cnnkit.viz.kernels_figure import _number, plot_kernels
from tests.viz.png import colormap_rgb, has_colour, read_png


def _square() -> np.ndarray:
    image = np.zeros((20, 20), np.float32)
    image[5:15, 5:15] = 1.0
    return image


def test_figure_of_all_kernels(tmp_path):
    pixels = read_png(plot_kernels(_square(), tmp_path / "k.png"), (1020, 380))  # 6 columns × 1.7 in, 2 rows
    # edge responses are signed: the strongest positive and negative ones take the map's ends
    assert has_colour(pixels, colormap_rgb("RdBu_r", 1.0), 2) and has_colour(pixels, colormap_rgb("RdBu_r", 0.0), 2)


def test_colour_image_and_chosen_kernels(tmp_path):
    colour = np.stack([_square(), _square() * 0.5, np.zeros((20, 20), np.float32)])
    read_png(plot_kernels(colour, tmp_path / "k.png", {"blur": gaussian_blur}), (340, 380))


def test_numbers_and_errors(tmp_path):
    assert [_number(v) for v in (4.0, -1.0, 0.125, 0.3)] == ["4", "-1", "2/16", "0.30"]
    with pytest.raises(
        ValueError, match=r"expected an image \(H, W\), \(1, H, W\) or \(3, H, W\), got shape \(2, 5, 5\)"
    ):
        plot_kernels(np.zeros((2, 5, 5)), tmp_path / "k.png")
    with pytest.raises(ValueError, match="no kernels given"):
        plot_kernels(_square(), tmp_path / "k.png", {})

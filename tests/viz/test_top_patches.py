"""top_patches: the running top-k equals a brute-force search; crops follow the receptive field; the grid."""

from __future__ import annotations

import numpy as np
import pytest

import cnnkit
from cnnkit import nn
from cnnkit.data import ArrayDataset
from cnnkit.data.transforms import Normalize
from cnnkit.receptive_field import receptive_field
from cnnkit.viz.feature_maps import feature_maps
from cnnkit.viz.top_patches import crop_patch, plot_top_patches, top_patches
from tests.viz.png import has_colour, read_png


def _dataset(n: int = 23) -> ArrayDataset:
    """Dark noisy 16×16 images, each with a bright 3×3 block somewhere (some at the border)."""
    rng = np.random.default_rng(5)
    images = rng.integers(0, 40, (n, 16, 16)).astype(np.uint8)
    for i in range(n):
        row, col = rng.integers(0, 14, 2)
        images[i, row : row + 3, col : col + 3] = rng.integers(120, 256)
    return ArrayDataset(images, rng.integers(0, 3, n))


def _model() -> nn.Module:
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.MaxPool2d(2), nn.Conv2d(2, 3, 3))
    cnnkit.manual_seed(1)
    model[0].weight._data[0] = 1 / 9  # channel 0: local brightness; channel 1: its negative
    model[0].weight._data[1] = -1 / 9
    return model


def test_top_k_equals_brute_force_over_batches():
    dataset, model, normalize = _dataset(), _model(), Normalize(0.2, 0.4)
    found = top_patches(model, "1", [0, 1], dataset, k=9, batch_size=5, transform=normalize)
    inputs = normalize(np.stack([dataset[i][0] for i in range(len(dataset))]))
    maps = feature_maps(model, "1", inputs)  # (N, 2, 8, 8)
    field = receptive_field(model, "1")
    for channel in (0, 1):
        flat = maps[:, channel].reshape(len(dataset), -1)
        best = flat.max(axis=1)
        order = np.argsort(-best, kind="stable")[:9]
        patches = found[channel]
        assert [p.index for p in patches] == order.tolist()
        np.testing.assert_allclose([p.value for p in patches], best[order], rtol=1e-6)
        for patch in patches:
            assert maps[patch.index, channel, patch.row, patch.col] == pytest.approx(patch.value, rel=1e-6)
            assert patch.box == field.box(patch.row, patch.col)
            expected = crop_patch(dataset[patch.index][0], field, patch.row, patch.col)
            np.testing.assert_array_equal(patch.image, expected)  # the stored pixels, not the normalised ones


def test_crop_pads_outside_the_image_with_nan():
    image = np.arange(2 * 6 * 6, dtype=np.float32).reshape(2, 6, 6)
    field = receptive_field(_model(), "1")  # 4×4 at jump 2, starting at −1
    corner = crop_patch(image, field, 0, 0)
    assert corner.shape == (2, 4, 4)
    assert np.isnan(corner[:, 0]).all() and np.isnan(corner[:, :, 0]).all()
    np.testing.assert_array_equal(corner[:, 1:, 1:], image[:, :3, :3])
    np.testing.assert_array_equal(crop_patch(image, field, 1, 1), image[:, 1:5, 1:5])


def test_fewer_images_than_k_and_max_images():
    dataset = _dataset(5)
    assert len(top_patches(_model(), "0", 0, dataset, k=9)[0]) == 5
    limited = top_patches(_model(), "0", [1], dataset, k=9, max_images=3)[1]
    assert sorted(p.index for p in limited) == [0, 1, 2]


def test_grid_is_drawn_with_grey_outside(tmp_path):
    patches = top_patches(_model(), "1", 0, _dataset(), k=9)[0]
    patches[0].image[:, 0, :] = np.nan  # a row outside the image
    pixels = read_png(plot_top_patches(patches, tmp_path / "top.png", names=["a"] * 9), (360, 481))
    assert has_colour(pixels, (128, 128, 128), tolerance=1)


def test_errors():
    dataset, model = _dataset(4), _model()
    with pytest.raises(ValueError, match=r"layer '1' has 2 channels \(0 to 1\), got channel 5"):
        top_patches(model, "1", [0, 5], dataset)
    with pytest.raises(ValueError, match="k must be at least 1, got 0"):
        top_patches(model, "1", 0, dataset, k=0)
    with pytest.raises(ValueError, match=r"has no layer 'conv'; its layers are: '0', '1', '2'"):
        top_patches(model, "conv", 0, dataset)
    with pytest.raises(ValueError, match="no patches to draw"):
        plot_top_patches([], "unused.png")

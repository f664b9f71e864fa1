"""generate(): reproducible images in [0, 1], per-class labels, argument checks; the pictures' layout."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import cnnkit
from cnnkit.diffusion.gaussian import diffusion_unet
from cnnkit.diffusion.generate import balanced_labels, generate, to_unit
from cnnkit.diffusion.pictures import mosaic, save_sample_grid, save_trajectory


@pytest.fixture(scope="module")
def model():
    cnnkit.manual_seed(0)
    m = diffusion_unet(base_channels=8, channel_mults=(1, 2), num_groups=4, num_classes=3, timesteps=50)
    rng = np.random.default_rng(0)
    for p in m.net.parameters():
        p._data[...] = rng.standard_normal(p.shape).astype(np.float32) * 0.05
    m.ema.update(m.net)
    return m


def test_same_seed_same_images_other_seed_other_images(model) -> None:
    kwargs = {"labels": balanced_labels(6, 3), "guidance": 1.0, "steps": 5, "image_shape": (1, 8, 8)}
    a, b = generate(model, 6, seed=1, **kwargs), generate(model, 6, seed=1, **kwargs)
    np.testing.assert_array_equal(a.images, b.images)
    assert a.images.shape == (6, 1, 8, 8) and a.images.min() >= 0 and a.images.max() <= 1
    assert np.abs(generate(model, 6, seed=2, **kwargs).images - a.images).max() > 0.01
    online = generate(model, 6, seed=1, use_ema=False, **kwargs)
    assert np.abs(online.images - a.images).max() > 0  # the EMA (one update from the start) differs
    ddpm = generate(model, 2, sampler="ddpm", trajectory=3, image_shape=(1, 8, 8))
    assert [t for t, _ in ddpm.trajectory] == [50, 25, 0]


def test_generate_refuses_bad_requests(model) -> None:
    with pytest.raises(ValueError, match="positive number of samples"):
        generate(model, 0)
    with pytest.raises(ValueError, match="unknown sampler 'euler'"):
        generate(model, 2, sampler="euler")
    with pytest.raises(ValueError, match="3 labels for 2 samples"):
        generate(model, 2, labels=np.arange(3))
    np.testing.assert_array_equal(balanced_labels(7, 3), [0, 1, 2, 0, 1, 2, 0])
    np.testing.assert_array_equal(to_unit(np.array([-2.0, -1.0, 0.0, 1.0])), [0, 0, 0.5, 1])


def test_mosaic_places_tiles_row_by_row_on_white() -> None:
    tiles = np.stack([np.full((1, 2, 2), v, np.float32) for v in (0.0, 0.25, 0.5)])
    canvas = mosaic(tiles, cols=2)
    assert canvas.shape == (5, 5)
    np.testing.assert_array_equal(canvas[:2, :2], 0.0)
    np.testing.assert_array_equal(canvas[:2, 3:], 0.25)
    np.testing.assert_array_equal(canvas[3:, :2], 0.5)
    np.testing.assert_array_equal(canvas[2], 1.0)  # the gap row
    np.testing.assert_array_equal(canvas[3:, 3:], 1.0)  # the empty last tile


def test_grid_and_trajectory_pngs(tmp_path) -> None:
    images = np.random.default_rng(0).random((6, 1, 28, 28))
    grid = save_sample_grid(images, tmp_path / "g.png", cols=3, row_labels=["a", "b"], title="t")
    with Image.open(grid) as png:
        assert png.format == "PNG" and png.width > 3 * 28 and png.height > 2 * 28
    with pytest.raises(ValueError, match="3 row labels for 2 rows"):
        save_sample_grid(images, tmp_path / "x.png", cols=3, row_labels=["a", "b", "c"])
    trajectory = [(t, np.random.default_rng(t).standard_normal((4, 1, 28, 28))) for t in (1000, 500, 0)]
    with Image.open(save_trajectory(trajectory, tmp_path / "t.png", samples=2)) as png:
        assert png.width > 3 * 28 and png.height > 2 * 28
    with pytest.raises(ValueError, match="trajectory is empty"):
        save_trajectory([], tmp_path / "e.png")

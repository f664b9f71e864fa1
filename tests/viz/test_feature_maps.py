"""feature_maps / plot_feature_maps: the captured activations equal the layer's own output; errors name layers."""

from __future__ import annotations

import numpy as np
import pytest

import cnnkit
from cnnkit import nn
from cnnkit.viz.feature_maps import feature_maps, plot_feature_maps
from tests.viz.png import read_png


def _model() -> nn.Module:
    cnnkit.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 5, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.BatchNorm2d(5),
        nn.Dropout(0.5),
        nn.Flatten(),
        nn.Linear(5 * 6 * 6, 3),
    )


def test_maps_equal_the_layer_output_in_eval_mode_and_modes_are_restored(rng):
    model = _model()
    model.train()
    x = rng.standard_normal((2, 1, 12, 12)).astype(np.float32)
    maps = feature_maps(model, "3", x)
    with cnnkit.no_grad():
        model.eval()
        expected = model[3](model[2](model[1](model[0](cnnkit.tensor(x))))).numpy()
        model.train()
    np.testing.assert_allclose(maps, expected, rtol=1e-6)
    assert maps.shape == (2, 5, 6, 6)
    assert feature_maps(model, "0", x[0]).shape == (5, 12, 12)  # one image in, one image's maps out
    assert all(m.training for m in model.modules())  # back in training mode, as it was
    assert not model[0]._forward_hooks  # the hook is gone


def test_plot_size_and_content(tmp_path, rng):
    image = rng.standard_normal((1, 12, 12)).astype(np.float32)
    path = plot_feature_maps(_model(), "0", image, tmp_path / "maps.png")
    read_png(path, (330, 319))  # input + 5 maps: 2 rows × 3 columns of 1.1-inch tiles


def test_errors_name_the_layer(tmp_path, rng):
    model = _model()
    x = rng.standard_normal((1, 12, 12)).astype(np.float32)
    with pytest.raises(ValueError, match=r"no layer 'conv1'; its layers are: '0', '1', '2', '3', '4', '5', '6'"):
        feature_maps(model, "conv1", x)
    with pytest.raises(ValueError, match=r"layer '6' gives output of shape \(1, 3\), not feature maps"):
        feature_maps(model, "6", x)
    with pytest.raises(ValueError, match=r"expected one image \(C, H, W\), got a batch of 2"):
        plot_feature_maps(model, "0", np.zeros((2, 1, 12, 12), np.float32), tmp_path / "x.png")
    with pytest.raises(ValueError, match=r"expected an image \(C, H, W\) or a batch \(N, C, H, W\), got shape \(12,"):
        feature_maps(model, "0", np.zeros((12, 12), np.float32))

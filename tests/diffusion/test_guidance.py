"""Classifier-free guidance and the network as an ε-function."""

from __future__ import annotations

import numpy as np
import pytest

import cnnkit
from cnnkit.diffusion.guidance import epsilon_function, guided_epsilon
from cnnkit.diffusion.model import DiffusionUNet


@pytest.fixture(scope="module")
def net() -> DiffusionUNet:
    cnnkit.manual_seed(0)
    model = DiffusionUNet(base_channels=8, channel_mults=(1, 2), num_classes=3, num_groups=4)
    rng = np.random.default_rng(0)
    for p in model.parameters():
        p._data[...] = rng.standard_normal(p.shape).astype(np.float32) * 0.1
    return model.eval()


def test_guidance_is_the_formula_of_the_two_predictions(net) -> None:
    x = np.random.default_rng(1).standard_normal((4, 1, 8, 8)).astype(np.float32)
    y = np.array([0, 1, 2, 0])
    with cnnkit.no_grad():
        cond = net(cnnkit.tensor(x), 300, y)._data
        uncond = net(cnnkit.tensor(x), 300, None)._data
    assert np.abs(cond - uncond).max() > 1e-3
    np.testing.assert_array_equal(guided_epsilon(net, x, 300, y, 0.0), cond)  # w = 0: the conditional ε
    np.testing.assert_allclose(guided_epsilon(net, x, 300, y, 2.0), 3 * cond - 2 * uncond, atol=1e-5)
    np.testing.assert_array_equal(guided_epsilon(net, x, 300, None, 2.0), uncond)


def test_epsilon_function_chunks_without_changing_the_result(net) -> None:
    x = np.random.default_rng(2).standard_normal((5, 1, 8, 8)).astype(np.float32)
    y = np.array([2, 1, 0, 1, 2])
    whole = epsilon_function(net, y, 1.5)(x, 10)
    chunked = epsilon_function(net, y, 1.5, batch_size=2)(x, 10)
    np.testing.assert_allclose(chunked, whole, atol=1e-5)
    with pytest.raises(ValueError, match=r"class labels must lie in 0 … 2"):
        epsilon_function(net, np.array([3]))
    with pytest.raises(ValueError, match="unconditional"):
        epsilon_function(DiffusionUNet(base_channels=8, num_groups=4), np.array([0]))

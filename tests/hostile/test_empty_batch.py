"""An empty batch (N = 0) through the spatial layers, forward and backward, as PyTorch: empty outputs of the
right shape, empty input gradients, zero parameter gradients, running statistics untouched."""

from __future__ import annotations

import numpy as np
import pytest

import cnnkit
from cnnkit import nn

LAYERS = {
    "Conv2d": (lambda: nn.Conv2d(3, 4, 3, padding=1), (0, 4, 5, 5)),
    "Conv2d-strided": (lambda: nn.Conv2d(3, 4, 3, stride=2), (0, 4, 2, 2)),
    "ConvTranspose2d": (lambda: nn.ConvTranspose2d(3, 4, 3, stride=2), (0, 4, 11, 11)),
    "MaxPool2d": (lambda: nn.MaxPool2d(2), (0, 3, 2, 2)),
    "AvgPool2d": (lambda: nn.AvgPool2d(2), (0, 3, 2, 2)),
    "BatchNorm2d": (lambda: nn.BatchNorm2d(3), (0, 3, 5, 5)),
}
def _check_empty_batch(name: str) -> None:
    build, out_shape = LAYERS[name]
    layer = build()
    layer.train()
    stats = {k: v._data.copy() for k, v in layer.state_dict().items() if "running" in k}
    x = cnnkit.tensor(np.zeros((0, 3, 5, 5), np.float32), requires_grad=True)
    y = layer(x)
    assert y.shape == out_shape
    y.sum().backward()
    assert x.grad is not None and x.grad.shape == (0, 3, 5, 5)
    for pname, parameter in layer.named_parameters():
        assert parameter.grad is not None, pname
        np.testing.assert_array_equal(parameter.grad._data, np.zeros_like(parameter._data), err_msg=pname)
    for key, before in stats.items():
        np.testing.assert_array_equal(layer.state_dict()[key]._data, before, err_msg=key)


@pytest.mark.parametrize("name", [
    "Conv2d", "Conv2d-strided",
    "ConvTranspose2d",
    "MaxPool2d", "AvgPool2d", "BatchNorm2d",
])
def test_empty_batch_forward_and_backward_as_pytorch(name):
    _check_empty_batch(name)


@pytest.mark.torch
@pytest.mark.parametrize("name", list(LAYERS))
def test_the_expected_shapes_are_pytorchs(name):
    torch = pytest.importorskip("torch")
    layers = {"Conv2d": torch.nn.Conv2d(3, 4, 3, padding=1), "Conv2d-strided": torch.nn.Conv2d(3, 4, 3, stride=2),
              "ConvTranspose2d": torch.nn.ConvTranspose2d(3, 4, 3, stride=2), "MaxPool2d": torch.nn.MaxPool2d(2),
              "AvgPool2d": torch.nn.AvgPool2d(2), "BatchNorm2d": torch.nn.BatchNorm2d(3)}
    x = torch.zeros((0, 3, 5, 5), requires_grad=True)
    y = layers[name](x)
    y.sum().backward()
    assert tuple(y.shape) == LAYERS[name][1]
    assert all(float(p.grad.abs().sum()) == 0 for p in layers[name].parameters())

"""Finding a layer by its `named_modules` name and capturing its output with a forward hook.

The model runs in eval mode under `no_grad` (BatchNorm uses its running statistics, dropout is off) and every
module is put back in the mode it was in afterwards, so looking inside a model never changes it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

import cnnkit
from cnnkit import nn


def find_layer(model: nn.Module, name: str, what: str = "viz") -> nn.Module:
    """The module called `name`; an unknown name raises a ValueError listing the valid ones."""
    modules = dict(model.named_modules())
    if name not in modules or name == "":
        valid = ", ".join(repr(n) for n in modules if n)
        raise ValueError(f"{what}: {type(model).__name__} has no layer {name!r}; its layers are: {valid}")
    return modules[name]


def conv_layers(model: nn.Module) -> list[tuple[str, nn.Conv2d]]:
    """Every Conv2d in module order, with its name."""
    return [(name, m) for name, m in model.named_modules() if isinstance(m, nn.Conv2d)]


def first_conv(model: nn.Module, what: str = "viz") -> tuple[str, nn.Conv2d]:
    layers = conv_layers(model)
    if not layers:
        raise ValueError(f"{what}: {type(model).__name__} has no Conv2d layer")
    return layers[0]


@contextmanager
def evaluating(model: nn.Module) -> Iterator[None]:
    """Eval mode and no_grad inside the block; every module's own mode restored after it."""
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        with cnnkit.no_grad():
            yield
    finally:
        for module, training in modes:
            module.training = training


@contextmanager
def capturing(model: nn.Module, layer: str, what: str = "viz") -> Iterator[dict[str, np.ndarray]]:
    """Inside the block, every forward pass stores `layer`'s output array under key 'output'."""
    captured: dict[str, np.ndarray] = {}

    def hook(module: nn.Module, args: tuple, output: Any) -> None:
        out = output[0] if isinstance(output, tuple) else output
        captured["output"] = np.asarray(getattr(out, "_data", out))

    handle = find_layer(model, layer, what).register_forward_hook(hook)
    try:
        with evaluating(model):
            yield captured
    finally:
        handle.remove()


def as_batch(images: Any, what: str = "viz") -> np.ndarray:
    """A float32 (N, C, H, W) array from a (C, H, W) image or an (N, C, H, W) batch (arrays or Tensors)."""
    array = np.asarray(getattr(images, "_data", images), dtype=np.float32)
    if array.ndim == 3:
        array = array[None]
    if array.ndim != 4:
        raise ValueError(f"{what}: expected an image (C, H, W) or a batch (N, C, H, W), got shape {array.shape}")
    return array

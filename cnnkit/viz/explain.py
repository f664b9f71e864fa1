"""Where a classifier looks: Grad-CAM (Selvaraju 2017) and gradient saliency (Simonyan 2014).

Both differentiate the target class's score y_c (the logit, before softmax) of one image:

    Grad-CAM   α_k = mean_ij ∂y_c/∂A_kij                    (A: the layer's output, K × h × w)
               cam = ReLU(Σ_k α_k A_k), resized bilinearly to the image and divided by its maximum
    saliency   s_ij = max_channel |∂y_c/∂x_ij|, divided by its maximum

The model runs in eval mode (batch norm's running statistics, no dropout) with its parameters frozen for the
call, so explaining an image never touches a parameter's `.grad`; every module's mode and every parameter's
`requires_grad` are restored afterwards. `target=None` explains the predicted class.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

import cnnkit
from cnnkit import nn
from cnnkit.ops.resample import interpolate
from cnnkit.viz.hooks import as_batch, find_layer

_POOLING = (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)


@dataclass
class GradCam:
    """Grad-CAM of one image for one class."""

    heatmap: np.ndarray  # (H, W) at the image's size, in [0, 1]
    cam: np.ndarray  # (h, w) ReLU(Σ_k α_k A_k) at the layer's size, not normalised
    activations: np.ndarray  # A, (K, h, w)
    gradients: np.ndarray  # ∂y_c/∂A, (K, h, w)
    weights: np.ndarray  # α_k, (K,)
    target: int
    probability: float  # softmax probability of the target class
    layer: str


@dataclass
class Saliency:
    """Gradient saliency of one image for one class."""

    heatmap: np.ndarray  # (H, W), max over channels of |∂y_c/∂x|, in [0, 1]
    gradient: np.ndarray  # ∂y_c/∂x, (C, H, W)
    target: int
    probability: float


@contextmanager
def _explaining(model: nn.Module) -> Iterator[None]:
    """Eval mode, gradients on, parameters frozen; all restored afterwards."""
    modes = [(m, m.training) for m in model.modules()]
    frozen = [(p, p.requires_grad) for p in model.parameters()]
    model.eval()
    for p, _ in frozen:
        p.requires_grad = False
    try:
        with cnnkit.enable_grad():
            yield
    finally:
        for module, training in modes:
            module.training = training
        for p, requires_grad in frozen:
            p.requires_grad = requires_grad


def _one_image(image: Any, what: str) -> cnnkit.Tensor:
    batch = as_batch(image, what)
    if len(batch) != 1:
        raise ValueError(f"{what}: expected one image (C, H, W), got a batch of {len(batch)}")
    return cnnkit.tensor(batch, requires_grad=True)


def _class_score(logits: cnnkit.Tensor, target: int | None, what: str) -> tuple[cnnkit.Tensor, int, float]:
    if logits.ndim != 2:
        raise ValueError(f"{what}: expected the model to return class scores (1, classes), got {logits.shape}")
    row = logits._data[0].astype(np.float64)
    target = int(np.argmax(row)) if target is None else int(target)
    if not 0 <= target < row.size:
        raise ValueError(f"{what}: target {target} is not a class index (the model has {row.size} classes)")
    z = np.exp(row - row.max())
    return logits[0, target], target, float(z[target] / z.sum())


def _unit(heatmap: np.ndarray) -> np.ndarray:
    top = float(heatmap.max())
    return (heatmap / top if top > 0 else np.zeros_like(heatmap)).astype(np.float32)


def grad_cam(model: nn.Module, layer: str | None, image: Any, target: int | None = None) -> GradCam:
    """Grad-CAM of `image` (C, H, W) for class `target` (default: the predicted one) at `layer`'s output.

    `layer` is a `named_modules` name; None picks `default_cam_layer(model, image)`.
    """
    layer = default_cam_layer(model, image) if layer is None else layer
    module = find_layer(model, layer, "grad_cam")
    captured: list[cnnkit.Tensor] = []

    def hook(_module: nn.Module, _args: tuple, output: Any) -> None:
        out = output[0] if isinstance(output, tuple) else output
        out.retain_grad()
        captured[:] = [out]  # a module called twice (a reused ReLU) keeps its last output

    x = _one_image(image, "grad_cam")
    handle = module.register_forward_hook(hook)
    try:
        with _explaining(model):
            score, target, probability = _class_score(model(x), target, "grad_cam")
            score.backward()
    finally:
        handle.remove()
    if not captured or captured[0].ndim != 4:
        shape = captured[0].shape if captured else "nothing"
        raise ValueError(f"grad_cam: layer {layer!r} gives {shape}, not feature maps (1, K, h, w); choose a conv "
                         "or activation layer before the flatten")
    activations = captured[0]._data[0].astype(np.float64)
    grad = captured[0].grad
    gradients = np.zeros_like(activations) if grad is None else grad._data[0].astype(np.float64)
    weights = gradients.mean(axis=(1, 2))
    cam = np.maximum(np.tensordot(weights, activations, axes=1), 0.0)
    with cnnkit.no_grad():
        resized = interpolate(cnnkit.tensor(cam[None, None], dtype=np.float64), size=tuple(x.shape[2:]),
                              mode="bilinear", align_corners=False)._data[0, 0]
    return GradCam(_unit(resized), cam, activations, gradients, weights, target, probability, layer)


def saliency(model: nn.Module, image: Any, target: int | None = None) -> Saliency:
    """Gradient saliency of `image` (C, H, W) for class `target` (default: the predicted one)."""
    x = _one_image(image, "saliency")
    with _explaining(model):
        score, target, probability = _class_score(model(x), target, "saliency")
        score.backward()
    gradient = x.grad._data[0].astype(np.float64)
    return Saliency(_unit(np.abs(gradient).max(axis=0)), gradient, target, probability)


def default_cam_layer(model: nn.Module, image: Any) -> str:
    """The last leaf module to run whose output is feature maps larger than 1×1, pooling excluded: for a
    conv → batch norm → ReLU stack, the last ReLU; for a ResNet, the ReLU after the last residual sum."""
    order: list[str] = []
    names = {id(m): n for n, m in model.named_modules() if n and not list(m.children())}

    def hook(module: nn.Module, _args: tuple, output: Any) -> None:
        out = output[0] if isinstance(output, tuple) else output
        if getattr(out, "ndim", 0) == 4 and out.shape[2] * out.shape[3] > 1 and not isinstance(module, _POOLING):
            order.append(names[id(module)])

    handles = [m.register_forward_hook(hook) for n, m in model.named_modules() if id(m) in names]
    try:
        with _explaining(model), cnnkit.no_grad():
            model(cnnkit.tensor(as_batch(image, "grad_cam")[:1]))
    finally:
        for h in handles:
            h.remove()
    if not order:
        raise ValueError(f"grad_cam: {type(model).__name__} has no layer giving feature maps larger than 1×1")
    return order[-1]

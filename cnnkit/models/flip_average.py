"""`FlipAverage`: flip test-time augmentation, a model's class probabilities averaged over an image and its mirror.

The wrapped model sees the batch as given and mirrored left to right. A dense (N, C, H, W) output of the mirror is
mirrored back, so that every pixel's two predictions are about the same place; a (N, C) output is used as is.
The output is log((softmax(f(x)) + flip(softmax(f(flip(x))))) / 2): log-probabilities, which `argmax`,
`cross_entropy` and `softmax` read exactly as they read logits. It costs two forward passes.
"""

from __future__ import annotations

from cnnkit.nn.module import Module
from cnnkit.tensor import Tensor


def mirror(x: Tensor) -> Tensor:
    """x reversed along its last (width) axis; differentiable, as an indexing op."""
    return x[..., ::-1]


class FlipAverage(Module):
    """Average `model`'s class probabilities (dim 1) over the input and its left–right mirror."""

    def __init__(self, model: Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 4:
            raise ValueError(f"FlipAverage: expected a batch of images (N, C, H, W), got shape {tuple(x.shape)}")
        direct = self.model(x).softmax(1)
        mirrored = self.model(mirror(x)).softmax(1)
        if mirrored.ndim == 4:
            mirrored = mirror(mirrored)
        return ((direct + mirrored) * 0.5).log()

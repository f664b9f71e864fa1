"""Dropout layers: `Dropout` (zero elements) and `Dropout2d` (zero whole channels), active only in training mode.

Kept values are scaled by 1 / (1 − p) so eval mode is the identity. Masks come from cnnkit's seeded
generator. `inplace=True` is accepted and shown in repr but ignored (a new array is always returned).
"""

from __future__ import annotations

import cnnkit.nn.functional as F
from cnnkit.nn.module import Module
from cnnkit.tensor import Tensor


class _DropoutNd(Module):
    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.inplace = inplace

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """Zero each element with probability p during training."""

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002 - PyTorch's name
        return F.dropout(input, self.p, self.training)


class Dropout2d(_DropoutNd):
    """Zero each (sample, channel) feature map with probability p during training; input (N, C, H, W) or (C, H, W)."""

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        if input.ndim not in (3, 4):
            raise self._input_error(f"expected input of shape (N, C, H, W) or (C, H, W), got {input.shape}")
        return F.dropout2d(input, self.p, self.training)

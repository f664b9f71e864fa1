"""`Linear`: y = x Wᵀ + b over the last dimension, initialised as PyTorch's (U(±1/√in_features) weight and bias)."""

from __future__ import annotations

import cnnkit.nn.functional as F
from cnnkit import creation
from cnnkit.nn.layers.conv import _reset_conv_parameters
from cnnkit.nn.module import Module
from cnnkit.nn.parameter import register_weight_and_bias
from cnnkit.tensor import Tensor


class Linear(Module):
    """Affine map on the last dimension: input (*, in_features) → output (*, out_features)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        register_weight_and_bias(self, creation.empty(out_features, in_features),
                                 creation.empty(out_features) if bias else None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # kaiming_uniform_(a=√5) gives U(±1/√in_features), the same bound as the bias: PyTorch's default
        _reset_conv_parameters(self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002 - PyTorch's name
        if input.ndim == 0 or input.shape[-1] != self.in_features:
            raise self._input_error(f"expected input with last dimension {self.in_features}, got shape {input.shape}")
        return F.linear(input, self.weight, self.bias)


"""Activation layers: ReLU, ReLU6, LeakyReLU, ELU, Hardtanh, Tanh, Sigmoid, GELU, SiLU, Softplus, Softmax, LogSoftmax.

Each is a thin wrapper over its functional. `inplace=True` writes the result into the input's memory and
records it as an in-place op, as PyTorch does (a backward that still needs the input then raises).
Functionals that `cnnkit.nn.functional` does not re-export yet (relu6, elu, hardtanh, softplus) are imported
from `cnnkit.ops.activation` directly.
"""

from __future__ import annotations

import cnnkit.nn.functional as F
from cnnkit.nn.module import Module
from cnnkit.ops.activation import elu, hardtanh, relu6, softplus
from cnnkit.tensor import Tensor


def _inplace_repr(inplace: bool, prefix: str = "") -> str:
    if not inplace:
        return prefix.rstrip(", ")
    return f"{prefix}inplace=True"


class _InplaceActivation(Module):
    """An elementwise activation with PyTorch's `inplace` flag and no other setting: forward is `function`."""

    function = None  # F.relu and the like, set by each subclass (as a staticmethod)

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def extra_repr(self) -> str:
        return _inplace_repr(self.inplace)

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002 - PyTorch's name
        return self.function(input, inplace=self.inplace)


class ReLU(_InplaceActivation):
    """max(0, x)."""

    function = staticmethod(F.relu)


class ReLU6(_InplaceActivation):
    """min(max(0, x), 6)."""

    function = staticmethod(relu6)


class LeakyReLU(Module):
    """x if x ≥ 0 else negative_slope · x."""

    def __init__(self, negative_slope: float = 1e-2, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = inplace

    def extra_repr(self) -> str:
        return _inplace_repr(self.inplace, f"negative_slope={self.negative_slope}, ")

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return F.leaky_relu(input, self.negative_slope, inplace=self.inplace)


class ELU(Module):
    """x if x > 0 else alpha · (exp(x) − 1)."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha = alpha
        self.inplace = inplace

    def extra_repr(self) -> str:
        return _inplace_repr(self.inplace, f"alpha={self.alpha}, ")

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return elu(input, self.alpha, inplace=self.inplace)


class Hardtanh(Module):
    """clamp(x, min_val, max_val)."""

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        if max_val <= min_val:
            raise ValueError(f"Hardtanh: max_val ({max_val}) must be greater than min_val ({min_val})")
        self.min_val = min_val
        self.max_val = max_val
        self.inplace = inplace

    def extra_repr(self) -> str:
        return _inplace_repr(self.inplace, f"min_val={self.min_val}, max_val={self.max_val}, ")

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return hardtanh(input, self.min_val, self.max_val, inplace=self.inplace)


class Tanh(Module):
    """tanh(x)."""

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return F.tanh(input)


class Sigmoid(Module):
    """1 / (1 + exp(−x))."""

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return F.sigmoid(input)


class GELU(Module):
    """x · Φ(x) (approximate='none') or its tanh approximation (approximate='tanh')."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return F.gelu(input, approximate=self.approximate)


class SiLU(_InplaceActivation):
    """x · sigmoid(x)."""

    function = staticmethod(F.silu)


class Softplus(Module):
    """log(1 + exp(beta · x)) / beta, linear above threshold."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta = beta
        self.threshold = threshold

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return softplus(input, self.beta, self.threshold)


def _require_dim(layer: str, dim: int | None) -> int:
    if dim is None:
        raise ValueError(f"{layer}: dim is required (PyTorch's implicit choice of dim is deprecated), "
                         f"e.g. {layer}(dim=1) for (N, C) scores")
    return dim


class _AlongDim(Module):
    """An activation applied along one required `dim`: Softmax and LogSoftmax."""

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = _require_dim(type(self).__name__, dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"

    def _apply_along(self, fn, input: Tensor) -> Tensor:  # noqa: A002
        if not -input.ndim <= self.dim < max(input.ndim, 1):
            raise self._input_error(f"expected input with dimension {self.dim}, got shape {input.shape}")
        return fn(input, self.dim)


class Softmax(_AlongDim):
    """exp(x) / Σ exp(x) along `dim` (required)."""

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return self._apply_along(F.softmax, input)


class LogSoftmax(_AlongDim):
    """x − log Σ exp(x) along `dim` (required)."""

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return self._apply_along(F.log_softmax, input)

"""Normalisation layers: `BatchNorm1d`, `BatchNorm2d`, `InstanceNorm2d`, `GroupNorm`, `LayerNorm`, `LocalResponseNorm`.

BatchNorm keeps PyTorch's state: weight (1s), bias (0s), running_mean (0s), running_var (1s) and an int64
`num_batches_tracked` buffer, incremented on every training forward. With momentum=None the running
statistics are a cumulative average: the functional gets momentum 1 / num_batches_tracked, as in PyTorch.
The functional `batch_norm` updates the running buffers in place when training.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

import cnnkit.nn.functional as F
from cnnkit import creation
from cnnkit.nn import init
from cnnkit.nn.module import Module
from cnnkit.nn.parameter import register_weight_and_bias
from cnnkit.tensor import Tensor


class _BatchNorm(Module):
    """Shared BatchNorm state and forward; subclasses say which input ranks they take."""

    _ranks: tuple[int, ...] = ()
    _layout = ""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, *, bias: bool = True) -> None:
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        register_weight_and_bias(self, creation.empty(num_features) if affine else None,
                                 creation.empty(num_features) if affine and bias else None)
        if track_running_stats:
            self.register_buffer("running_mean", creation.zeros(num_features))
            self.register_buffer("running_var", creation.ones(num_features))
            self.register_buffer("num_batches_tracked", Tensor(np.array(0, dtype=np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            self.running_mean._data[...] = 0
            self.running_var._data[...] = 1
            self.num_batches_tracked._data[...] = 0

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def _optional_state_keys(self) -> set[str]:
        # PyTorch loads checkpoints that predate num_batches_tracked without calling it missing
        return {"num_batches_tracked"} if self.track_running_stats else set()

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")

    def _check_input(self, input: Tensor) -> None:  # noqa: A002
        if input.ndim not in self._ranks or input.shape[1] != self.num_features:
            raise self._input_error(f"expected input of shape {self._layout.format(C=self.num_features)}, "
                                    f"got {input.shape}")

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002 - PyTorch's name
        self._check_input(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked._data += 1
            if self.momentum is None:  # cumulative moving average
                factor = 1.0 / float(self.num_batches_tracked._data)
        use_batch_stats = self.training or (self.running_mean is None and self.running_var is None)
        if use_batch_stats and input._data.size // max(input.shape[1], 1) == 1:  # an empty batch is allowed
            raise self._input_error(f"expected more than 1 value per channel when training, got input {input.shape}")
        tracked = not self.training or self.track_running_stats  # buffers are passed only when used or updated
        running_mean = self.running_mean if tracked else None
        running_var = self.running_var if tracked else None
        return F.batch_norm(input, running_mean, running_var, self.weight, self.bias, use_batch_stats, factor,
                            self.eps)


class BatchNorm1d(_BatchNorm):
    """Batch norm over (N, C) or (N, C, L) input: statistics per channel over N (and L)."""

    _ranks = (2, 3)
    _layout = "(N, {C}) or (N, {C}, L)"


class BatchNorm2d(_BatchNorm):
    """Batch norm over (N, C, H, W) input: statistics per channel over N, H and W."""

    _ranks = (4,)
    _layout = "(N, {C}, H, W)"


class InstanceNorm2d(Module):
    """Normalise each sample's each channel over H and W; (N, C, H, W) or unbatched (C, H, W) input.

    PyTorch's defaults: no affine weights and no running statistics. With `track_running_stats`, training
    updates running_mean / running_var and eval normalises with them (num_batches_tracked is kept for state-dict
    compatibility and, as in PyTorch, not counted).
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = False,
                 track_running_stats: bool = False, device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        register_weight_and_bias(self, creation.ones(num_features) if affine else None,
                                 creation.zeros(num_features) if affine else None)
        if track_running_stats:
            self.register_buffer("running_mean", creation.zeros(num_features))
            self.register_buffer("running_var", creation.ones(num_features))
            self.register_buffer("num_batches_tracked", Tensor(np.array(0, dtype=np.int64), dtype=np.int64))
        else:
            self.running_mean = self.running_var = self.num_batches_tracked = None

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        if input.ndim not in (3, 4):
            raise self._input_error(f"expected input of shape (N, C, H, W) or (C, H, W), got {input.shape}")
        if input.ndim == 3:
            return self.forward(input.reshape(1, *input.shape)).reshape(*input.shape)
        if self.affine and input.shape[1] != self.num_features:
            raise self._input_error(f"expected input of shape (N, {self.num_features}, H, W), got {input.shape}")
        use_input_stats = self.training or not self.track_running_stats
        # as torch's: momentum=None means 0 (no update) and num_batches_tracked is kept but never counted
        momentum = self.momentum if self.momentum is not None else 0.0
        return F.instance_norm(input, self.running_mean, self.running_var, self.weight, self.bias,
                               use_input_stats, momentum, self.eps)


class GroupNorm(Module):
    """Normalise each sample over groups of num_channels / num_groups channels (and all spatial positions)."""

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True, *,
                 bias: bool = True) -> None:
        super().__init__()
        if num_groups <= 0 or num_channels % num_groups != 0:
            raise ValueError(f"GroupNorm: num_channels must be divisible by num_groups, "
                             f"got num_channels={num_channels}, num_groups={num_groups}")
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = eps
        self.affine = affine
        register_weight_and_bias(self, creation.ones(num_channels) if affine else None,
                                 creation.zeros(num_channels) if affine and bias else None)

    def extra_repr(self) -> str:
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        if input.ndim < 2 or input.shape[1] != self.num_channels:
            raise self._input_error(f"expected input of shape (N, {self.num_channels}, *), got {input.shape}")
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)


class LayerNorm(Module):
    """Normalise over the trailing `normalized_shape` dims of each sample, with elementwise weight and bias."""

    def __init__(self, normalized_shape: int | tuple[int, ...] | list[int], eps: float = 1e-5,
                 elementwise_affine: bool = True, bias: bool = True) -> None:
        super().__init__()
        if isinstance(normalized_shape, numbers.Integral):
            normalized_shape = (int(normalized_shape),)
        self.normalized_shape = tuple(int(s) for s in normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        shape = self.normalized_shape
        register_weight_and_bias(self, creation.ones(shape) if elementwise_affine else None,
                                 creation.zeros(shape) if elementwise_affine and bias else None)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
                f"bias={self.bias is not None}")

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        k = len(self.normalized_shape)
        if input.ndim < k or tuple(input.shape[input.ndim - k:]) != self.normalized_shape:
            raise self._input_error(f"expected input of shape (*, {', '.join(map(str, self.normalized_shape))}), "
                                    f"got {input.shape}")
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)


class LocalResponseNorm(Module):
    """b_c = a_c / (k + α/n · Σ_{c' near c} a_{c'}²)^β over `size` neighbouring channels (AlexNet)."""

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> None:
        super().__init__()
        self.size = size
        self.alpha = alpha
        self.beta = beta
        self.k = k

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"

    def forward(self, input: Tensor) -> Any:  # noqa: A002
        if input.ndim < 3:
            raise self._input_error(f"expected input of shape (N, C, *) with 3 or more dimensions, got {input.shape}")
        return F.local_response_norm(input, self.size, self.alpha, self.beta, self.k)

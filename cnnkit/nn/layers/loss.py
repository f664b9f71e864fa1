"""Loss layers: CrossEntropyLoss, NLLLoss, MSELoss, L1Loss, SmoothL1Loss, BCEWithLogitsLoss, BCELoss, DiceLoss.

Each checks its inputs before calling the functional: class-index targets must be integers of shape
(N, d1, ...) with values in [0, C) or equal to ignore_index; elementwise losses need input and target of
the SAME shape (PyTorch only warns and broadcasts, which silently computes a different loss; here it is an
error). `weight` and `pos_weight` are buffers, so they follow `to()` and appear in state_dict as in PyTorch.
`smooth_l1_loss` and `binary_cross_entropy` come from `cnnkit.ops.loss` (functional.py does not re-export them yet).
"""

from __future__ import annotations

from typing import Any

import numpy as np

import cnnkit.nn.functional as F
from cnnkit.nn.module import Module
from cnnkit.ops.loss import binary_cross_entropy, smooth_l1_loss
from cnnkit.tensor import Tensor

_REDUCTIONS = ("none", "mean", "sum")


def _legacy_reduction(size_average: bool | None, reduce: bool | None) -> str:
    """PyTorch's deprecated size_average/reduce flags mapped to a reduction string."""
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if not reduce:
        return "none"
    return "mean" if size_average else "sum"


def _optional_tensor(value: Any) -> Tensor | None:
    if value is None or isinstance(value, Tensor):
        return value
    return Tensor(np.asarray(value))


def _as_target(target: Any) -> Tensor:
    return target if isinstance(target, Tensor) else Tensor(np.asarray(target))


class _Loss(Module):
    def __init__(self, size_average: bool | None = None, reduce: bool | None = None, reduction: str = "mean") -> None:
        super().__init__()
        if size_average is not None or reduce is not None:
            reduction = _legacy_reduction(size_average, reduce)
        if reduction not in _REDUCTIONS:
            raise ValueError(f"{type(self).__name__}: {reduction!r} is not a valid value for reduction, "
                             f"expected one of {_REDUCTIONS}")
        self.reduction = reduction

    def _check_same_shape(self, input: Tensor, target: Tensor) -> None:  # noqa: A002
        if input.shape != target.shape:
            raise self._input_error(f"expected target of the input's shape {input.shape}, got {target.shape}")


class _WeightedLoss(_Loss):
    def __init__(self, weight: Any = None, size_average: bool | None = None, reduce: bool | None = None,
                 reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", _optional_tensor(weight))

    def _check_class_input(self, input: Tensor, target: Tensor, ignore_index: int, allow_probabilities: bool) -> None:
        """input (C,), (N, C) or (N, C, d1, ...); target indices of shape (), (N,) or (N, d1, ...) in [0, C)."""
        if input.ndim == 0:
            raise self._input_error(f"expected input of shape (N, C) or (N, C, d1, ...) or (C,), got {input.shape}")
        classes = input.shape[0] if input.ndim == 1 else input.shape[1]
        if self.weight is not None and self.weight.shape != (classes,):
            raise self._input_error(f"expected a weight of shape ({classes},) for {classes} classes, "
                                    f"got {self.weight.shape}")
        if allow_probabilities and target.dtype.kind == "f" and target.shape == input.shape:
            return  # class probabilities (soft targets)
        index_shape = () if input.ndim == 1 else input.shape[:1] + input.shape[2:]
        if target.shape != index_shape:
            soft = f" or class probabilities of shape {input.shape}" if allow_probabilities else ""
            raise self._input_error(f"expected target of class indices of shape {index_shape}{soft} "
                                    f"for input {input.shape}, got {target.shape}")
        if target.dtype.kind not in "iu":
            raise self._input_error(f"expected integer class indices (int64), got target dtype {target.dtype}")
        self._check_class_range(target._data, classes, ignore_index)

    def _check_class_range(self, indices: np.ndarray, classes: int, ignore_index: int) -> None:
        if indices.size == 0 or (indices.min() >= 0 and indices.max() < classes):
            return
        bad = indices[((indices < 0) | (indices >= classes)) & (indices != ignore_index)]
        if bad.size:
            raise self._input_error(f"expected class indices in [0, {classes - 1}] (or ignore_index={ignore_index}), "
                                    f"got {int(bad.reshape(-1)[0])}")


class CrossEntropyLoss(_WeightedLoss):
    """log_softmax over dim 1 then negative log-likelihood; targets are class indices or class probabilities."""

    def __init__(self, weight: Any = None, size_average: bool | None = None, ignore_index: int = -100,
                 reduce: bool | None = None, reduction: str = "mean", label_smoothing: float = 0.0) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"CrossEntropyLoss: label_smoothing must be between 0.0 and 1.0, got {label_smoothing}")
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input: Tensor, target: Any) -> Tensor:  # noqa: A002 - PyTorch's name
        target = _as_target(target)
        self._check_class_input(input, target, self.ignore_index, allow_probabilities=True)
        return F.cross_entropy(input, target, weight=self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)


class NLLLoss(_WeightedLoss):
    """−input[n, target[n]] (weighted), for input that already holds log-probabilities."""

    def __init__(self, weight: Any = None, size_average: bool | None = None, ignore_index: int = -100,
                 reduce: bool | None = None, reduction: str = "mean") -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index

    def forward(self, input: Tensor, target: Any) -> Tensor:  # noqa: A002
        target = _as_target(target)
        self._check_class_input(input, target, self.ignore_index, allow_probabilities=False)
        return F.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index, reduction=self.reduction)


class MSELoss(_Loss):
    """(input − target)², reduced."""

    def forward(self, input: Tensor, target: Any) -> Tensor:  # noqa: A002
        target = _as_target(target)
        self._check_same_shape(input, target)
        return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """|input − target|, reduced."""

    def forward(self, input: Tensor, target: Any) -> Tensor:  # noqa: A002
        target = _as_target(target)
        self._check_same_shape(input, target)
        return F.l1_loss(input, target, reduction=self.reduction)


class SmoothL1Loss(_Loss):
    """0.5·d²/beta where |d| < beta, else |d| − 0.5·beta (d = input − target), reduced."""

    def __init__(self, size_average: bool | None = None, reduce: bool | None = None, reduction: str = "mean",
                 beta: float = 1.0) -> None:
        super().__init__(size_average, reduce, reduction)
        if beta < 0:
            raise ValueError(f"SmoothL1Loss: beta must be non-negative, got {beta}")
        self.beta = beta

    def forward(self, input: Tensor, target: Any) -> Tensor:  # noqa: A002
        target = _as_target(target)
        self._check_same_shape(input, target)
        return smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy on logits, computed stably: −w·[p·y·log σ(x) + (1 − y)·log(1 − σ(x))].

    pos_weight (one value per class, broadcast along the last dim) weighs the positive term.
    """

    def __init__(self, weight: Any = None, size_average: bool | None = None, reduce: bool | None = None,
                 reduction: str = "mean", pos_weight: Any = None) -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", _optional_tensor(weight))
        self.register_buffer("pos_weight", _optional_tensor(pos_weight))

    def forward(self, input: Tensor, target: Any) -> Tensor:  # noqa: A002
        target = _as_target(target)
        self._check_same_shape(input, target)
        return F.binary_cross_entropy_with_logits(input, target, weight=self.weight, reduction=self.reduction,
                                                  pos_weight=self.pos_weight)


class BCELoss(_Loss):
    """Binary cross-entropy on probabilities in [0, 1]: −w·[y·log x + (1 − y)·log(1 − x)] (logs clamped at −100)."""

    def __init__(self, weight: Any = None, size_average: bool | None = None, reduce: bool | None = None,
                 reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", _optional_tensor(weight))

    def forward(self, input: Tensor, target: Any) -> Tensor:  # noqa: A002
        target = _as_target(target)
        self._check_same_shape(input, target)
        return binary_cross_entropy(input, target, weight=self.weight, reduction=self.reduction)


class DiceLoss(Module):
    """Soft Dice loss on logits for segmentation (not in torch.nn): 1 − mean over the classes present in the
    batch of (2·Σp·g + eps) / (Σp + Σg + eps), background (class 0) left out by default; see `F.dice_loss`."""

    def __init__(self, ignore_index: int = 255, exclude_background: bool = True, eps: float = 1.0) -> None:
        super().__init__()
        self.ignore_index = ignore_index
        self.exclude_background = exclude_background
        self.eps = eps

    def extra_repr(self) -> str:
        return f"ignore_index={self.ignore_index}, exclude_background={self.exclude_background}, eps={self.eps}"

    def forward(self, input: Tensor, target: Any) -> Tensor:  # noqa: A002
        return F.dice_loss(input, _as_target(target), self.ignore_index, self.exclude_background, self.eps)

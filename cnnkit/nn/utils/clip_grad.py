"""Gradient clipping, as torch.nn.utils: by the total norm of all gradients, or element-wise by value.

The total norm is the p-norm of the per-parameter gradient norms (as if all gradients were one vector):
    ‖g‖ = (Σᵢ ‖gᵢ‖ₚᵖ)^(1/p),  or maxᵢ ‖gᵢ‖_∞ for p = inf
and clipping multiplies every gradient in place by min(max_norm / (‖g‖ + 1e-6), 1), computed in the
gradients' dtype as PyTorch does. Gradients are changed in place on `p.grad._data`; no graph is recorded.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from cnnkit.tensor import Tensor

Parameters = Tensor | Iterable[Tensor]


def _as_list(parameters: Parameters, op: str) -> list[Tensor]:
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    for p in params:
        if not isinstance(p, Tensor):
            raise TypeError(f"{op}: expected Tensors, got {type(p).__name__}")
    return params


def _grads(params: list[Tensor]) -> list[np.ndarray]:
    return [p.grad._data for p in params if p.grad is not None]


def _vector_norm(x: np.ndarray, norm_type: float) -> np.ndarray:
    """The p-norm of all of x's elements as a 0-d array of x's dtype (torch.linalg.vector_norm)."""
    flat = x.reshape(-1)
    if flat.size == 0:
        return np.zeros((), dtype=x.dtype)
    if norm_type == math.inf:
        return np.maximum(flat.max(), -flat.min())  # max |x| without an |x| temporary (NaN propagates)
    if norm_type == -math.inf:
        return np.abs(flat).min()
    if norm_type == 0:
        return np.asarray(np.count_nonzero(flat), dtype=x.dtype)
    if norm_type == 1:
        return np.abs(flat).sum()
    if norm_type == 2:
        return np.sqrt(np.dot(flat, flat))  # one BLAS pass, no x² temporary
    return (np.abs(flat) ** norm_type).sum() ** (1.0 / norm_type)


def get_total_norm(tensors: Parameters, norm_type: float = 2.0, error_if_nonfinite: bool = False) -> Tensor:
    """The norm of the norms of the given tensors (e.g. gradients), as a 0-d Tensor."""
    arrays = [t._data for t in _as_list(tensors, "get_total_norm")]
    return _as_tensor(_total_norm(arrays, _norm_type(norm_type, "get_total_norm"), error_if_nonfinite))


def _as_tensor(norm: np.ndarray) -> Tensor:
    return Tensor(norm, dtype=norm.dtype)  # keep float64 norms float64 (Tensor() would make them float32)


def _norm_type(norm_type: float | str, op: str) -> float:
    try:
        return float(norm_type)  # accepts 'inf' as PyTorch does
    except (TypeError, ValueError):
        raise ValueError(f"{op}: norm_type must be a number or 'inf', got {norm_type!r}") from None


def _total_norm(arrays: list[np.ndarray], norm_type: float, error_if_nonfinite: bool) -> np.ndarray:
    if not arrays:
        return np.zeros((), dtype=np.float32)
    norms = np.stack([_vector_norm(a, norm_type) for a in arrays])
    total = _vector_norm(norms, norm_type)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is non-finite "
                           f"({float(total)}), so it cannot be clipped; pass error_if_nonfinite=False to scale "
                           "the gradients by it anyway")
    return total


def clip_grads_with_norm_(parameters: Parameters, max_norm: float, total_norm: Tensor | float) -> None:
    """Scale the gradients in place by min(max_norm / (total_norm + 1e-6), 1)."""
    grads = _grads(_as_list(parameters, "clip_grads_with_norm_"))
    if not grads:
        return
    total = total_norm._data if isinstance(total_norm, Tensor) else np.asarray(total_norm, dtype=grads[0].dtype)
    coef = np.minimum(float(max_norm) / (total + 1e-6), 1.0)  # stays in the norm's dtype (float32)
    if coef >= 1.0:  # already within max_norm: multiplying by 1 would change nothing
        return
    with np.errstate(invalid="ignore"):  # an inf gradient times a 0 coefficient is NaN, as in torch, silently
        for g in grads:
            g *= coef.astype(g.dtype)


def clip_grad_norm_(parameters: Parameters, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False) -> Tensor:
    """Clip the gradients' total norm to max_norm in place; returns the total norm before clipping (0-d Tensor).

    Parameters without a gradient are ignored. `norm_type` may be any p, or inf ('inf') for the max-norm.
    """
    params = _as_list(parameters, "clip_grad_norm_")
    max_norm = float(max_norm)
    if math.isnan(max_norm):
        raise ValueError("clip_grad_norm_: max_norm is NaN")
    total = _total_norm(_grads(params), _norm_type(norm_type, "clip_grad_norm_"), error_if_nonfinite)
    clip_grads_with_norm_(params, max_norm, _as_tensor(total))
    return _as_tensor(total)


def clip_grad_value_(parameters: Parameters, clip_value: float) -> None:
    """Clamp every gradient element to [−clip_value, clip_value] in place."""
    clip_value = float(clip_value)
    for g in _grads(_as_list(parameters, "clip_grad_value_")):
        np.clip(g, -clip_value, clip_value, out=g)

"""Reductions: sum, mean, var over one or several dims; max/min (whole tensor, or per dim with indices).

Backward broadcasts the output gradient back over the reduced axes; max/min send it to the arg-max.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from cnnkit.tensor import Tensor, record


class ValuesIndices(NamedTuple):
    """What `max(dim)` / `min(dim)` return, as torch.return_types.max: `.values` and `.indices`."""

    values: Tensor
    indices: Tensor


def normalize_dims(dim: int | Sequence[int] | None, ndim: int, op: str = "reduce") -> tuple[int, ...]:
    """Dims as a tuple of non-negative axes; None means all of them."""
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    out = []
    rank = builtins.max(ndim, 1)
    for d in dims:
        if not -rank <= d < rank:
            raise IndexError(f"{op}: dim {d} is out of range for a tensor with {ndim} dimensions")
        out.append(int(d) % rank)
    return tuple(sorted(set(out)))


def _expand_back(g: np.ndarray, shape: tuple[int, ...], axes: tuple[int, ...], keepdim: bool) -> np.ndarray:
    """Re-insert the reduced axes into g (as size 1) so that it broadcasts against the input."""
    if not keepdim and g.ndim != len(shape):
        g = np.expand_dims(g, axes)
    return g


def sum(x: Tensor, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:  # noqa: A001
    axes = normalize_dims(dim, x.ndim, "sum")
    out = np.asarray(x._data.sum(axis=axes, keepdims=keepdim), dtype=x.dtype if x.dtype.kind == "f" else None)

    shape = x.shape

    def backward(g: np.ndarray):  # every input element contributes with weight 1
        return (np.broadcast_to(_expand_back(g, shape, axes, keepdim), shape).copy(),)

    return record(out, (x,), backward, "Sum")


def mean(x: Tensor, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
    if x.dtype.kind != "f":
        raise TypeError(f"mean: needs a floating-point tensor, got dtype {x.dtype}")
    axes = normalize_dims(dim, x.ndim, "mean")
    count = int(np.prod([x.shape[a] for a in axes])) if x.ndim else 1
    out = np.asarray(x._data.mean(axis=axes, keepdims=keepdim), dtype=x.dtype)

    shape = x.shape

    def backward(g: np.ndarray):  # d mean/dx = 1/count
        g = _expand_back(g, shape, axes, keepdim) * np.asarray(1.0 / count, dtype=g.dtype)
        return (np.broadcast_to(g, shape).copy(),)

    return record(out, (x,), backward, "Mean")


def var(x: Tensor, dim: int | Sequence[int] | None = None, unbiased: bool = True, keepdim: bool = False,
        correction: int | None = None) -> Tensor:
    """Variance Σ(x − x̄)² / (n − correction); correction defaults to 1 (unbiased) as in PyTorch."""
    axes = normalize_dims(dim, x.ndim, "var")
    count = int(np.prod([x.shape[a] for a in axes])) if x.ndim else 1
    corr = (1 if unbiased else 0) if correction is None else correction
    centred = x._data - x._data.mean(axis=axes, keepdims=True)
    denom = builtins.max(count - corr, 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.asarray((centred * centred).sum(axis=axes, keepdims=keepdim) / denom, dtype=x.dtype)

    def backward(g: np.ndarray):  # d var/dx = 2 (x − x̄) / (n − correction)
        g = _expand_back(g, x.shape, axes, keepdim)
        return ((g * centred * np.asarray(2.0 / denom, dtype=x.dtype)).astype(x.dtype, copy=False),)

    return record(out, (x,), backward, "Var")


def _extreme(x: Tensor, dim: int | None, keepdim: bool, pick: str) -> Any:
    arg = np.argmax if pick == "max" else np.argmin
    if x._data.size == 0:
        raise RuntimeError(f"{pick}(): the tensor is empty")
    if dim is None:
        value = x._data.max() if pick == "max" else x._data.min()
        out = np.asarray(value, dtype=x.dtype)

        def backward_all(g: np.ndarray):  # ties share the gradient evenly, as torch.max() does
            hits = x._data == value
            return ((hits * (g / hits.sum())).astype(x.dtype),)

        return record(out, (x,), backward_all, pick.capitalize())

    axis = normalize_dims(dim, x.ndim, pick)[0]
    idx = arg(x._data, axis=axis)  # first occurrence among ties, as PyTorch on CPU
    idx_keep = np.expand_dims(idx, axis)
    values = np.take_along_axis(x._data, idx_keep, axis=axis)
    if not keepdim:
        values = np.squeeze(values, axis)

    def backward(g: np.ndarray):  # the gradient goes to the selected element only
        grad = np.zeros_like(x._data)
        np.put_along_axis(grad, idx_keep, g if keepdim else np.expand_dims(g, axis), axis=axis)
        return (grad,)

    values_t = record(values, (x,), backward, pick.capitalize())
    indices = Tensor(idx_keep if keepdim else idx)
    return ValuesIndices(values_t, indices)


def max(x: Tensor, dim: Any = None, keepdim: bool = False) -> Any:  # noqa: A001
    """Largest value; with `dim`, a (values, indices) pair as torch.max(x, dim); with a second tensor, the
    element-wise maximum (torch.max(a, b))."""
    if isinstance(dim, Tensor):
        from cnnkit.ops.elementwise import maximum

        return maximum(x, dim)
    return _extreme(x, dim, keepdim, "max")


def min(x: Tensor, dim: Any = None, keepdim: bool = False) -> Any:  # noqa: A001
    """Smallest value; with `dim`, (values, indices); with a second tensor, the element-wise minimum."""
    if isinstance(dim, Tensor):
        from cnnkit.ops.elementwise import minimum

        return minimum(x, dim)
    return _extreme(x, dim, keepdim, "min")


def argmax(x: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    if dim is None:
        return Tensor(np.asarray(np.argmax(x._data), dtype=np.int64))
    return Tensor(np.argmax(x._data, axis=dim, keepdims=keepdim).astype(np.int64))


def argmin(x: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    if dim is None:
        return Tensor(np.asarray(np.argmin(x._data), dtype=np.int64))
    return Tensor(np.argmin(x._data, axis=dim, keepdims=keepdim).astype(np.int64))

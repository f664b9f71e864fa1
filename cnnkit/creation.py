"""Tensor constructors: zeros, ones, full, empty, arange, linspace, rand, randn, randint, eye and the *_like forms."""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnkit.device import check_device
from cnnkit.random import default_generator
from cnnkit.tensor import DEFAULT_FLOAT, Tensor


def _size(size: tuple) -> tuple[int, ...]:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        return tuple(int(s) for s in size[0])
    return tuple(int(s) for s in size)


def _dtype(dtype: Any, default: Any = DEFAULT_FLOAT) -> np.dtype:
    return np.dtype(default if dtype is None else dtype)


def _wrap(array: np.ndarray, requires_grad: bool = False) -> Tensor:
    """A Tensor keeping the array's dtype (the Tensor constructor would turn float64 into float32)."""
    return Tensor(array, requires_grad=requires_grad, dtype=array.dtype)


def zeros(*size: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    check_device(device)
    return _wrap(np.zeros(_size(size), dtype=_dtype(dtype)), requires_grad)


def ones(*size: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    check_device(device)
    return _wrap(np.ones(_size(size), dtype=_dtype(dtype)), requires_grad)


def empty(*size: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    check_device(device)
    return _wrap(np.empty(_size(size), dtype=_dtype(dtype)), requires_grad)


def full(size: Any, fill_value: float, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    check_device(device)
    default = np.int64 if isinstance(fill_value, (int, np.integer)) and not isinstance(fill_value, bool) \
        else DEFAULT_FLOAT
    return _wrap(np.full(_size((size,)), fill_value, dtype=_dtype(dtype, default)), requires_grad)


def zeros_like(t: Tensor, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    check_device(device)
    return _wrap(np.zeros(t.shape, dtype=_dtype(dtype, t.dtype)), requires_grad)


def ones_like(t: Tensor, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    check_device(device)
    return _wrap(np.ones(t.shape, dtype=_dtype(dtype, t.dtype)), requires_grad)


def arange(start: float, end: float | None = None, step: float = 1, dtype: Any = None, requires_grad: bool = False,
           device: Any = None) -> Tensor:
    check_device(device)
    if end is None:
        start, end = 0, start
    integral = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
    return _wrap(np.arange(start, end, step, dtype=_dtype(dtype, np.int64 if integral else DEFAULT_FLOAT)),
                 requires_grad)


def linspace(start: float, end: float, steps: int, dtype: Any = None, requires_grad: bool = False,
             device: Any = None) -> Tensor:
    check_device(device)
    return _wrap(np.linspace(start, end, steps, dtype=_dtype(dtype)), requires_grad)


def eye(n: int, m: int | None = None, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    check_device(device)
    return _wrap(np.eye(n, m, dtype=_dtype(dtype)), requires_grad)


def rand(*size: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    """Uniform on [0, 1), from cnnkit's seeded generator."""
    check_device(device)
    data = default_generator().random(_size(size), dtype=np.float32).astype(_dtype(dtype), copy=False)
    return _wrap(data, requires_grad)


def randn(*size: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    """Standard normal, from cnnkit's seeded generator."""
    check_device(device)
    data = default_generator().standard_normal(_size(size), dtype=np.float32).astype(_dtype(dtype), copy=False)
    return _wrap(data, requires_grad)


def randint(low: int, high: int | None = None, size: Any = (), dtype: Any = None, device: Any = None) -> Tensor:
    check_device(device)
    if high is None:
        low, high = 0, low
    return Tensor(default_generator().integers(low, high, size=_size((size,)), dtype=_dtype(dtype, np.int64)))


def randperm(n: int, dtype: Any = None, device: Any = None) -> Tensor:
    check_device(device)
    return Tensor(default_generator().permutation(n).astype(_dtype(dtype, np.int64)))


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with the array, keeping its dtype (float64 included), as torch.from_numpy."""
    return _wrap(array)

"""Tensor constructors: zeros, ones, full, empty, arange, linspace, rand, randn, randint, eye, the *_like forms
and as_tensor."""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnkit.device import check_device
from cnnkit.memory_format import check_memory_format
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


def _like(t: Tensor, dtype: Any, device: Any, memory_format: Any, where: str) -> tuple[tuple[int, ...], np.dtype]:
    """The shape and dtype of a *_like constructor (its device and memory format checked: see memory_format.py)."""
    check_device(device)
    check_memory_format(memory_format, where)
    return tuple(t.shape), _dtype(dtype, t.dtype)


def empty_like(input: Tensor, *, dtype: Any = None, layout: Any = None, device: Any = None,  # noqa: A002
               requires_grad: bool = False, memory_format: Any = None) -> Tensor:
    shape, dt = _like(input, dtype, device, memory_format, "empty_like")
    return _wrap(np.empty(shape, dtype=dt), requires_grad)


def full_like(input: Tensor, fill_value: float, *, dtype: Any = None, layout: Any = None,  # noqa: A002
              device: Any = None, requires_grad: bool = False, memory_format: Any = None) -> Tensor:
    shape, dt = _like(input, dtype, device, memory_format, "full_like")
    return _wrap(np.full(shape, fill_value, dtype=dt), requires_grad)


def rand_like(input: Tensor, *, dtype: Any = None, layout: Any = None, device: Any = None,  # noqa: A002
              requires_grad: bool = False, memory_format: Any = None) -> Tensor:
    """Uniform on [0, 1), input's shape and (by default) dtype."""
    shape, dt = _like(input, dtype, device, memory_format, "rand_like")
    if dt.kind != "f":
        raise TypeError(f"rand_like(): a floating dtype is needed, got {dt}")
    return _wrap(default_generator().random(shape, dtype=np.float32).astype(dt, copy=False), requires_grad)


def randn_like(input: Tensor, *, dtype: Any = None, layout: Any = None, device: Any = None,  # noqa: A002
               requires_grad: bool = False, memory_format: Any = None) -> Tensor:
    """Standard normal, input's shape and (by default) dtype."""
    shape, dt = _like(input, dtype, device, memory_format, "randn_like")
    if dt.kind != "f":
        raise TypeError(f"randn_like(): a floating dtype is needed, got {dt}")
    return _wrap(default_generator().standard_normal(shape, dtype=np.float32).astype(dt, copy=False), requires_grad)


def randint_like(input: Tensor, low: int = 0, high: int | None = None, *, dtype: Any = None,  # noqa: A002
                 layout: Any = None, device: Any = None, requires_grad: bool = False,
                 memory_format: Any = None) -> Tensor:
    """Integers in [low, high), input's shape and (by default) dtype; `randint_like(x, high)` as in PyTorch."""
    shape, dt = _like(input, dtype, device, memory_format, "randint_like")
    if high is None:
        low, high = 0, low
    return _wrap(default_generator().integers(low, high, size=shape).astype(dt), requires_grad)


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """A tensor of data, sharing memory when it can, as `torch.as_tensor`: a tensor or a NumPy array already of
    the dtype asked is not copied (writes show through); anything else is converted as `cnnkit.tensor` does."""
    from cnnkit.tensor import tensor

    check_device(device)
    if isinstance(data, Tensor):
        return data if dtype is None or np.dtype(dtype) == data.dtype else data.to(dtype)
    if isinstance(data, np.ndarray) and (dtype is None or np.dtype(dtype) == data.dtype):
        return _wrap(data)
    return tensor(data, dtype=dtype)

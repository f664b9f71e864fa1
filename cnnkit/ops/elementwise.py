"""Element-wise ops with NumPy broadcasting: + − × ÷ power, exp, log, sqrt, abs, clamp, maximum, casts.

Binary ops reduce each gradient back over the axes its input was broadcast along (`unbroadcast`).
Python scalars take the tensor's dtype, so float32 stays float32 (NEP 50 would otherwise upcast).
A backward closure keeps only what it reads (shapes, or the one array a gradient needs): what it holds is what
the in-place version check treats as saved (`cnnkit.autograd.check_saved_versions`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnkit.ops.broadcast import unbroadcast
from cnnkit.ops.threads import MIN_CHUNKS, split_batch
from cnnkit.tensor import Tensor, as_tensor, record


def _pair(a: Any, b: Any) -> tuple[Tensor, Tensor]:
    """Both operands as Tensors of one dtype: an integer tensor meeting a float one takes the float's dtype."""
    a = as_tensor(a, like=b if isinstance(b, Tensor) else None)
    b = as_tensor(b, like=a)
    if a.dtype != b.dtype:
        if a.dtype.kind == "f" and b.dtype.kind != "f":
            b = Tensor(b._data.astype(a.dtype), dtype=a.dtype)
        elif b.dtype.kind == "f" and a.dtype.kind != "f":
            a = Tensor(a._data.astype(b.dtype), dtype=b.dtype)
    return a, b


def _check_broadcast(name: str, a: Tensor, b: Tensor) -> None:
    try:
        np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ValueError(f"{name}: shapes {a.shape} and {b.shape} cannot be broadcast together") from None


def add(a: Any, b: Any) -> Tensor:
    a, b = _pair(a, b)
    _check_broadcast("add", a, b)

    a_shape, b_shape = a.shape, b.shape

    def backward(g: np.ndarray):  # d(a+b)/da = d(a+b)/db = 1
        return unbroadcast(g, a_shape), unbroadcast(g, b_shape)

    return record(a._data + b._data, (a, b), backward, "Add")


def sub(a: Any, b: Any) -> Tensor:
    a, b = _pair(a, b)
    _check_broadcast("sub", a, b)

    a_shape, b_shape, b_grad = a.shape, b.shape, b.requires_grad

    def backward(g: np.ndarray):
        return unbroadcast(g, a_shape), (unbroadcast(-g, b_shape) if b_grad else None)

    return record(a._data - b._data, (a, b), backward, "Sub")


def mul(a: Any, b: Any) -> Tensor:
    a, b = _pair(a, b)
    _check_broadcast("mul", a, b)

    a_shape, b_shape = a.shape, b.shape
    a_data = a._data if b.requires_grad else None  # each factor is kept only if the other's gradient needs it
    b_data = b._data if a.requires_grad else None

    def backward(g: np.ndarray):  # d(ab)/da = b, d(ab)/db = a
        ga = unbroadcast(g * b_data, a_shape) if b_data is not None else None
        gb = unbroadcast(g * a_data, b_shape) if a_data is not None else None
        return ga, gb

    return record(a._data * b._data, (a, b), backward, "Mul")


def div(a: Any, b: Any) -> Tensor:
    a, b = _pair(a, b)
    _check_broadcast("div", a, b)
    if a.dtype.kind != "f":  # true division of integers gives float32, as in PyTorch
        a, b = Tensor(a._data.astype(np.float32)), Tensor(b._data.astype(np.float32))
    out = a._data / b._data

    a_shape, b_shape, b_data = a.shape, b.shape, b._data
    a_grad, kept_out = a.requires_grad, out if b.requires_grad else None

    def backward(g: np.ndarray):  # d(a/b)/da = 1/b, d(a/b)/db = −a/b²
        ga = unbroadcast(g / b_data, a_shape) if a_grad else None
        gb = unbroadcast(-g * kept_out / b_data, b_shape) if kept_out is not None else None
        return ga, gb

    return record(out, (a, b), backward, "Div")


def pow(a: Any, b: Any) -> Tensor:  # noqa: A001 - PyTorch's name
    a, b = _pair(a, b)
    _check_broadcast("pow", a, b)
    out = a._data**b._data

    def backward(g: np.ndarray):  # d(a^b)/da = b·a^(b−1), d(a^b)/db = a^b·ln a
        ga = unbroadcast(g * b._data * a._data ** (b._data - 1), a.shape) if a.requires_grad else None
        gb = None
        if b.requires_grad:
            with np.errstate(divide="ignore", invalid="ignore"):
                gb = unbroadcast(g * out * np.where(a._data > 0, np.log(np.where(a._data > 0, a._data, 1)), 0),
                                 b.shape)
        return ga, gb

    return record(out, (a, b), backward, "Pow")


def neg(a: Tensor) -> Tensor:
    return record(-a._data, (a,), lambda g: (-g,), "Neg")


def sign(a: Tensor) -> Tensor:
    """−1, 0 or 1; its gradient is zero everywhere, as PyTorch's."""
    return record(np.sign(a._data), (a,), lambda g: (np.zeros_like(g),), "Sign")


def exp(a: Tensor) -> Tensor:
    out = np.exp(a._data)
    return record(out, (a,), lambda g: (g * out,), "Exp")  # d e^a = e^a


def log(a: Tensor) -> Tensor:
    return record(np.log(a._data), (a,), lambda g: (g / a._data,), "Log")  # d ln a = 1/a


def sqrt(a: Tensor) -> Tensor:
    out = np.sqrt(a._data)
    return record(out, (a,), lambda g: (g / (2 * out),), "Sqrt")  # d √a = 1/(2√a)


def abs(a: Tensor) -> Tensor:  # noqa: A001
    return record(np.abs(a._data), (a,), lambda g: (g * np.sign(a._data),), "Abs")


def sigmoid(a: Tensor) -> Tensor:
    # σ(x) = 1/(1+e^−x), written with e^−|x| so that neither branch overflows
    # (np.where on a data-dependent mask is ~20× slower here than these whole-array passes)
    e = np.exp(-np.abs(a._data))
    out = np.greater_equal(a._data, 0).astype(a.dtype)  # 1 where x ≥ 0: numerator 1; else numerator e
    np.maximum(out, e, out=out)
    out /= 1 + e
    return record(out, (a,), lambda g: (g * out * (1 - out),), "Sigmoid")  # σ' = σ(1−σ)


# Elements from which tanh's forward is split over the threads (`cnnkit.ops.threads.split_batch`, eight chunks).
# Measured on 2 cores: 602,112 values (LeNet-5's first activation at batch 128) 2.56 ms on one thread, 1.33 ms
# split; 204,800 values 0.62 and 0.47 ms; 131,072 values 0.33 and 0.50 ms, where the split's start-up (~0.2 ms)
# outweighs it. The backward, g·(1 − y²), is memory-bound and stays whole: 0.30 ms for 602,112 values.
TANH_SPLIT_MIN = 1 << 18


def _tanh_values(x: np.ndarray) -> np.ndarray:
    """np.tanh(x), split over the threads for large contiguous arrays (each value is computed the same way)."""
    if x.size < TANH_SPLIT_MIN or not x.flags.c_contiguous:
        return np.tanh(x)
    out = np.empty_like(x)
    src, dst = x.reshape(-1), out.reshape(-1)
    split_batch(lambda lo, hi, _: np.tanh(src[lo:hi], out=dst[lo:hi]), src.size, -(-src.size // MIN_CHUNKS))
    return out


def tanh(a: Tensor) -> Tensor:
    out = _tanh_values(a._data)
    return record(out, (a,), lambda g: (g * (1 - out * out),), "Tanh")  # tanh' = 1 − tanh²


def clamp(a: Tensor, min: float | None = None, max: float | None = None) -> Tensor:  # noqa: A002
    """Clip to [min, max]; the gradient passes where the input was inside the range (bounds included)."""
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    lo = -np.inf if min is None else min
    hi = np.inf if max is None else max
    out = np.clip(a._data, lo, hi).astype(a.dtype, copy=False)

    def backward(g: np.ndarray):
        return (g * ((a._data >= lo) & (a._data <= hi)),)

    return record(out, (a,), backward, "Clamp")


def maximum(a: Tensor, b: Any) -> Tensor:
    """Element-wise max; where a ties b, PyTorch splits the gradient evenly — we do the same."""
    return _extreme(a, b, np.maximum, np.greater, "Maximum")


def minimum(a: Tensor, b: Any) -> Tensor:
    """Element-wise min; ties split the gradient evenly, as PyTorch's."""
    return _extreme(a, b, np.minimum, np.less, "Minimum")


def _extreme(a: Any, b: Any, pick: Any, wins: Any, name: str) -> Tensor:
    a, b = _pair(a, b)
    _check_broadcast(name.lower(), a, b)
    out = pick(a._data, b._data)
    share_a = wins(a._data, b._data) + 0.5 * (a._data == b._data)  # a's share of the gradient: 1, ½ or 0
    a_shape, b_shape, a_grad, b_grad = a.shape, b.shape, a.requires_grad, b.requires_grad

    def backward(g: np.ndarray):
        ga = unbroadcast(g * share_a.astype(g.dtype), a_shape) if a_grad else None
        gb = unbroadcast(g * (1 - share_a).astype(g.dtype), b_shape) if b_grad else None
        return ga, gb

    return record(out, (a, b), backward, name)


def where(condition: Any, a: Any, b: Any) -> Tensor:
    cond = condition._data if isinstance(condition, Tensor) else np.asarray(condition)
    a, b = _pair(a, b)
    cond = cond.astype(bool)
    a_shape, b_shape, a_grad, b_grad = a.shape, b.shape, a.requires_grad, b.requires_grad

    def backward(g: np.ndarray):
        ga = unbroadcast(np.where(cond, g, 0).astype(g.dtype), a_shape) if a_grad else None
        gb = unbroadcast(np.where(cond, 0, g).astype(g.dtype), b_shape) if b_grad else None
        return ga, gb

    return record(np.where(cond, a._data, b._data), (a, b), backward, "Where")


def cast(a: Tensor, dtype: np.dtype) -> Tensor:
    if a.dtype == dtype:
        return a
    out = a._data.astype(dtype)
    if dtype.kind != "f":
        return Tensor(out)
    a_dtype = a.dtype
    return record(out, (a,), lambda g: (g.astype(a_dtype) if a_dtype.kind == "f" else None,), "Cast")

"""Element-wise ops with NumPy broadcasting: + − × ÷ power, exp, log, sqrt, abs, clamp, maximum, casts.

Binary ops reduce each gradient back over the axes its input was broadcast along (`unbroadcast`).
Python scalars take the tensor's dtype, so float32 stays float32 (NEP 50 would otherwise upcast).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnkit.ops.broadcast import unbroadcast
from cnnkit.tensor import Tensor, as_tensor, record


def _pair(a: Any, b: Any) -> tuple[Tensor, Tensor]:
    """Both operands as Tensors of one dtype: an integer tensor meeting a float one takes the float's dtype."""
    a = as_tensor(a, like=b if isinstance(b, Tensor) else None)
    b = as_tensor(b, like=a)
    if a.dtype != b.dtype:
        if a.dtype.kind == "f" and b.dtype.kind != "f":
            b = Tensor(b.data.astype(a.dtype), dtype=a.dtype)
        elif b.dtype.kind == "f" and a.dtype.kind != "f":
            a = Tensor(a.data.astype(b.dtype), dtype=b.dtype)
    return a, b


def _check_broadcast(name: str, a: Tensor, b: Tensor) -> None:
    try:
        np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ValueError(f"{name}: shapes {a.shape} and {b.shape} cannot be broadcast together") from None


def add(a: Any, b: Any) -> Tensor:
    a, b = _pair(a, b)
    _check_broadcast("add", a, b)

    def backward(g: np.ndarray):  # d(a+b)/da = d(a+b)/db = 1
        return unbroadcast(g, a.shape), unbroadcast(g, b.shape)

    return record(a.data + b.data, (a, b), backward, "Add")


def sub(a: Any, b: Any) -> Tensor:
    a, b = _pair(a, b)
    _check_broadcast("sub", a, b)

    def backward(g: np.ndarray):
        return unbroadcast(g, a.shape), (unbroadcast(-g, b.shape) if b.requires_grad else None)

    return record(a.data - b.data, (a, b), backward, "Sub")


def mul(a: Any, b: Any) -> Tensor:
    a, b = _pair(a, b)
    _check_broadcast("mul", a, b)

    def backward(g: np.ndarray):  # d(ab)/da = b, d(ab)/db = a
        ga = unbroadcast(g * b.data, a.shape) if a.requires_grad else None
        gb = unbroadcast(g * a.data, b.shape) if b.requires_grad else None
        return ga, gb

    return record(a.data * b.data, (a, b), backward, "Mul")


def div(a: Any, b: Any) -> Tensor:
    a, b = _pair(a, b)
    _check_broadcast("div", a, b)
    if a.dtype.kind != "f":  # true division of integers gives float32, as in PyTorch
        a, b = Tensor(a.data.astype(np.float32)), Tensor(b.data.astype(np.float32))
    out = a.data / b.data

    def backward(g: np.ndarray):  # d(a/b)/da = 1/b, d(a/b)/db = −a/b²
        ga = unbroadcast(g / b.data, a.shape) if a.requires_grad else None
        gb = unbroadcast(-g * out / b.data, b.shape) if b.requires_grad else None
        return ga, gb

    return record(out, (a, b), backward, "Div")


def pow(a: Any, b: Any) -> Tensor:  # noqa: A001 - PyTorch's name
    a, b = _pair(a, b)
    _check_broadcast("pow", a, b)
    out = a.data**b.data

    def backward(g: np.ndarray):  # d(a^b)/da = b·a^(b−1), d(a^b)/db = a^b·ln a
        ga = unbroadcast(g * b.data * a.data ** (b.data - 1), a.shape) if a.requires_grad else None
        gb = None
        if b.requires_grad:
            with np.errstate(divide="ignore", invalid="ignore"):
                gb = unbroadcast(g * out * np.where(a.data > 0, np.log(np.where(a.data > 0, a.data, 1)), 0),
                                 b.shape)
        return ga, gb

    return record(out, (a, b), backward, "Pow")


def neg(a: Tensor) -> Tensor:
    return record(-a.data, (a,), lambda g: (-g,), "Neg")


def exp(a: Tensor) -> Tensor:
    out = np.exp(a.data)
    return record(out, (a,), lambda g: (g * out,), "Exp")  # d e^a = e^a


def log(a: Tensor) -> Tensor:
    return record(np.log(a.data), (a,), lambda g: (g / a.data,), "Log")  # d ln a = 1/a


def sqrt(a: Tensor) -> Tensor:
    out = np.sqrt(a.data)
    return record(out, (a,), lambda g: (g / (2 * out),), "Sqrt")  # d √a = 1/(2√a)


def abs(a: Tensor) -> Tensor:  # noqa: A001
    return record(np.abs(a.data), (a,), lambda g: (g * np.sign(a.data),), "Abs")


def sigmoid(a: Tensor) -> Tensor:
    # σ(x) = 1/(1+e^−x), written with e^−|x| so that neither branch overflows
    # (np.where on a data-dependent mask is ~20× slower here than these whole-array passes)
    e = np.exp(-np.abs(a.data))
    out = np.greater_equal(a.data, 0).astype(a.dtype)  # 1 where x ≥ 0: numerator 1; else numerator e
    np.maximum(out, e, out=out)
    out /= 1 + e
    return record(out, (a,), lambda g: (g * out * (1 - out),), "Sigmoid")  # σ' = σ(1−σ)


def tanh(a: Tensor) -> Tensor:
    out = np.tanh(a.data)
    return record(out, (a,), lambda g: (g * (1 - out * out),), "Tanh")  # tanh' = 1 − tanh²


def clamp(a: Tensor, min: float | None = None, max: float | None = None) -> Tensor:  # noqa: A002
    """Clip to [min, max]; the gradient passes where the input was inside the range (bounds included)."""
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    lo = -np.inf if min is None else min
    hi = np.inf if max is None else max
    out = np.clip(a.data, lo, hi).astype(a.dtype, copy=False)

    def backward(g: np.ndarray):
        return (g * ((a.data >= lo) & (a.data <= hi)),)

    return record(out, (a,), backward, "Clamp")


def maximum(a: Tensor, b: Any) -> Tensor:
    """Element-wise max; where a ties b, PyTorch splits the gradient evenly — we do the same."""
    a, b = _pair(a, b)
    out = np.maximum(a.data, b.data)

    def backward(g: np.ndarray):
        share_a = (a.data > b.data) + 0.5 * (a.data == b.data)
        ga = unbroadcast(g * share_a.astype(g.dtype), a.shape) if a.requires_grad else None
        gb = unbroadcast(g * (1 - share_a).astype(g.dtype), b.shape) if b.requires_grad else None
        return ga, gb

    return record(out, (a, b), backward, "Maximum")


def where(condition: Any, a: Any, b: Any) -> Tensor:
    cond = condition.data if isinstance(condition, Tensor) else np.asarray(condition)
    a, b = _pair(a, b)
    cond = cond.astype(bool)

    def backward(g: np.ndarray):
        ga = unbroadcast(np.where(cond, g, 0).astype(g.dtype), a.shape) if a.requires_grad else None
        gb = unbroadcast(np.where(cond, 0, g).astype(g.dtype), b.shape) if b.requires_grad else None
        return ga, gb

    return record(np.where(cond, a.data, b.data), (a, b), backward, "Where")


def cast(a: Tensor, dtype: np.dtype) -> Tensor:
    if a.dtype == dtype:
        return a
    out = a.data.astype(dtype)
    if dtype.kind != "f":
        return Tensor(out)
    return record(out, (a,), lambda g: (g.astype(a.dtype) if a.dtype.kind == "f" else None,), "Cast")

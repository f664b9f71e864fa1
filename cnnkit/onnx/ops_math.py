"""Imported ONNX ops, element by element: arithmetic, activations, Softmax/LogSoftmax, reductions, Clip, Cast.

Each op computes with cnnkit's differentiable ops on floating-point tensors; integer tensors (shape
arithmetic, the integer node tests) go through plain NumPy with ONNX's integer rules (Div truncates
toward zero, results keep the input type). Opset differences handled here:

- Add/Sub/Mul/Div before opset 7: `broadcast=1` with `axis` aligns B's dims with A's from `axis` on.
- Softmax/LogSoftmax before opset 13: the input is read as 2-D (dims before `axis` × dims from `axis`),
  normalised along the second, and reshaped back; from 13 on, along `axis` alone (default −1, was 1).
- Clip: `min`/`max` attributes before opset 11, optional inputs from 11.
- ReduceSum reads `axes` as an input from opset 13, ReduceMean/Max/Min from 18 (attributes before);
  `noop_with_empty_axes` makes empty axes the identity.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

import cnnkit.nn.functional as F
from cnnkit.onnx.registry import NodeContext, int_list, register, values
from cnnkit.onnx.tensors import numpy_dtype
from cnnkit.ops import elementwise as E
from cnnkit.ops import reduce as R
from cnnkit.ops import shape as S
from cnnkit.ops.activation import erf as erf_values
from cnnkit.tensor import Tensor, record


def is_float(t: Tensor) -> bool:
    return t.dtype.kind == "f"


def _legacy_broadcast(ctx: NodeContext, a: Tensor, b: Tensor) -> Tensor:
    """Before opset 7, `broadcast=1, axis=k` lines B's dims up with A's dims k, k+1, ...: pad B with 1s after."""
    if ctx.opset >= 7 or not ctx.attr("broadcast", 0) or ctx.attr("axis") is None:
        return b
    axis = ctx.attr("axis") % max(a.ndim, 1)
    trailing = a.ndim - axis - b.ndim
    return S.reshape(b, b.shape + (1,) * trailing) if trailing > 0 else b


def _binary(op_type: str, fn: Callable[[Tensor, Tensor], Tensor], integer: Callable | None = None) -> None:
    def run(ctx: NodeContext, inputs: list) -> Tensor:
        a, b = inputs
        b = _legacy_broadcast(ctx, a, b)
        if not is_float(a) and not is_float(b) and integer is not None:
            return Tensor(np.asarray(integer(a._data, b._data)).astype(a.dtype, copy=False))
        return fn(a, b)

    register(op_type)(run)


def _int_div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Integer division truncating toward zero (C's, and ONNX's), not NumPy's floor division."""
    q = np.floor_divide(a, b)
    if np.issubdtype(a.dtype, np.signedinteger):
        q = q + ((q < 0) & (q * b != a))
    return q


def _pow(a: Tensor, b: Tensor) -> Tensor:
    if not is_float(a):  # an integer base keeps its type, whatever the exponent's (ONNX Pow)
        return Tensor(np.power(a._data, b._data).astype(a.dtype))
    if not is_float(b):
        b = Tensor(b._data.astype(a.dtype))
    return E.pow(a, b)


_binary("Add", E.add, np.add)
_binary("Sub", E.sub, np.subtract)
_binary("Mul", E.mul, np.multiply)
_binary("Div", E.div, _int_div)
register("Pow")(lambda ctx, inputs: _pow(inputs[0], _legacy_broadcast(ctx, inputs[0], inputs[1])))


def _minimum(a: Tensor, b: Tensor) -> Tensor:
    return E.neg(E.maximum(E.neg(a), E.neg(b))) if is_float(a) else Tensor(np.minimum(a._data, b._data))


def _variadic(op_type: str, fold: Callable[[Tensor, Tensor], Tensor], mean: bool = False) -> None:
    def run(ctx: NodeContext, inputs: list) -> Tensor:
        present = [t for t in inputs if t is not None]
        out = present[0]
        for t in present[1:]:
            out = fold(out, t)
        if len(present) == 1:
            out = S.clone(out) if is_float(out) else out
        return E.div(out, float(len(present))) if mean else out

    register(op_type)(run)


_variadic("Sum", E.add)
_variadic("Max", E.maximum)
_variadic("Min", _minimum)
_variadic("Mean", E.add, mean=True)


# --------------------------------------------------------------------- one input
def _unary(op_type: str, fn: Callable[..., Tensor], integer: Callable | None = None) -> None:
    def run(ctx: NodeContext, inputs: list) -> Tensor:
        x = inputs[0]
        if not is_float(x) and integer is not None:
            return Tensor(integer(x._data).astype(x.dtype, copy=False))
        return fn(ctx, x)

    register(op_type)(run)


_unary("Neg", lambda ctx, x: E.neg(x), np.negative)
_unary("Abs", lambda ctx, x: E.abs(x), np.abs)
_unary("Exp", lambda ctx, x: E.exp(x))
_unary("Log", lambda ctx, x: E.log(x))
_unary("Sqrt", lambda ctx, x: E.sqrt(x))
_unary("Reciprocal", lambda ctx, x: E.div(1.0, x))
_unary("Relu", lambda ctx, x: F.relu(x), lambda a: np.maximum(a, 0))
_unary("Sigmoid", lambda ctx, x: E.sigmoid(x))
_unary("Tanh", lambda ctx, x: E.tanh(x))
_unary("LeakyRelu", lambda ctx, x: F.leaky_relu(x, float(ctx.attr("alpha", 0.01))))
_unary("Elu", lambda ctx, x: F.elu(x, float(ctx.attr("alpha", 1.0))))
# selu(x) = γ·elu(x, α), with ONNX's default α and γ (the values of Klambauer et al. in float32)
_unary(
    "Selu",
    lambda ctx, x: E.mul(
        F.elu(x, float(ctx.attr("alpha", 1.67326319217681884765625))),
        float(ctx.attr("gamma", 1.05070102214813232421875)),
    ),
)
_unary("Softplus", lambda ctx, x: F.softplus(x))
_unary("Softsign", lambda ctx, x: E.div(x, E.add(E.abs(x), 1.0)))  # x / (1 + |x|)
# HardSigmoid = clip(αx + β, 0, 1); HardSwish = x · HardSigmoid with α = 1/6, β = ½
_unary(
    "HardSigmoid",
    lambda ctx, x: E.clamp(E.add(E.mul(x, float(ctx.attr("alpha", 0.2))), float(ctx.attr("beta", 0.5))), 0.0, 1.0),
)
_unary("HardSwish", lambda ctx, x: E.mul(x, E.clamp(E.add(E.mul(x, 1.0 / 6.0), 0.5), 0.0, 1.0)))
_unary("Identity", lambda ctx, x: x, lambda a: a)


def _erf(x: Tensor) -> Tensor:
    """erf(x), element-wise, with d erf/dx = 2/√π · e^(−x²) (Gelu's expansion before opset 20 uses it)."""
    out = erf_values(x._data)

    def backward(g: np.ndarray):
        return (g * (2.0 / np.sqrt(np.pi)) * np.exp(-x._data * x._data),)

    return record(out, (x,), backward, "Erf")


_unary("Erf", lambda ctx, x: _erf(x))


def _check_gelu(ctx: NodeContext) -> None:
    if ctx.attr("approximate", "none") not in ("none", "tanh"):
        raise ctx.error(f"approximate must be 'none' or 'tanh', got {ctx.attr('approximate')!r}")


register("Gelu", check=_check_gelu)(lambda ctx, inputs: F.gelu(inputs[0], ctx.attr("approximate", "none")))


@register("PRelu", names=("", "weight"))
def prelu(ctx: NodeContext, inputs: list) -> Tensor:
    """x where x > 0, slope·x elsewhere; a 1-D slope of C values is per channel (dim 1) before opset 7."""
    x, slope = inputs
    if ctx.opset < 7 and slope.ndim == 1 and x.ndim > 2 and slope.shape[0] == x.shape[1]:
        slope = S.reshape(slope, slope.shape + (1,) * (x.ndim - 2))
    return E.where(x._data > 0, x, E.mul(slope, x))


# --------------------------------------------------------------------- softmax
def _along_axis(fn: Callable[[Tensor, int], Tensor]) -> Callable[[NodeContext, list], Tensor]:
    def run(ctx: NodeContext, inputs: list) -> Tensor:
        x = inputs[0]
        if ctx.opset >= 13:
            return fn(x, int(ctx.attr("axis", -1)))
        axis = int(ctx.attr("axis", 1)) % max(x.ndim, 1)  # opset < 13: flatten to 2-D at axis
        rows = int(np.prod(x.shape[:axis], dtype=np.int64))
        flat = S.reshape(x, (rows, int(np.prod(x.shape[axis:], dtype=np.int64))))
        return S.reshape(fn(flat, 1), x.shape)

    return run


register("Softmax")(_along_axis(F.softmax))
register("LogSoftmax")(_along_axis(F.log_softmax))


# --------------------------------------------------------------------- clip and cast
@register("Clip", static=(1, 2))
def clip(ctx: NodeContext, inputs: list) -> Tensor:
    x = inputs[0]
    if ctx.opset < 11:
        lo, hi = ctx.attr("min"), ctx.attr("max")
    else:
        lo_v, hi_v = (values(t) for t in (inputs + [None, None])[1:3])
        lo = None if lo_v is None else lo_v.item()
        hi = None if hi_v is None else hi_v.item()
    if not is_float(x):
        low = np.iinfo(x.dtype).min if lo is None else lo
        high = np.iinfo(x.dtype).max if hi is None else hi
        return Tensor(np.clip(x._data, low, high).astype(x.dtype))
    if lo is None and hi is None:
        return S.clone(x)
    return E.clamp(x, lo, hi)


def _check_cast(ctx: NodeContext) -> None:
    try:
        numpy_dtype(int(ctx.attr("to", 1)))
    except TypeError as err:
        raise ctx.error(str(err)) from None


@register("Cast", check=_check_cast)
def cast(ctx: NodeContext, inputs: list) -> Tensor:
    dtype = numpy_dtype(int(ctx.attr("to")))
    x = inputs[0]
    if is_float(x) and dtype.kind == "f":
        return E.cast(x, dtype)
    return Tensor(x._data.astype(dtype), dtype=dtype)


# --------------------------------------------------------------------- reductions
def _reduce_axes(ctx: NodeContext, inputs: list, axes_input_since: int) -> tuple[int, ...] | None:
    """The reduced axes, or None for "all"; () means "none" (noop_with_empty_axes)."""
    x = inputs[0]
    if ctx.opset >= axes_input_since:
        axes = int_list(inputs[1] if len(inputs) > 1 else None)
    else:
        axes = ctx.attr("axes")
    if not axes:
        return () if ctx.attr("noop_with_empty_axes", 0) else None
    return tuple(sorted(int(a) % x.ndim for a in axes))


def _reduction(op_type: str, since: int, fn: Callable[[Tensor, tuple[int, ...], bool], Tensor]) -> None:
    def run(ctx: NodeContext, inputs: list) -> Tensor:
        x = inputs[0]
        axes = _reduce_axes(ctx, inputs, since)
        if axes == ():
            return x
        axes = tuple(range(x.ndim)) if axes is None else axes
        return fn(x, axes, bool(ctx.attr("keepdims", 1)))

    register(op_type, static=(1,))(run)


def _extreme(pick: str) -> Callable[[Tensor, tuple[int, ...], bool], Tensor]:
    def run(x: Tensor, axes: tuple[int, ...], keepdims: bool) -> Tensor:
        if not is_float(x) or any(x.shape[a] == 0 for a in axes):  # no gradient; empty: the identity (∓∞)
            reduce = np.max if pick == "max" else np.min
            if is_float(x):
                lowest, highest = -np.inf, np.inf
            elif x.dtype == np.bool_:
                lowest, highest = False, True
            else:
                lowest, highest = np.iinfo(x.dtype).min, np.iinfo(x.dtype).max
            start = lowest if pick == "max" else highest
            return Tensor(reduce(x._data, axis=axes, keepdims=keepdims, initial=start).astype(x.dtype))
        out = x
        for axis in reversed(axes):  # one axis at a time; max/min are associative
            out = getattr(R, pick)(out, axis, True).values
        return out if keepdims else S.reshape(out, tuple(n for i, n in enumerate(x.shape) if i not in axes))

    return run


_reduction(
    "ReduceSum",
    13,
    lambda x, axes, keep: (
        R.sum(x, axes, keep) if is_float(x) else Tensor(x._data.sum(axis=axes, keepdims=keep).astype(x.dtype))
    ),
)
_reduction("ReduceMean", 18, lambda x, axes, keep: R.mean(x, axes, keep))
_reduction("ReduceMax", 18, _extreme("max"))
_reduction("ReduceMin", 18, _extreme("min"))

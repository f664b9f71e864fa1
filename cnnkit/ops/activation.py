"""Activations (ReLU family, ELU, GELU, SiLU, softplus, hardtanh), softmax / log-softmax, and dropout.

Each op computes its forward with NumPy on the input's dtype (float32 stays float32) and records a
closed-form backward. Gradients at the kinks follow PyTorch: ReLU' (0) = 0, leaky ReLU' (0) = slope,
ELU' (0) = alpha, hardtanh/ReLU6 pass the gradient only strictly inside (min_val, max_val).
`erf` is our own vectorised error function (NumPy has none), used by the exact GELU.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from cnnkit.autograd import is_grad_enabled
from cnnkit.ops import activation_kernels as kernels
from cnnkit.ops.compiled import numpy_suffices
from cnnkit.random import default_generator
from cnnkit.tensor import Tensor, record

# ----------------------------------------------------------------------------------------- erf
# Cephes (S. L. Moshier) rational approximations, relative error ~1e-16 in float64:
#   |x| < 1:  erf(x)  = x · T(x²) / U(x²)
#   |x| ≥ 1:  erfc(x) = e^(−x²) · P(|x|) / Q(|x|)   (fitted on [1, 8]; erfc(8) ≈ 1e−29, so erf = ±1 beyond)
_ERF_T = (9.60497373987051638749e0, 9.00260197203842689217e1, 2.23200534594684319226e3,
          7.00332514112805075473e3, 5.55923013010394962768e4)
_ERF_U = (1.0, 3.35617141647503099647e1, 5.21357949780152679795e2, 4.59432382970980127987e3,
          2.26290000613890934246e4, 4.92673942608635921086e4)
_ERFC_P = (2.46196981473530512524e-10, 5.64189564831068821977e-1, 7.46321056442269912687e0,
           4.86371970985681366614e1, 1.96520832956077098242e2, 5.26445194995477358631e2,
           9.34528527171957607540e2, 1.02755188689515710272e3, 5.57535335369399327526e2)
_ERFC_Q = (1.0, 1.32281951154744992508e1, 8.67072140885989742329e1, 3.54937778887819891062e2,
           9.75708501743205489753e2, 1.82390916687909736289e3, 2.24633760818710981792e3,
           1.65666309194161350182e3, 5.57535340817727675546e2)


def _polyval(coefficients: tuple[float, ...], x: np.ndarray) -> np.ndarray:
    """c0·xⁿ + c1·xⁿ⁻¹ + … + cn by Horner's rule, in place on one buffer (Python floats keep x's dtype)."""
    out = np.full_like(x, coefficients[0])
    for c in coefficients[1:]:
        out *= x
        out += c
    return out


def erf(x: np.ndarray) -> np.ndarray:
    """The error function of a floating-point array, element-wise, in x's dtype (max error ~1e-16 in float64)."""
    x = np.asarray(x)
    out = np.empty_like(x)
    a = np.abs(x)
    small = a < 1.0
    xs = x[small]
    z = xs * xs
    out[small] = xs * _polyval(_ERF_T, z) / _polyval(_ERF_U, z)
    large = ~small
    al = np.minimum(a[large], 8.0)  # erf(±8) is ±1 to double precision: clamping keeps exp and the fit in range
    erfc = np.exp(-al * al) * _polyval(_ERFC_P, al) / _polyval(_ERFC_Q, al)
    out[large] = np.copysign(1.0 - erfc, x[large])
    return out


# ----------------------------------------------------------------------------------------- ReLU family
# np.where on a data-dependent mask costs ~20 ns an element (branch mispredictions): 20× a plain pass on
# this machine. So derivatives are built as 0/1 float indicators (`_step`) and products, never with np.where.
_KERNEL_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _contiguous(a: np.ndarray) -> np.ndarray:
    """a in C order, copied only when it is not (np.ascontiguousarray would turn a 0-d array into 1-d)."""
    return a if a.flags.c_contiguous else a.copy(order="C")


def _step(x: np.ndarray, threshold: float, dtype: np.dtype) -> np.ndarray:
    """1.0 where x > threshold, else 0.0, as a new array of dtype (a comparison written straight into floats)."""
    return np.greater(x, threshold, out=np.empty(x.shape, dtype=dtype))


def _one_where(step: np.ndarray, value: np.ndarray | float) -> np.ndarray:
    """1 where step is 1, value where step is 0 — exactly, as s + (1 − s)·v (unlike v + s·(1 − v))."""
    out = 1 - step
    out *= value
    out += step
    return out


def relu(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    """max(x, 0); the gradient at exactly 0 is 0, as in PyTorch. Float32/64 run the compiled loops (both cores)."""
    if inplace:
        return _in_place(input, lambda s: relu(s), "relu_")
    x = input._data
    if numpy_suffices(x.size, input.requires_grad and is_grad_enabled()):  # NaN stays NaN, as in PyTorch
        return record(np.maximum(x, 0), (input,), None, "Relu")
    if x.dtype not in _KERNEL_DTYPES:  # float16 and integers: the same maths in NumPy
        out = np.maximum(x, 0)

        def backward(g: np.ndarray):  # dL/dx = g · [y > 0]
            grad = _step(out, 0, g.dtype)
            grad *= g
            return (grad,)

        return record(out, (input,), backward, "Relu")
    x = _contiguous(x)
    out = np.empty_like(x)
    kernels.relu_forward(x.reshape(-1), out.reshape(-1))

    def backward(g: np.ndarray):  # dL/dx = 0 where y ≤ 0, else g
        g = _contiguous(g.astype(out.dtype, copy=False))
        grad = np.empty_like(g)
        kernels.relu_backward(out.reshape(-1), g.reshape(-1), grad.reshape(-1))
        return (grad,)

    return record(out, (input,), backward, "Relu")


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,  # noqa: A002
             inplace: bool = False) -> Tensor:
    """Clip to [min_val, max_val]; the gradient passes only strictly inside the interval (PyTorch)."""
    if inplace:
        return _in_place(input, lambda s: hardtanh(s, min_val, max_val), "hardtanh_")
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) cannot be greater than max_val ({max_val})")
    x = input._data
    out = np.clip(x, min_val, max_val)

    def backward(g: np.ndarray):  # dL/dx = g · [min < x < max]
        grad = ((x > min_val) & (x < max_val)).astype(g.dtype)
        grad *= g
        return (grad,)

    return record(out, (input,), backward, "Hardtanh")


def relu6(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    """min(max(x, 0), 6) = hardtanh(x, 0, 6), with hardtanh's gradient (0 at both 0 and 6)."""
    if inplace:
        return _in_place(input, lambda s: relu6(s), "relu6_")
    return hardtanh(input, 0.0, 6.0)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:  # noqa: A002
    """x for x > 0, negative_slope·x otherwise (so the gradient at 0 is negative_slope, as in PyTorch)."""
    if inplace:
        return _in_place(input, lambda s: leaky_relu(s, negative_slope), "leaky_relu_")
    x = input._data
    slope = _one_where(_step(x, 0, x.dtype), negative_slope)  # the derivative: 1 for x > 0, else the slope
    out = x * slope

    def backward(g: np.ndarray):  # dL/dx = g · (1 if x > 0 else slope)
        return (g * slope,)

    return record(out, (input,), backward, "LeakyRelu")


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:  # noqa: A002
    """x for x > 0, alpha·(eˣ − 1) otherwise."""
    if inplace:
        return _in_place(input, lambda s: elu(s, alpha), "elu_")
    x = input._data
    negative_part = np.expm1(np.minimum(x, 0))  # alpha·(e^min(x,0) − 1): 0 for x > 0, and never overflows
    negative_part *= alpha
    out = np.maximum(x, 0)
    out += negative_part

    def backward(g: np.ndarray):  # dL/dx = g · (1 if x > 0 else alpha·eˣ)
        scaled_exp = np.exp(np.minimum(x, 0))
        scaled_exp *= alpha
        grad = _one_where(_step(x, 0, g.dtype), scaled_exp)
        grad *= g
        return (grad,)

    return record(out, (input,), backward, "Elu")


# ----------------------------------------------------------------------------------------- smooth activations
def _sigmoid(x: np.ndarray) -> np.ndarray:
    """σ(x) = e^min(x, 0) / (1 + e^−|x|): neither exponential overflows, and no np.where."""
    e = np.exp(-np.abs(x))
    numerator = np.greater_equal(x, 0, out=np.empty_like(x))  # 1 for x ≥ 0, where e ≤ 1 …
    np.maximum(numerator, e, out=numerator)  # … and e = eˣ for x < 0, where the indicator is 0
    e += 1
    numerator /= e
    return numerator


_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
_GELU_CUBIC = 0.044715


def gelu(input: Tensor, approximate: str = "none") -> Tensor:  # noqa: A002
    """x·Φ(x) with Φ the standard normal CDF (exact, via erf), or PyTorch's tanh approximation."""
    x = input._data
    if approximate == "none":
        cdf = erf(x * _SQRT_HALF)
        cdf += 1
        cdf *= 0.5  # Φ(x) = (1 + erf(x/√2)) / 2
        out = x * cdf

        def backward(g: np.ndarray):  # d[xΦ(x)]/dx = Φ(x) + x·φ(x),  φ(x) = e^(−x²/2)/√(2π)
            pdf = np.exp(-0.5 * x * x)
            pdf *= x * _INV_SQRT_2PI
            pdf += cdf
            return (g * pdf,)

    elif approximate == "tanh":
        inner = x * x
        inner *= _GELU_CUBIC
        inner += 1
        inner *= x * _SQRT_2_OVER_PI  # u = √(2/π)·(x + 0.044715x³)
        th = np.tanh(inner)
        out = 0.5 * x * (1 + th)

        def backward(g: np.ndarray):  # d/dx = ½(1 + th) + ½x·(1 − th²)·√(2/π)·(1 + 3·0.044715x²)
            du = (3 * _GELU_CUBIC) * x * x
            du += 1
            du *= _SQRT_2_OVER_PI
            return (g * (0.5 * (1 + th) + 0.5 * x * (1 - th * th) * du),)

    else:
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return record(out, (input,), backward, "Gelu")


def silu(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    """x·σ(x) (also called swish)."""
    if inplace:
        return _in_place(input, lambda s: silu(s), "silu_")
    x = input._data
    s = _sigmoid(x)
    out = x * s

    def backward(g: np.ndarray):  # d[xσ]/dx = σ·(1 + x·(1 − σ))
        return (g * (s * (1 + x * (1 - s))),)

    return record(out, (input,), backward, "Silu")


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:  # noqa: A002
    """log(1 + e^(βx))/β, and x itself where βx > threshold (PyTorch's linear cut-off)."""
    x = input._data
    bx = x * beta
    linear = bx > threshold
    # log(1 + e^z) = max(z, 0) + log(1 + e^−|z|), which never overflows
    soft = np.log1p(np.exp(-np.abs(bx)))
    soft += np.maximum(bx, 0)
    soft /= beta
    any_linear = bool(linear.any())
    if any_linear:  # rare, so a masked copy is cheap here
        np.copyto(soft, x, where=linear)

    def backward(g: np.ndarray):  # dL/dx = g · σ(βx), or g where βx > threshold
        grad = _sigmoid(bx)
        if any_linear:
            grad[linear] = 1
        grad *= g
        return (grad,)

    return record(soft, (input,), backward, "Softplus")


# ----------------------------------------------------------------------------------------- softmax
def _softmax_axis(op: str, x: Tensor, dim: int) -> int:
    """dim as a non-negative axis; a 0-d tensor accepts dim 0 or −1, as in PyTorch."""
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"{op}: dim must be an int, got {dim!r}")
    ndim = max(x.ndim, 1)
    if not -ndim <= dim < ndim:
        raise IndexError(f"{op}: dim {dim} is out of range for an input of shape {x.shape} "
                         f"(expected a dim in [{-ndim}, {ndim - 1}])")
    return int(dim) % ndim


def softmax(input: Tensor, dim: int) -> Tensor:  # noqa: A002
    """e^x / Σ e^x along dim, computed as e^(x − max) so that nothing overflows."""
    axis = _softmax_axis("softmax", input, dim)
    if input.ndim == 0:
        return record(np.ones_like(input._data), (input,), lambda g: (np.zeros_like(g),), "Softmax")
    x = input._data
    out = x - x.max(axis=axis, keepdims=True)
    np.exp(out, out=out)
    out /= out.sum(axis=axis, keepdims=True)

    def backward(g: np.ndarray):  # dL/dx = y ⊙ (g − Σ g⊙y)
        gy = g * out
        gy -= out * gy.sum(axis=axis, keepdims=True)
        return (gy,)

    return record(out, (input,), backward, "Softmax")


def log_softmax(input: Tensor, dim: int) -> Tensor:  # noqa: A002
    """x − log Σ e^x along dim, computed as (x − max) − log Σ e^(x − max)."""
    axis = _softmax_axis("log_softmax", input, dim)
    if input.ndim == 0:
        return record(np.zeros_like(input._data), (input,), lambda g: (np.zeros_like(g),), "LogSoftmax")
    x = input._data
    shifted = x - x.max(axis=axis, keepdims=True)
    out = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))

    def backward(g: np.ndarray):  # dL/dx = g − softmax · Σ g
        grad = np.exp(out)
        grad *= -g.sum(axis=axis, keepdims=True)
        grad += g
        return (grad,)

    return record(out, (input,), backward, "LogSoftmax")


# ----------------------------------------------------------------------------------------- dropout
def _check_p(op: str, p: float) -> None:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{op}: dropout probability has to be between 0 and 1, but got {p}")


def _scaled_mask(shape: tuple[int, ...], p: float, dtype: np.dtype) -> np.ndarray:
    """Bernoulli(1 − p) keep-mask already multiplied by 1/(1 − p) (inverted dropout), from float32 uniforms."""
    if p == 1.0:
        return np.zeros(shape, dtype=dtype)
    keep = default_generator().random(shape, dtype=np.float32) >= p
    return np.multiply(keep, 1.0 / (1.0 - p), dtype=dtype)


def _apply_mask(input: Tensor, mask: np.ndarray, name: str) -> Tensor:  # noqa: A002
    def backward(g: np.ndarray):  # dL/dx = g · mask / (1 − p)   (the mask already carries the scale)
        return (g * mask,)

    return record(input._data * mask, (input,), backward, name)


def dropout(input: Tensor, p: float = 0.5, training: bool = True,  # noqa: A002
            inplace: bool = False) -> Tensor:
    """Zero each element with probability p and scale the survivors by 1/(1 − p); identity when not training."""
    if inplace:
        return _in_place(input, lambda s: dropout(s, p, training), "dropout_")
    _check_p("dropout", p)
    if not training or p == 0.0:
        return input
    return _apply_mask(input, _scaled_mask(input.shape, p, input.dtype), "Dropout")


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True,  # noqa: A002
              inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, H, W) — or of (C, H, W) — with probability p, scaling the rest by 1/(1 − p).

    A 3-D input is one unbatched (C, H, W) image, the reading PyTorch announces; PyTorch 2.13 still reads it as
    (N, C, L) with a deprecation warning. Other ranks raise (PyTorch warns that they will).
    """
    if inplace:
        return _in_place(input, lambda s: dropout2d(s, p, training), "dropout2d_")
    _check_p("dropout2d", p)
    if input.ndim not in (3, 4):
        raise ValueError(f"dropout2d: expected input of shape (N, C, H, W) or (C, H, W), got {input.shape}")
    if not training or p == 0.0:
        return input
    mask_shape = input.shape[:-2] + (1, 1)  # one draw per (sample, channel), broadcast over H and W
    return _apply_mask(input, _scaled_mask(mask_shape, p, input.dtype), "Dropout2d")


def _in_place(input: Tensor, op: Any, name: str) -> Tensor:  # noqa: A002
    """`op(input)` written into input's memory and recorded as an in-place op (`inplace=True`)."""
    from cnnkit.inplace import apply

    return apply(input, op, name)

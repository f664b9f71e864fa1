"""Resampling: `interpolate` for (N, C, H, W) input — modes nearest, nearest-exact, bilinear and area.

Every mode is separable: along each axis an output position reads one or two input positions, with
weights computed exactly as PyTorch's CPU kernels do (same float32 arithmetic for source indices).

- nearest / nearest-exact: a gather along each axis. Backward sums the gradient over the runs of
  output positions that read the same input position (the index maps are non-decreasing, so the runs are
  contiguous: np.add.reduceat); an integer upscale is a broadcast forward and a strided-slice sum backward.
- bilinear: per-axis interpolation matrices A_h (OH×H) and A_w (OW×W), forward y = A_h · x · A_wᵀ and
  backward dx = A_hᵀ · g · A_w.
- area: adaptive average pooling, as in PyTorch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from cnnkit.ops.pool import adaptive_avg_pool2d
from cnnkit.tensor import Tensor, as_tensor, record

MODES = ("nearest", "nearest-exact", "bilinear", "area")


# ---------------------------------------------------------------------------------------- output size and scales


def _two(op_arg: str, value: float | Sequence[float]) -> tuple:
    if isinstance(value, (int, float, np.integer, np.floating)):
        return (value, value)
    values = tuple(value)
    if len(values) != 2:
        raise ValueError(f"interpolate: expected {op_arg} as a number or a pair for a 4-D input's 2 spatial dims, "
                         f"got {value!r}")
    return values


def _output_size(shape: tuple[int, ...], size: int | Sequence[int] | None,
                 scale_factor: float | Sequence[float] | None,
                 recompute_scale_factor: bool | None) -> tuple[tuple[int, int], tuple[float | None, float | None]]:
    """(OH, OW) and the scales handed to the kernels, as torch.nn.functional.interpolate computes them."""
    if size is None and scale_factor is None:
        raise ValueError("interpolate: expected either size or scale_factor, got neither")
    if size is not None and scale_factor is not None:
        raise ValueError(f"interpolate: expected only one of size or scale_factor, got size={size!r} and "
                         f"scale_factor={scale_factor!r}")
    if size is not None:
        if recompute_scale_factor:
            raise ValueError("interpolate: recompute_scale_factor is not meaningful with an explicit size")
        out = _two("size", size)
        if not all(isinstance(s, (int, np.integer)) for s in out):
            raise TypeError(f"interpolate: expected size as ints, got {size!r}")
        scales: tuple[float | None, float | None] = (None, None)
    else:
        factors = tuple(float(f) for f in _two("scale_factor", scale_factor))
        out = tuple(math.floor(n * f) for n, f in zip(shape[2:], factors, strict=True))
        scales = (None, None) if recompute_scale_factor else factors
    out = (int(out[0]), int(out[1]))
    if min(out) < 1:
        raise ValueError(f"interpolate: expected output sizes greater than 0, got {out} for input of shape {shape}")
    return out, scales


def _inverse_scale(n: int, out: int, scale: float | None) -> np.float32:
    """PyTorch's compute_scales_value in float32: 1/scale_factor if one was given, else n/out."""
    if scale is not None and scale > 0:
        return np.float32(1.0 / scale)
    return np.float32(n) / np.float32(out)


# ---------------------------------------------------------------------------------------- nearest


def _nearest_index(n: int, out: int, scale: float | None, exact: bool) -> np.ndarray:
    """Source index of each output position (non-decreasing in the output position).

    nearest: min(⌊dst·s⌋, n−1) with dst·s in float32; nearest-exact: min(⌊(dst + 0.5)·s⌋, n−1), rounded to
    float32 before the floor as PyTorch's floorf does.
    """
    dst = np.arange(out)
    if not exact and out == n:
        return dst
    if not exact and out == 2 * n:
        return dst >> 1
    s = _inverse_scale(n, out, scale)
    if exact:
        src = np.floor(((dst + 0.5) * np.float64(s)).astype(np.float32))
    else:
        src = np.floor(dst.astype(np.float32) * s)
    return np.minimum(src.astype(np.int64), n - 1)


def _sum_runs(g: np.ndarray, index: np.ndarray, n: int, axis: int) -> np.ndarray:
    """Adjoint of a gather along axis with a non-decreasing index: dx[i] = Σ g over the positions reading i."""
    starts = np.flatnonzero(np.r_[True, index[1:] != index[:-1]])
    sums = np.add.reduceat(g, starts, axis=axis)
    sources = index[starts]
    if len(sources) == n:  # every input position is read (upsampling): the sums are the gradient
        return sums
    shape = g.shape[:axis] + (n,) + g.shape[axis + 1:]
    grad = np.zeros(shape, dtype=g.dtype)
    grad[(slice(None),) * axis + (sources,)] = sums  # distinct sources: a plain assignment
    return grad


def _integer_factor(index: np.ndarray, n: int) -> int:
    """k if the index map is the integer upscale dst // k, else 0."""
    k, rem = divmod(len(index), n)
    return k if rem == 0 and np.array_equal(index, np.arange(len(index)) // k) else 0


def _nearest(x: Tensor, out: tuple[int, int], scales: tuple, exact: bool) -> Tensor:
    n, c, h, w = x.shape
    rows = _nearest_index(h, out[0], scales[0], exact)
    cols = _nearest_index(w, out[1], scales[1], exact)
    kh, kw = _integer_factor(rows, h), _integer_factor(cols, w)
    if kh and kw:  # integer upscale: each input pixel becomes a kh×kw block (one broadcast copy)
        y = np.broadcast_to(x._data[:, :, :, None, :, None], (n, c, h, kh, w, kw)).reshape(n, c, h * kh, w * kw)

        def backward(g: np.ndarray):  # dx = Σ over the kh·kw strided phases of g
            grad = g[:, :, 0::kh, 0::kw].copy()
            for i in range(kh):
                for j in range(kw):
                    if i or j:
                        grad += g[:, :, i::kh, j::kw]
            return (grad,)
    else:
        y = x._data[:, :, rows[:, None], cols[None, :]]

        def backward(g: np.ndarray):  # dx = the row-run sums of the column-run sums of g
            return (_sum_runs(_sum_runs(g, cols, w, 3), rows, h, 2),)

    return record(y, (x,), backward, "UpsampleNearest2d")


# ---------------------------------------------------------------------------------------- bilinear


def _linear_matrix(n: int, out: int, scale: float | None, align_corners: bool,
                   dtype: np.dtype) -> np.ndarray | None:
    """A (out × n) matrix whose row o holds PyTorch's two linear-interpolation weights for output o.

    align_corners: src = o·(n−1)/(out−1); otherwise src = max((o + ½)·s − ½, 0) with s = 1/scale or n/out.
    Then i0 = min(⌊src⌋, n−1), i1 = i0 + 1 (or i0 at the last cell), λ = clip(src − i0, 0, 1):
    row o is (1 − λ) at i0 plus λ at i1. Arithmetic in the input's dtype, as PyTorch's opmath for float/double.
    An axis whose size does not change is copied as is, whatever the scale (PyTorch's CPU kernel does so):
    None stands for that identity.
    """
    if out == n:
        return None
    dst = np.arange(out).astype(dtype)
    if align_corners:
        s = (dtype.type(n - 1) / dtype.type(out - 1)) if out > 1 else dtype.type(0)
        src = s * dst
    else:
        s = dtype.type(1.0 / scale) if scale is not None and scale > 0 else dtype.type(n) / dtype.type(out)
        src = np.maximum(s * (dst + dtype.type(0.5)) - dtype.type(0.5), dtype.type(0))
    i0 = np.minimum(np.floor(src).astype(np.int64), n - 1)
    lam = np.clip(src - i0.astype(dtype), 0, 1).astype(dtype)
    i1 = np.where(i0 < n - 1, i0 + 1, i0)
    matrix = np.zeros((out, n), dtype=dtype)
    rows = np.arange(out)
    matrix[rows, i0] = 1 - lam
    matrix[rows, i1] += lam  # each (row, i1) pair occurs once, so the fancy add is exact
    return matrix


def _separable(data: np.ndarray, a_h: np.ndarray | None, a_w: np.ndarray | None) -> np.ndarray:
    """A_h · data · A_wᵀ over the last two axes (None = identity); the W product first is one large GEMM."""
    out = data if a_w is None else data @ a_w.T
    out = out if a_h is None else np.matmul(a_h, out)
    return out.copy() if out is data else out


def _bilinear(x: Tensor, out: tuple[int, int], scales: tuple, align_corners: bool) -> Tensor:
    _, _, h, w = x.shape
    a_h = _linear_matrix(h, out[0], scales[0], align_corners, x.dtype)
    a_w = _linear_matrix(w, out[1], scales[1], align_corners, x.dtype)
    y = _separable(x._data, a_h, a_w)  # y = A_h · x · A_wᵀ

    def backward(g: np.ndarray):  # dL/dx = A_hᵀ · g · A_w
        return (_separable(g, None if a_h is None else a_h.T, None if a_w is None else a_w.T),)

    return record(y, (x,), backward, "UpsampleBilinear2d")


# ---------------------------------------------------------------------------------------- public op


def interpolate(input: Tensor, size: int | Sequence[int] | None = None,  # noqa: A002
                scale_factor: float | Sequence[float] | None = None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None) -> Tensor:
    """Resize (N, C, H, W) input to `size`, or by `scale_factor` (output ⌊H·scale⌋), as PyTorch does.

    With scale_factor and recompute_scale_factor=None the kernels use 1/scale_factor as the step between
    output positions (PyTorch's default); recompute_scale_factor=True uses H/OH instead.
    """
    x = as_tensor(input)
    if mode not in MODES:
        raise ValueError(f"interpolate: expected mode to be one of {MODES}, got {mode!r}")
    if align_corners is not None and mode != "bilinear":
        raise ValueError(f"interpolate: align_corners can only be set with mode 'bilinear', got mode {mode!r} "
                         f"with align_corners={align_corners}")
    if x.ndim != 4:
        raise ValueError(f"interpolate: expected a 4-D (N, C, H, W) input, got shape {x.shape}")
    if 0 in x.shape[1:]:
        raise ValueError(f"interpolate: expected non-zero channels, height and width, got input of shape {x.shape}")
    if x.dtype.kind != "f":
        raise TypeError(f"interpolate: expected a floating-point input, got dtype {x.dtype}")
    out, scales = _output_size(x.shape, size, scale_factor, recompute_scale_factor)
    if mode == "bilinear":
        return _bilinear(x, out, scales, bool(align_corners))
    if mode == "area":
        return adaptive_avg_pool2d(x, out)
    return _nearest(x, out, scales, exact=mode == "nearest-exact")

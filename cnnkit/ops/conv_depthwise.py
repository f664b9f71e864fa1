"""Depthwise convolution: conv2d where every group sees one input channel (groups = in_channels), as compiled loops.

With M = out_channels / groups filters per input channel, output channel f reads only input channel f // M:

    y[n, f, i, j]  = Σ_k Σ_l W[f, 0, k, l] · x[n, f // M, i·sH + k·dH − top, j·sW + l·dW − left]
    dx[n, g, r, q] = Σ over (m, k, l, i, j) reading (r, q) of W[g·M + m, 0, k, l] · dy[n, g·M + m, i, j]
    dW[f, 0, k, l] = Σ_n Σ_i Σ_j dy[n, f, i, j] · x[n, f // M, i·sH + k·dH − top, j·sW + l·dW − left]

(x read as zero in the padding). im2col would copy every pixel kH·kW times only to feed N·C matrix
products of one row each, which BLAS cannot make fast (measured 10× slower than PyTorch); these loops
read each plane once while it sits in cache. conv2d routes its depthwise case here (`is_depthwise`);
the bias and the argument checks stay in conv2d.
"""

from __future__ import annotations

import numpy as np

from cnnkit.ops.compiled import compiled, prange
from cnnkit.ops.im2col import Window


def is_depthwise(in_channels: int, groups: int) -> bool:
    """One input channel per group, more than one group: the loops below beat im2col plus tiny products."""
    return groups > 1 and in_channels == groups


def _args(window: Window) -> tuple[int, ...]:
    (sh, sw), (dh, dw) = window.stride, window.dilation
    return sh, sw, dh, dw, window.padding[0], window.padding[2]


@compiled
def _forward(x, w, y, sh, sw, dh, dw, top, left):  # noqa: ANN001, ANN202 - a compiled loop nest
    n, c, h, wid = x.shape
    f, kh, kw = w.shape[0], w.shape[2], w.shape[3]
    oh, ow = y.shape[2], y.shape[3]
    per_group = f // c
    for plane in prange(n * f):
        b, fo = plane // f, plane % f
        src, dst = x[b, fo // per_group], y[b, fo]
        dst[:] = 0
        for k in range(kh):
            for l in range(kw):  # noqa: E741 - l is the kernel column, as in the formulas
                weight = w[fo, 0, k, l]
                offset = l * dw - left
                j_lo = max(0, -(offset // sw))  # outputs [j_lo, j_hi) read inside the image along W
                j_hi = max(j_lo, min(ow, (wid - 1 - offset) // sw + 1))
                for i in range(oh):
                    r = i * sh + k * dh - top
                    if 0 <= r < h:
                        for j in range(j_lo, j_hi):
                            dst[i, j] += weight * src[r, j * sw + offset]


@compiled
def _input_grad(dy, w, dx, sh, sw, dh, dw, top, left):  # noqa: ANN001, ANN202 - a compiled loop nest
    n, c, h, wid = dx.shape
    f, kh, kw = w.shape[0], w.shape[2], w.shape[3]
    oh, ow = dy.shape[2], dy.shape[3]
    per_group = f // c
    for plane in prange(n * c):  # a thread owns a whole input plane: no two threads add into one pixel
        b, ch = plane // c, plane % c
        dst = dx[b, ch]
        dst[:] = 0
        for fo in range(ch * per_group, (ch + 1) * per_group):
            src = dy[b, fo]
            for k in range(kh):
                for l in range(kw):  # noqa: E741
                    weight = w[fo, 0, k, l]
                    offset = l * dw - left
                    j_lo = max(0, -(offset // sw))
                    j_hi = max(j_lo, min(ow, (wid - 1 - offset) // sw + 1))
                    for i in range(oh):
                        r = i * sh + k * dh - top
                        if 0 <= r < h:
                            for j in range(j_lo, j_hi):
                                dst[r, j * sw + offset] += weight * src[i, j]


@compiled
def _weight_grad(dy, x, dw_out, sh, sw, dh, dw, top, left):  # noqa: ANN001, ANN202 - a compiled loop nest
    n, c, h, wid = x.shape
    f, kh, kw = dw_out.shape[0], dw_out.shape[2], dw_out.shape[3]
    oh, ow = dy.shape[2], dy.shape[3]
    per_group = f // c
    for fo in prange(f):  # a thread owns one filter's kH·kW sums
        for k in range(kh):
            for l in range(kw):  # noqa: E741
                offset = l * dw - left
                j_lo = max(0, -(offset // sw))
                j_hi = max(j_lo, min(ow, (wid - 1 - offset) // sw + 1))
                total = 0.0
                for b in range(n):
                    src, grad = x[b, fo // per_group], dy[b, fo]
                    for i in range(oh):
                        r = i * sh + k * dh - top
                        if 0 <= r < h:
                            for j in range(j_lo, j_hi):
                                total += grad[i, j] * src[r, j * sw + offset]
                dw_out[fo, 0, k, l] = total


def depthwise_forward(x: np.ndarray, w: np.ndarray, window: Window, out_hw: tuple[int, int]) -> np.ndarray:
    """y (N, F, OH, OW) of a depthwise conv2d without bias; x is (N, C, H, W), w is (F, 1, kH, kW) with F = M·C."""
    y = np.empty((x.shape[0], w.shape[0]) + tuple(out_hw), dtype=x.dtype)
    if y.size:
        _forward(np.ascontiguousarray(x), np.ascontiguousarray(w), y, *_args(window))
    return y


def depthwise_input_grad(dy: np.ndarray, w: np.ndarray, window: Window, x_shape: tuple[int, ...]) -> np.ndarray:
    """dL/dx (N, C, H, W) from dL/dy (N, F, OH, OW)."""
    dx = np.empty(x_shape, dtype=dy.dtype)
    if dx.size:
        _input_grad(np.ascontiguousarray(dy), np.ascontiguousarray(w), dx, *_args(window))
    return dx


def depthwise_weight_grad(dy: np.ndarray, x: np.ndarray, window: Window, w_shape: tuple[int, ...]) -> np.ndarray:
    """dL/dW (F, 1, kH, kW) from dL/dy and the input."""
    dw = np.zeros(w_shape, dtype=dy.dtype)
    if dy.size:
        _weight_grad(np.ascontiguousarray(dy), np.ascontiguousarray(x), dw, *_args(window))
    return dw

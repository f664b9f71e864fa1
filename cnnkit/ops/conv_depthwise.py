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

from cnnkit.ops import threads
from cnnkit.ops.compiled import compiled, kernel_helper, prange
from cnnkit.ops.im2col import Window


def is_depthwise(in_channels: int, groups: int) -> bool:
    """One input channel per group, more than one group: the loops below beat im2col plus tiny products."""
    return groups > 1 and in_channels == groups


def _args(window: Window) -> tuple[int, ...]:
    (sh, sw), (dh, dw) = window.stride, window.dilation
    return sh, sw, dh, dw, window.padding[0], window.padding[2]


# ----------------------------------------------------------------- the plane layout the three loops share
# A padded input plane is split into its sH·sW stride phases, phase (a, b) holding the pixels at
# (a + sH·r, b + sW·q), each phase stored row after row with wq = ⌈wp / sW⌉ values per row. Tap (k, l) then reads,
# for output (i, j), phase ((k·dH) mod sH, (l·dW) mod sW) at (i + ⌊k·dH/sH⌋, j + ⌊l·dW/sW⌋): with output positions
# laid out as p = i·wq + j, one tap is ONE long loop p ↦ phase[p + offset] over span = (OH − 1)·wq + OW values
# (the gap positions j ≥ OW are computed and thrown away). Each tap's loop reads (and writes) through a slice
# `buf[offset : offset + span]` rather than `buf[p + offset]`: LLVM then vectorises it, which it did not for the
# indexed form nor for the 16-long rows of a direct loop nest (64 channels of 16×16, batch 128, one thread, CPU
# time: forward 25 → 6 ms, dx 24 → 6 ms, dW 30–45 → 7 ms). For stride 1 the one phase is simply the zero-padded
# plane.


@kernel_helper
def _layout(oh, ow, kh, kw, sh, sw, dh, dw):  # noqa: ANN001, ANN202
    """(hq, wq, span): the phases' height and row length, and the flat output positions a tap covers."""
    hp, wp = (oh - 1) * sh + (kh - 1) * dh + 1, (ow - 1) * sw + (kw - 1) * dw + 1  # the padded plane read
    hq, wq = (hp + sh - 1) // sh, (wp + sw - 1) // sw
    return hq, wq, (oh - 1) * wq + ow


@kernel_helper
def _tap_offset(k, l, hq, wq, sh, sw, dh, dw):  # noqa: ANN001, ANN202, E741
    """Where tap (k, l) starts reading in the phase buffer."""
    return (((k * dh) % sh) * sw + (l * dw) % sw) * hq * wq + ((k * dh) // sh) * wq + (l * dw) // sw


@kernel_helper
def _phase_index(h, wid, hq, wq, sh, sw, top, left):  # noqa: ANN001, ANN202
    """Where input pixel (r, q) sits in the phase buffer: rows[r] + cols[q], or nowhere when either is −1 (the
    output never reads it). Computed once per call: integer divisions per pixel cost more than the taps."""
    rows, cols = np.full(h, -1, np.int64), np.full(wid, -1, np.int64)
    for r in range(h):
        if r + top < hq * sh:
            rows[r] = ((r + top) % sh) * sw * hq * wq + ((r + top) // sh) * wq
    for q in range(wid):
        if q + left < wq * sw:
            cols[q] = ((q + left) % sw) * hq * wq + (q + left) // sw
    return rows, cols


@kernel_helper
def _split_phases(src, buf, rows, cols, run):  # noqa: ANN001, ANN202
    """buf ← the plane src in phase layout (`run`: `_contiguous_run(cols)`, found once per call). Every plane writes
    the same positions, so a buffer zeroed once holds the zero padding for all the planes written into it."""
    for r in range(src.shape[0]):
        if rows[r] < 0:
            continue
        if run >= 0:  # stride 1 along W: a row is one slice copy
            buf[rows[r] + cols[0] : rows[r] + cols[0] + run] = src[r, :run]
        else:
            for q in range(src.shape[1]):
                if cols[q] >= 0:
                    buf[rows[r] + cols[q]] = src[r, q]


@kernel_helper
def _contiguous_run(cols):  # noqa: ANN001, ANN202
    """k when cols[:k] are consecutive and the rest −1 (stride 1 along W), else −1."""
    run = 0
    while run < len(cols) and cols[run] >= 0:
        if cols[run] != cols[0] + run:
            return -1
        run += 1
    for q in range(run, len(cols)):
        if cols[q] >= 0:
            return -1
    return run


@compiled
def _forward(x, w, y, sh, sw, dh, dw, top, left, chunks):  # noqa: ANN001, ANN202 - a compiled loop nest
    n, c = x.shape[0], x.shape[1]
    f, kh, kw = w.shape[0], w.shape[2], w.shape[3]
    oh, ow = y.shape[2], y.shape[3]
    per_group = f // c
    hq, wq, span = _layout(oh, ow, kh, kw, sh, sw, dh, dw)
    rows, cols = _phase_index(x.shape[2], x.shape[3], hq, wq, sh, sw, top, left)
    run = _contiguous_run(cols)
    offsets = np.empty(kh * kw, np.int64)
    for t in range(kh * kw):
        offsets[t] = _tap_offset(t // kw, t % kw, hq, wq, sh, sw, dh, dw)
    for chunk in prange(chunks):  # a few runs of planes per thread: the buffers are set up once per run
        buf = np.zeros(sh * sw * hq * wq, x.dtype)
        acc = np.empty(span, x.dtype)
        for plane in range(chunk * n * f // chunks, (chunk + 1) * n * f // chunks):
            b, fo = plane // f, plane % f
            _split_phases(x[b, fo // per_group], buf, rows, cols, run)
            if kh == 3 and kw == 3:
                _taps_3x3(buf, w[fo, 0], acc, offsets)
            else:
                acc[:] = 0
                for t in range(kh * kw):
                    weight, source = w[fo, 0, t // kw, t % kw], buf[offsets[t] : offsets[t] + span]
                    for p in range(span):
                        acc[p] += weight * source[p]
            dst = y[b, fo]
            for i in range(oh):
                dst[i, :] = acc[i * wq : i * wq + ow]


@kernel_helper
def _taps_3x3(buf, w, acc, o):  # noqa: ANN001, ANN202
    """acc ← the nine taps of a 3×3 kernel w summed in ONE pass over the positions, tap t reading buf from offset
    o[t]: the sum stays in registers, where tap after tap re-reads and re-writes acc. With the buffer zeroed once
    per run of planes, the forward of 64 channels of 16×16, batch 128, took 4.0 → 2.4 ms of one thread's CPU."""
    span = acc.shape[0]
    s0, s1, s2 = buf[o[0] : o[0] + span], buf[o[1] : o[1] + span], buf[o[2] : o[2] + span]
    s3, s4, s5 = buf[o[3] : o[3] + span], buf[o[4] : o[4] + span], buf[o[5] : o[5] + span]
    s6, s7, s8 = buf[o[6] : o[6] + span], buf[o[7] : o[7] + span], buf[o[8] : o[8] + span]
    w0, w1, w2, w3, w4, w5, w6, w7, w8 = w[0, 0], w[0, 1], w[0, 2], w[1, 0], w[1, 1], w[1, 2], w[2, 0], w[2, 1], w[2, 2]
    for p in range(span):  # the weights held in locals: acc may alias w as far as the compiler knows
        acc[p] = (w0 * s0[p] + w1 * s1[p] + w2 * s2[p] + w3 * s3[p] + w4 * s4[p]
                  + w5 * s5[p] + w6 * s6[p] + w7 * s7[p] + w8 * s8[p])


@compiled
def _input_grad(dy, w, dx, sh, sw, dh, dw, top, left):  # noqa: ANN001, ANN202 - a compiled loop nest
    n, c, h, wid = dx.shape
    f, kh, kw = w.shape[0], w.shape[2], w.shape[3]
    oh, ow = dy.shape[2], dy.shape[3]
    per_group = f // c
    hq, wq, span = _layout(oh, ow, kh, kw, sh, sw, dh, dw)
    rows, cols = _phase_index(h, wid, hq, wq, sh, sw, top, left)
    run = _contiguous_run(cols)
    for plane in prange(n * c):  # a thread owns a whole input plane: no two threads add into one pixel
        b, ch = plane // c, plane % c
        grad = np.zeros(sh * sw * hq * wq, dy.dtype)  # dL/d(padded plane), in phase layout
        ext = np.zeros(span, dy.dtype)  # dy with rows wq long (the gap positions stay zero)
        for fo in range(ch * per_group, (ch + 1) * per_group):
            src = dy[b, fo]
            for i in range(oh):
                ext[i * wq : i * wq + ow] = src[i, :]
            for k in range(kh):
                for l in range(kw):  # noqa: E741
                    weight, offset = w[fo, 0, k, l], _tap_offset(k, l, hq, wq, sh, sw, dh, dw)
                    target = grad[offset : offset + span]
                    for p in range(span):
                        target[p] += weight * ext[p]
        dst = dx[b, ch]
        dst[:] = 0.0
        for r in range(h):
            if rows[r] < 0:
                continue
            if run >= 0:  # stride 1 along W: a row is one slice copy
                dst[r, :run] = grad[rows[r] + cols[0] : rows[r] + cols[0] + run]
            else:
                for q in range(wid):
                    if cols[q] >= 0:
                        dst[r, q] = grad[rows[r] + cols[q]]


@compiled
def _weight_grad(dy, x, dw_out, sh, sw, dh, dw, top, left):  # noqa: ANN001, ANN202 - a compiled loop nest
    n, c = x.shape[0], x.shape[1]
    f, kh, kw = dw_out.shape[0], dw_out.shape[2], dw_out.shape[3]
    oh, ow = dy.shape[2], dy.shape[3]
    per_group = f // c
    hq, wq, span = _layout(oh, ow, kh, kw, sh, sw, dh, dw)
    rows, cols = _phase_index(x.shape[2], x.shape[3], hq, wq, sh, sw, top, left)
    run = _contiguous_run(cols)
    for fo in prange(f):  # a thread owns one filter's kH·kW sums
        acc = np.zeros((kh * kw, span), dy.dtype)  # per-position products, summed over the batch at the end
        buf = np.zeros(sh * sw * hq * wq, x.dtype)
        ext = np.zeros(span, dy.dtype)
        for b in range(n):
            _split_phases(x[b, fo // per_group], buf, rows, cols, run)
            src = dy[b, fo]
            for i in range(oh):
                ext[i * wq : i * wq + ow] = src[i, :]
            for k in range(kh):
                for l in range(kw):  # noqa: E741
                    row, offset = acc[k * kw + l], _tap_offset(k, l, hq, wq, sh, sw, dh, dw)
                    source = buf[offset : offset + span]
                    for p in range(span):
                        row[p] += ext[p] * source[p]
        for t in range(kh * kw):
            dw_out[fo, 0, t // kw, t % kw] = acc[t].sum()


def depthwise_forward(x: np.ndarray, w: np.ndarray, window: Window, out_hw: tuple[int, int]) -> np.ndarray:
    """y (N, F, OH, OW) of a depthwise conv2d without bias; x is (N, C, H, W), w is (F, 1, kH, kW) with F = M·C."""
    y = np.empty((x.shape[0], w.shape[0]) + tuple(out_hw), dtype=x.dtype)
    if y.size:
        chunks = min(y.shape[0] * y.shape[1], 4 * threads.get_num_threads())  # 4 per thread: balance when one waits
        _forward(np.ascontiguousarray(x), np.ascontiguousarray(w), y, *_args(window), chunks)
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

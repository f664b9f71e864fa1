"""The gathers and scatters that turn a 2-D convolution into matrix products, and the scratch pool they draw from.

A `Window` is plain data saying where a kH×kW kernel reads in an H×W image (stride, dilation and
per-side zero padding). For output pixel (i, j) and kernel tap (k, l) the kernel reads input pixel

    (i·sH + k·dH − pad_top,  j·sW + l·dW − pad_left),

and reads zero where that falls in the padding. Copying these reads into columns, one per output pixel,
makes a convolution one product `W.reshape(F, −1) @ cols` (im2col); the adjoint scatter adds every
column back onto the pixels it was read from (the input gradient, and a transposed convolution's forward).

conv2d works on chunks of a batch, the chunk's images side by side in the columns:
- `im2col_folded` gathers (C·kH·kW, n·OH·OW) in ONE copy from a strided 6-D view (n, C, kH, kW, OH, OW) of
  the zero-padded input: NumPy orders a single copy better than kH·kW slice copies (2.2× faster at 10×10
  outputs, 1.2× at 32×32). `col2im_folded_into` is its adjoint,
  a compiled loop over (image, channel) planes: each plane (a few KiB) stays in cache while all kH·kW taps
  add into it, where NumPy's kH·kW strided slice-adds stream the chunk through memory once per tap, in rows
  too short for its inner loop (2–3× slower). Only the outputs whose read lands inside the image are
  visited: the padding is never built.
- for stride 1, `im2col_rows` copies whole padded rows instead (one run of OH·Wp values per tap and image,
  the Wp − OW extra outputs dropped by the caller; `rows_width` says when this pays), and
  `col2im_rows_into` adds such runs back.

The scatters run in the calling thread alone: conv2d already splits the batch over the cores
(`cnnkit.ops.threads.split_batch`). Large scratch arrays come from `scratch`, a pool that hands an array out
again once nothing refers to it: a fresh 150 MB buffer costs ~20 ms of page faults per use, a reused one nothing.
"""

from __future__ import annotations

import math
import sys
import threading
from dataclasses import dataclass

import numpy as np

from cnnkit.ops.compiled import compiled

Pair = tuple[int, int]


# ----------------------------------------------------------------- scratch pool
_POOL_MIN_BYTES = 1 << 20  # below this malloc recycles memory cheaply by itself
_POOL_MAX_BYTES = 1 << 30  # beyond this, arrays are allocated but not kept


def _free_refcount() -> int:
    """sys.getrefcount of an array held only by a pool list and a loop variable (calibrated, not assumed)."""
    for array in [np.empty(0)]:
        return sys.getrefcount(array)
    raise AssertionError("unreachable")


_FREE = _free_refcount()


class _Pool(threading.local):
    """Per-thread lists of pooled arrays by (shape, dtype)."""

    def __init__(self) -> None:
        self.arrays: dict[tuple, list[np.ndarray]] = {}
        self.nbytes = 0


_pool = _Pool()


def scratch(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """An uninitialised array of `shape`, reusing a pooled one that no tensor, view or closure holds any more.

    Every view of an array keeps its owner alive through `.base`, so an owner whose only references are the
    pool's own is free. Small arrays are not pooled.
    """
    dtype = np.dtype(dtype)
    nbytes = math.prod(shape) * dtype.itemsize  # math.prod: 0.15 µs, np.prod 5 µs (called per chunk)
    if nbytes < _POOL_MIN_BYTES:
        return np.empty(shape, dtype)
    arrays = _pool.arrays.setdefault((tuple(shape), dtype.str), [])
    for array in arrays:
        if sys.getrefcount(array) <= _FREE:
            return array
    array = np.empty(shape, dtype)
    if _pool.nbytes + nbytes > _POOL_MAX_BYTES:
        _evict_free()
    if _pool.nbytes + nbytes <= _POOL_MAX_BYTES:
        arrays.append(array)
        _pool.nbytes += nbytes
    return array


def _evict_free() -> None:
    """Forget every pooled array that is not in use (other shapes from earlier layers or batch sizes)."""
    for key, arrays in list(_pool.arrays.items()):
        busy = []
        for array in arrays:
            if sys.getrefcount(array) > _FREE:
                busy.append(array)
            else:
                _pool.nbytes -= array.nbytes
        _pool.arrays[key] = busy


def clear_scratch() -> None:
    """Drop every pooled array of this thread (memory returns once no tensor uses them)."""
    _pool.arrays.clear()
    _pool.nbytes = 0


# ----------------------------------------------------------------- geometry
@dataclass(frozen=True)
class Window:
    """A kernel's footprint: kernel size, stride, dilation and zero padding (top, bottom, left, right)."""

    kernel: Pair
    stride: Pair = (1, 1)
    dilation: Pair = (1, 1)
    padding: tuple[int, int, int, int] = (0, 0, 0, 0)

    @property
    def span(self) -> Pair:
        """Pixels covered by the dilated kernel: d·(k − 1) + 1 per axis."""
        return tuple(d * (k - 1) + 1 for k, d in zip(self.kernel, self.dilation, strict=True))

    def padded_size(self, in_hw: Pair) -> Pair:
        top, bottom, left, right = self.padding
        return in_hw[0] + top + bottom, in_hw[1] + left + right

    def output_size(self, in_hw: Pair) -> Pair:
        """(OH, OW) = ⌊(H + pads − d·(k − 1) − 1) / s⌋ + 1 per axis (≤ 0 when the kernel does not fit)."""
        padded, span = self.padded_size(in_hw), self.span
        return tuple((p - e) // s + 1 for p, e, s in zip(padded, span, self.stride, strict=True))

    def is_pointwise(self) -> bool:
        """A 1×1 kernel, stride 1, no padding: the image itself, reshaped, is already the cols matrix."""
        return self.kernel == (1, 1) and self.stride == (1, 1) and self.padding == (0, 0, 0, 0)


# ----------------------------------------------------------------- gathers
def _pad(x: np.ndarray, padding: tuple[int, int, int, int], extra_rows: int = 0) -> np.ndarray:
    """x with zero borders (a pooled scratch array), or x itself when there is no padding; `extra_rows` more zero
    rows at the bottom."""
    if not any(padding) and not extra_rows:
        return x
    top, bottom, left, right = padding
    bottom += extra_rows
    n, c, h, w = x.shape
    xp = scratch((n, c, h + top + bottom, w + left + right), x.dtype)
    xp[:, :, :top] = 0  # zero only the borders: the scratch array may hold an earlier call's values
    xp[:, :, top + h :] = 0
    xp[:, :, top : top + h, :left] = 0
    xp[:, :, top : top + h, left + w :] = 0
    xp[:, :, top : top + h, left : left + w] = x
    return xp


def window_view(xp: np.ndarray, window: Window, out_hw: Pair) -> np.ndarray:
    """Read-only view (N, C, kH, kW, OH, OW) of a padded image.

    view[n, c, k, l, i, j] = xp[n, c, i·s + k·d, j·s + l·d]; the caller guarantees the window fits (no bounds check).
    """
    (sh, sw), (dh, dw) = window.stride, window.dilation
    sn, sc, sy, sx = xp.strides
    shape = xp.shape[:2] + window.kernel + tuple(out_hw)
    strides = (sn, sc, dh * sy, dw * sx, sh * sy, sw * sx)
    if not xp.flags.c_contiguous:
        return np.lib.stride_tricks.as_strided(xp, shape, strides, writeable=False)
    view = np.ndarray(shape, xp.dtype, xp, 0, strides)  # as as_strided, in 1 µs instead of 5 (called per chunk)
    view.flags.writeable = False
    return view


def im2col_folded(x: np.ndarray, window: Window, out_hw: Pair) -> np.ndarray:
    """Gather a chunk of images (n, C, H, W) into columns (C·kH·kW, n·OH·OW): the images side by side.

    cols[(c, k, l), (b, i, j)] = x_padded[b, c, i·s + k·d, j·s + l·d]. With the chunk's images folded into the
    columns, a convolution of the whole chunk is one matrix product W · cols of n·OH·OW columns instead of n
    products of OH·OW: per-call costs in BLAS are paid once per chunk, and the product's long side is long
    enough for its kernels. A pooled scratch array: do not keep it.
    """
    n, c = x.shape[:2]
    kh, kw = window.kernel
    cols = scratch((c, kh, kw, n) + tuple(out_hw), x.dtype)
    if _covers_the_image(window, x.shape[2:]):  # one output per image: the columns are the images, transposed
        np.copyto(cols.reshape(-1, n), x.reshape(n, -1).T)
    else:
        view = window_view(_pad(x, window.padding), window, out_hw)  # (n, c, kH, kW, OH, OW)
        np.copyto(cols, view.transpose(1, 2, 3, 0, 4, 5))
    return cols.reshape(c * kh * kw, n * out_hw[0] * out_hw[1])


def _covers_the_image(window: Window, in_hw: Pair) -> bool:
    """A kernel as large as the unpadded image (LeNet-5's C5): its one window reads every pixel once, in order."""
    return window.kernel == tuple(in_hw) and window.dilation == (1, 1) and not any(window.padding)


def _tiles_the_image(window: Window, in_hw: Pair) -> bool:
    """Windows side by side without gaps or overlap that cover the image exactly (a 2×2 stride-2 transposed
    convolution's output): x[c, i·kH + k, j·kW + l] is column (c, k, l) of output (i, j), for every pixel once."""
    return (window.stride == window.kernel and window.dilation == (1, 1) and not any(window.padding)
            and in_hw[0] % window.kernel[0] == 0 and in_hw[1] % window.kernel[1] == 0)


def rows_width(window: Window, in_hw: Pair) -> int | None:
    """The padded width Wp when `im2col_rows` pays for this stride-1 window and input, else None.

    Measured on one core, batch 128, 3×3 layers (gather, product and transposition of a forward): 32→32 at 16×16
    20.3 → 12.8 ms, 64→64 at 8×8 14.2 → 11.0 ms, 64→64 at 14×14 33.6 → 29.1 ms, 16→16 at 32×32 19.9 → 18.5 ms;
    at 7×7 outputs no gain (128→128: 31.9 → 32.5 ms), the Wp − OW wasted columns being 29 % more products.
    """
    if window.stride != (1, 1) or window.is_pointwise():
        return None
    out_w = window.output_size(in_hw)[1]
    return in_hw[1] + window.padding[2] + window.padding[3] if out_w >= ROWS_MIN_WIDTH else None


ROWS_MIN_WIDTH = 8  # output widths from which whole-row gathers pay (see `rows_width`)


def im2col_rows(x: np.ndarray, window: Window, out_h: int) -> np.ndarray:
    """A stride-1 gather in whole padded rows: cols (C·kH·kW, n·OH·Wp), the images side by side.

    cols[(c, k, l), (b, i, j)] = x_padded[b, c, i + k·dH, j + l·dW] for j < Wp, the padded width: each (c, k, l, b)
    is then ONE contiguous run of OH·Wp values of the padded image, starting at (k·dH, l·dW), where `im2col_folded`
    copies OH runs of OW. Outputs j ≥ OW are not part of the convolution (their reads wrap into the next row, and
    past the last one into zero rows added for it): the caller drops them. Only for sums where they are dropped
    (a forward product) or meet zeros (dW against a dY that is zero past OW, for a finite x: 0 · inf is NaN).
    """
    n, c = x.shape[:2]
    (kh, kw), (dh, dw) = window.kernel, window.dilation
    wp = x.shape[3] + window.padding[2] + window.padding[3]
    xp = _pad(x, window.padding, extra_rows=-(-(kw - 1) * dw // wp))
    sn, sc, sy, sx = xp.strides
    runs = np.ndarray((c, kh, kw, n, out_h * wp), xp.dtype, xp, 0, (sc, dh * sy, dw * sx, sn, sx))
    cols = scratch(runs.shape, x.dtype)
    np.copyto(cols, runs)
    return cols.reshape(c * kh * kw, n * out_h * wp)


# ----------------------------------------------------------------- scatters
@compiled(parallel=False)
def _scatter(cols, image, sh, sw, dh, dw, top, left):  # noqa: ANN001, ANN202 - a compiled loop nest
    """image[n, c, i·sh + k·dh − top, j·sw + l·dw − left] += cols[n, c, k, l, i, j] (reads of the padding dropped),
    plane by plane: each (image, channel) plane stays in cache while all kH·kW taps add into it."""
    n, c, h, w = image.shape
    kh, kw, oh, ow = cols.shape[2], cols.shape[3], cols.shape[4], cols.shape[5]
    for b in range(n):
        for ch in range(c):
            dst, src = image[b, ch], cols[b, ch]
            dst[:] = 0
            for k in range(kh):
                for l in range(kw):  # noqa: E741 - l is the kernel column, as in the formulas
                    offset = l * dw - left
                    # outputs [j_lo, j_hi) read inside the image: 0 ≤ j·sw + offset < w
                    j_lo = max(0, -(offset // sw))  # ⌈−offset / sw⌉
                    j_hi = max(j_lo, min(ow, (w - 1 - offset) // sw + 1))
                    if j_hi == j_lo:
                        continue
                    for i in range(oh):
                        r = i * sh + k * dh - top
                        if 0 <= r < h:
                            # through slices, not dst[r, j·sw + offset] += …: LLVM then vectorises the loop
                            target = dst[r, j_lo * sw + offset : (j_hi - 1) * sw + offset + 1 : sw]
                            source = src[k, l, i, j_lo:j_hi]
                            for j in range(j_hi - j_lo):
                                target[j] += source[j]


def col2im_folded_into(cols: np.ndarray, window: Window, image: np.ndarray, compiled: bool = True) -> None:
    """The adjoint of `im2col_folded`: columns (C·kH·kW, n·OH·OW) added back onto `image` (n, C, H, W), in
    the calling thread alone (every pixel of `image` is written). `compiled=False` copies windows that tile the
    image in NumPy, for calls too small to be worth loading the compiler (`numpy_suffices`)."""
    n, c, h, w = image.shape
    out_hw = window.output_size((h, w))
    if _covers_the_image(window, (h, w)):
        image[...] = cols.reshape(-1, n).T.reshape(image.shape)
        return
    cols6 = cols.reshape((c,) + window.kernel + (n,) + out_hw)
    if not compiled and _tiles_the_image(window, (h, w)) and image.flags.c_contiguous:
        # each pixel in one window: a transposing copy in NumPy, no sums (the compiled scatter is faster on a
        # training batch, 4.7 against 7.8 ms for a 32→16 2×2 stride-2 layer at 32×32, batch 32, one thread)
        image.reshape(n, c, out_hw[0], window.kernel[0], out_hw[1], window.kernel[1])[...] = \
            cols6.transpose(3, 0, 4, 1, 5, 2)
    elif window.is_pointwise():
        image[...] = cols6[:, 0, 0].transpose(1, 0, 2, 3)
    elif image.size:
        (sh, sw), (dh, dw) = window.stride, window.dilation
        _scatter(cols6.transpose(3, 0, 1, 2, 4, 5), image, sh, sw, dh, dw, window.padding[0], window.padding[2])


@compiled(parallel=False)
def _scatter_rows(cols, padded, dh, dw):  # noqa: ANN001, ANN202 - a compiled loop nest
    """padded[b, c] (flat) += cols[c, k, l, b] at offset k·dH·Wp + l·dW, one run of OH·Wp per tap and image."""
    c, kh, kw, n, run = cols.shape
    wp = padded.shape[3]
    for b in range(n):
        for ch in range(c):
            plane = padded[b, ch].reshape(-1)
            plane[:] = 0
            for k in range(kh):
                for l in range(kw):  # noqa: E741 - l is the kernel column, as in the formulas
                    dst = plane[k * dh * wp + l * dw : k * dh * wp + l * dw + run]
                    src = cols[ch, k, l, b]
                    for j in range(run):
                        dst[j] += src[j]


def col2im_rows_into(cols: np.ndarray, window: Window, image: np.ndarray) -> None:
    """The adjoint of `im2col_rows` for columns whose dropped outputs (j ≥ OW) are zero: (C·kH·kW, n·OH·Wp) added back
    onto `image` (n, C, H, W), in the calling thread alone. Each (c, k, l, b) is one run of OH·Wp values added into
    the padded image at (k·dH, l·dW), where `col2im_folded_into` adds OH runs of OW; the zero columns add nothing
    where their runs wrap into the next row."""
    n, c, h, w = image.shape
    (kh, kw), (dh, dw) = window.kernel, window.dilation
    top, bottom, left, right = window.padding
    wp = w + left + right
    out_h = window.output_size((h, w))[0]
    padded = scratch((n, c, h + top + bottom + -(-(kw - 1) * dw // wp), wp), image.dtype)
    _scatter_rows(cols.reshape(c, kh, kw, n, out_h * wp), padded, dh, dw)
    image[...] = padded[:, :, top : top + h, left : left + w]


# ----------------------------------------------------------------- the product's columns back to NCHW
@compiled(parallel=False)
def _columns_to_images(y, bias, out):  # noqa: ANN001, ANN202 - a compiled loop nest
    """out[b, f, i, j] = y[f, b, i, j] + bias[f] for j < OW (y's rows may be longer: whole-row columns)."""
    n, f, oh, ow = out.shape
    for b in range(n):
        for fo in range(f):
            shift = bias[fo]
            for i in range(oh):
                src, dst = y[fo, b, i], out[b, fo, i]
                for j in range(ow):
                    dst[j] = src[j] + shift


def columns_to_images(y: np.ndarray, out: np.ndarray, bias: np.ndarray | None = None,
                      compiled_loop: bool = True) -> None:
    """A product's output columns (F, n·OH·W') — images side by side, rows W' ≥ OW long — into `out` (n, F, OH, OW),
    plus `bias` (F,), in the calling thread. A compiled loop: NumPy's transposing copy of rows of 8–32 values ran at
    4 ns a value (LeNet-5's 6→16 layer: 38 µs a chunk of 16 images against 11 µs here). `compiled_loop=False`
    takes NumPy's copy, for calls too small to be worth loading the compiler (`numpy_suffices`)."""
    n, f, oh, ow = out.shape
    if not out.size:
        return
    rows = y.reshape(f, n, oh, -1)
    if not compiled_loop:
        source = rows[..., :ow].transpose(1, 0, 2, 3)
        if bias is None:
            np.copyto(out, source)
        else:
            np.add(source, bias.reshape(f, 1, 1), out=out)
        return
    _columns_to_images(rows, np.zeros(f, out.dtype) if bias is None else bias.astype(out.dtype, copy=False), out)

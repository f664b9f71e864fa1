"""Convolution layers' maths: `conv2d` and `conv_transpose2d`, each by im2col, BLAS products and col2im.

Like every deep-learning library, `conv2d` computes a cross-correlation (the kernel is not flipped):

    y[n, f, i, j] = b[f] + Σ_c Σ_k Σ_l W[f, c, k, l] · x[n, c, i·s + k·d, j·s + l·d]      (x zero-padded)

Groups split the channels into G independent convolutions. conv2d runs per chunk of the batch (`_split_forward`,
`_split_backward`, on the threads of `cnnkit.ops.threads`), everything held in a grouped layout:
    cols (G, C/G·kH·kW, n·L)  — the chunk's columns, its n images side by side, L = OH·OW output pixels
                                (or OH·Wp: whole padded rows, for stride 1)
    W    (G, F/G, C/G·kH·kW)  — the weight, flattened per output channel
so a chunk's forward is one product W · cols → (G, F/G, n·L), turned into NCHW by `columns_to_images`. Each
chunk's columns are gathered, multiplied and dropped while they sit in its core's cache: no batch-sized column
buffer is built, nor kept for the backward pass, which gathers the columns again. 3×3 stride-1 layers of enough
channels go to Winograd's F(2×2, 3×3) (`cnnkit.ops.winograd`), depthwise ones to compiled loops
(`cnnkit.ops.conv_depthwise`).

`conv_transpose2d` is the adjoint of `conv2d` with respect to its input: its forward is conv2d's
input gradient (Wᵀ·x, then col2im), its input gradient a conv2d forward (im2col, then W·cols) and its weight
gradient conv2d's with x and dY swapped, so it runs on the same chunked paths and products.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnkit.autograd import is_grad_enabled
from cnnkit.ops import winograd
from cnnkit.ops.compiled import numpy_suffices
from cnnkit.ops.conv_depthwise import depthwise_forward, depthwise_input_grad, depthwise_weight_grad, is_depthwise
from cnnkit.ops.im2col import (
    Pair,
    Window,
    col2im_folded_into,
    col2im_rows_into,
    columns_to_images,
    im2col_folded,
    im2col_rows,
    rows_width,
    scratch,
)
from cnnkit.ops.shape import reshape
from cnnkit.ops.threads import chunk_images, split_batch
from cnnkit.tensor import Tensor, as_tensor, record


# ----------------------------------------------------------------- argument checks
def _int_pair(op: str, name: str, value: Any, minimum: int) -> Pair:
    """An int or a 1- or 2-sequence of ints, each ≥ minimum, as a pair (PyTorch's `_pair`)."""
    items = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    ok = len(items) in (1, 2) and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in items)
    if not ok or any(v < minimum for v in items):
        kind = "non-negative" if minimum == 0 else "positive"
        raise ValueError(f"{op}: expected {name} to be a {kind} int or a pair of {kind} ints, got {value!r}")
    return (int(items[0]), int(items[-1]))


def _conv_padding(padding: Any, kernel: Pair, stride: Pair, dilation: Pair) -> tuple[int, int, int, int]:
    """conv2d's padding as (top, bottom, left, right): an int, a pair, 'valid' (none) or 'same'."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0, 0, 0)
        if padding != "same":
            raise ValueError(f"conv2d: expected padding 'same', 'valid', an int or a pair of ints, got {padding!r}")
        if stride != (1, 1):
            raise ValueError(f"conv2d: padding='same' needs stride 1, got stride {stride}")
        # total = d·(k − 1) per axis; an odd total puts the extra pixel at the bottom/right, as PyTorch does
        (th, tw) = (d * (k - 1) for k, d in zip(kernel, dilation, strict=True))
        return (th // 2, th - th // 2, tw // 2, tw - tw // 2)
    ph, pw = _int_pair("conv2d", "padding", padding, 0)
    return (ph, ph, pw, pw)


def _check_float(op: str, name: str, t: Tensor, dtype: np.dtype) -> None:
    if t.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating-point {name}, got dtype {t.dtype}")
    if t.dtype != dtype:
        raise TypeError(f"{op}: expected {name} of dtype {dtype} to match the input, got {t.dtype}")


def _check_operands(op: str, x: Tensor, weight: Tensor, bias: Tensor | None, groups: Any, in_axis: int) -> int:
    """Shared checks of input, weight, bias and groups; returns groups. `in_axis` is the weight axis facing x."""
    if not isinstance(groups, (int, np.integer)) or isinstance(groups, bool) or groups < 1:
        raise ValueError(f"{op}: expected groups to be a positive int, got {groups!r}")
    groups = int(groups)
    if weight.ndim != 4:
        layout = "(out_channels, in_channels/groups" if in_axis == 1 else "(in_channels, out_channels/groups"
        raise ValueError(f"{op}: expected a 4-D weight {layout}, kH, kW), got shape {weight.shape}")
    if x.ndim != 4:
        raise ValueError(f"{op}: expected a 4-D input (N, C, H, W) (or 3-D (C, H, W)), got shape {x.shape}")
    _check_float(op, "input", x, x.dtype)
    _check_float(op, "weight", weight, x.dtype)
    channels = x.shape[1]
    if channels % groups:
        raise ValueError(f"{op}: expected input channels divisible by groups={groups}, got input of shape {x.shape}")
    if weight.shape[0] % groups:
        raise ValueError(f"{op}: expected weight's dim 0 divisible by groups={groups}, got weight {weight.shape}")
    expected = weight.shape[1] * groups if in_axis == 1 else weight.shape[0]
    if channels != expected:
        with_groups = f" with groups={groups}" if groups > 1 else ""
        raise ValueError(f"{op}: expected input of shape (N, {expected}, H, W) to match weight {weight.shape}"
                         f"{with_groups}, got {x.shape}")
    if bias is not None:
        out_channels = weight.shape[0] if in_axis == 1 else weight.shape[1] * groups
        _check_float(op, "bias", bias, x.dtype)
        if bias.shape != (out_channels,):
            raise ValueError(f"{op}: expected bias of shape ({out_channels},) to match weight {weight.shape}, "
                             f"got {bias.shape}")
    return groups


def _unbatched(fn: Any, x: Tensor, *args: Any) -> Tensor:
    """PyTorch accepts a single (C, H, W) image: run it as a batch of one and drop the batch axis."""
    out = fn(reshape(x, (1,) + x.shape), *args)
    return reshape(out, out.shape[1:])


# ----------------------------------------------------------------- the three products, in grouped layout
def _forward_product(w3: np.ndarray, cols4: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Y = W · cols per group: (G, A, B) @ (N, G, B, L) → (N, G, A, L), one broadcast BLAS call (into `out`)."""
    return np.matmul(w3, cols4, out=out)


def _adjoint_product(w3: np.ndarray, y4: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """cols = Wᵀ · Y per group: (G, A, B)ᵀ @ (N, G, A, L) → (N, G, B, L), or (G, A, n·L) → (G, B, n·L) folded;
    the transpose is a BLAS flag, not a copy.

    Without `out`, the result is a pooled scratch array: it only lives until col2im has folded it into an image.
    """
    if out is None:
        out = scratch(y4.shape[:-2] + (w3.shape[2], y4.shape[-1]), y4.dtype)
    return np.matmul(w3.swapaxes(-1, -2), y4, out=out)


SMALL_OUTPUT = 16  # output pixels per image below which per-image products are too small for BLAS


def _weight_product(y4: np.ndarray, cols4: np.ndarray) -> np.ndarray:
    """dW = Σ_n Y_n · cols_nᵀ per group: (N, G, A, L) and (N, G, B, L) → (G, A, B).

    Folded (3-D) operands, (G, A, n·L) and (G, B, n·L), are already one product per group.

    Large outputs: one batched product over the images, then a sum. Tiny outputs (L ≤ 16, e.g. LeNet's
    5×5 → 1×1 conv): N products of rank L are pure overhead (measured 100× slower for L = 1), so the
    batch is folded into the inner dimension instead: (G, A, N·L) · (G, N·L, B), one product per group.
    """
    if y4.ndim == 3:
        return np.matmul(y4, cols4.swapaxes(-1, -2))
    n, g, a, pixels = y4.shape
    if pixels <= SMALL_OUTPUT:
        y_folded = y4.transpose(1, 2, 0, 3).reshape(g, a, n * pixels)
        cols_folded = cols4.transpose(1, 0, 3, 2).reshape(g, n * pixels, cols4.shape[2])
        return np.matmul(y_folded, cols_folded)
    return np.matmul(y4, cols4.swapaxes(-1, -2)).sum(axis=0)


# ----------------------------------------------------------------- conv2d over batch chunks
def _cols_bytes(c: int, window: Window, out_hw: Pair, dtype: np.dtype) -> int:
    return c * window.kernel[0] * window.kernel[1] * out_hw[0] * out_hw[1] * np.dtype(dtype).itemsize


def _gather(x: np.ndarray, window: Window, out_hw: Pair, width: int | None) -> np.ndarray:
    """A chunk's columns for a forward product: in whole padded rows when `width` is set, else `im2col_folded`."""
    return im2col_rows(x, window, out_hw[0]) if width else im2col_folded(x, window, out_hw)


def _split_forward(x: np.ndarray, w3: np.ndarray, b: np.ndarray | None, window: Window, out_hw: Pair,
                   compiled_layout: bool = True) -> np.ndarray:
    """y = W · im2col(x) (+ b), chunk by chunk: each chunk's columns are gathered (its images side by side),
    multiplied by one product and dropped while they are still in cache, instead of one (N, C·kH·kW, OH·OW)
    buffer written and re-read through memory. The product's (F, n·L) result is transposed into NCHW while
    it is in cache too, with the bias added on the way."""
    n, c = x.shape[:2]
    groups, per_group = w3.shape[:2]
    f = groups * per_group
    out = np.empty((n, f) + tuple(out_hw), x.dtype)
    width = rows_width(window, x.shape[2:])

    def work(lo: int, hi: int, _worker: int) -> None:
        cols = _gather(x[lo:hi], window, out_hw, width).reshape(groups, w3.shape[2], -1)
        y = _forward_product(w3, cols, scratch((groups, per_group, cols.shape[2]), x.dtype))
        columns_to_images(y, out[lo:hi], b, compiled_layout)

    split_batch(work, n, chunk_images(n, _cols_bytes(c, window, out_hw, x.dtype)), _flops(n, w3, out_hw))
    return out


def _finite(x: np.ndarray) -> bool:
    """Whether every value of x is finite: its sum is (an overflow to inf only says no, which is safe)."""
    with np.errstate(invalid="ignore", over="ignore"):
        return bool(np.isfinite(x.sum()))


def _flops(n: int, w3: np.ndarray, out_hw: Pair) -> float:
    """2·N·F·(C/G·kH·kW)·OH·OW: the multiply-adds of one product pass of a convolution, counted twice."""
    return 2.0 * n * w3.shape[0] * w3.shape[1] * w3.shape[2] * out_hw[0] * out_hw[1]


def _flipped(window: Window, w3: np.ndarray, kernel: Pair) -> tuple[Window, np.ndarray] | None:
    """For a stride-1 convolution, dX as a correlation: (the window over dY, the flipped weight (G, C/G, F/G·kH·kW)).

    With stride 1, x̄[c, r, s] = Σ_f Σ_k Σ_l W[f, c, k, l] · dY[f, r − k·d + top, s − l·d + left]: a forward
    convolution of dY, padded by d·(k − 1) − p on each side, with the kernel turned by 180° and its two channel
    axes swapped. That is a gather and one product whose inner dimension is F·kH·kW, where Wᵀ · dY has inner
    dimension F, writes a result kH·kW times larger than x̄ and needs a scatter-add (col2im) as costly as the
    product itself (measured on one core: 30 ms against 28 ms for a 64→64 layer at 14×14, batch 128).
    None when the stride is not 1 or a padding is larger than d·(k − 1) (the correlation would crop dY).
    """
    if window.stride != (1, 1) or window.is_pointwise():
        return None
    (kh, kw), (dh, dw) = kernel, window.dilation
    top, bottom, left, right = window.padding
    pads = (dh * (kh - 1) - top, dh * (kh - 1) - bottom, dw * (kw - 1) - left, dw * (kw - 1) - right)
    if min(pads) < 0:
        return None
    groups, per_group = w3.shape[:2]
    w6 = w3.reshape(groups, per_group, -1, kh, kw)[..., ::-1, ::-1]  # (G, F/G, C/G, kH, kW), turned by 180°
    flipped = np.ascontiguousarray(w6.transpose(0, 2, 1, 3, 4)).reshape(groups, w6.shape[2], per_group * kh * kw)
    return Window(kernel, (1, 1), window.dilation, pads), flipped


def _small_inference(inputs: tuple[Tensor, ...], outputs: int) -> bool:
    """A forward of `outputs` values that records no gradient and is small enough for NumPy alone (`numpy_suffices`),
    e.g. a one-image prediction: it then never loads the compiled kernels."""
    return numpy_suffices(outputs, is_grad_enabled() and any(t.requires_grad for t in inputs))


def _split_backward(x: np.ndarray, w3: np.ndarray, g: np.ndarray, window: Window, need_x: bool,
                    need_w: bool, compiled_scatter: bool = True) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(dX, dW) chunk by chunk, with the chunk's dY transposed once to (F, n·L), the folded layout of the forward:
    dW = Σ_chunks dY · im2col(x)ᵀ (columns gathered again, not kept from the forward; one product whose inner
    dimension is n·L); dX for stride 1 as a forward convolution of dY (`_flipped`), else col2im(Wᵀ · dY)
    scattered into the chunk's own images. Layers that Winograd takes (`winograd.eligible`) get dX and dW from
    it instead, each in a split of its own.

    Each chunk's dW is kept in its own slot and the slots are added in chunk order: which thread took which
    chunk varies from run to run, and float sums in another order differ in the last bits, which would make
    a seeded training run irreproducible. The slots are small: F·C/G·kH·kW values per chunk.
    `compiled_scatter=False` lets `col2im_folded_into` copy tiling windows in NumPy (a small transposed
    convolution's forward, which needs no gradient).
    """
    n, c = x.shape[:2]
    groups, per_group = w3.shape[:2]
    out_hw = g.shape[2:]
    pixels = out_hw[0] * out_hw[1]
    g3 = g.reshape(n, groups * per_group, pixels)
    gx = np.empty(x.shape, x.dtype) if need_x else None
    chunk = chunk_images(n, _cols_bytes(c, window, out_hw, x.dtype))
    parts: list[np.ndarray | None] = [None] * (-(-n // chunk))
    gw = None
    flops = _flops(n, w3, out_hw)
    if need_w and winograd.eligible(window, window.kernel, groups, c, g.shape[1], flops):
        gw = winograd.weight_grad_winograd(x, g, window.padding).reshape(w3.shape)
        need_w = False
    flipped = _flipped(window, w3, window.kernel) if need_x else None
    if flipped is not None and winograd.eligible(flipped[0], window.kernel, groups, g.shape[1], c, flops):
        w4 = flipped[1].reshape(c, g.shape[1], *window.kernel)  # one group: (C, F, 3, 3), turned
        gx = winograd.conv2d_winograd(g, winograd.transform_weight(w4), None, flipped[0].padding, x.shape[2:])
        need_x = flipped = False
    elif flipped and c // groups < per_group:
        # Fewer input than output channels: the product's C rows are too few for BLAS, and the gather of dY
        # (F·kH·kW rows) is larger than Wᵀ · dY (C·kH·kW rows), so the scatter stays. Forward+backward, batch 128,
        # 2 cores, ms with the scatter → the correlation: 16→16 3×3 at 32×32 37.2 → 30.8, 64→64 3×3 at 8×8
        # 24.4 → 21.5; 6→16 5×5 at 14×14 6.5 → 9.8, 1→6 5×5 at 32×32 6.4 → 10.3 (a LeNet-5 step: 24 → 51 ms).
        flipped = None
    if flipped:
        flipped += (rows_width(flipped[0], out_hw),)
    # dY in whole padded rows (zero past OW) for the scatter: one run per tap and image instead of OH short rows
    # (LeNet-5's 6→16 5×5 layer at 14×14, forward + backward, batch 128: 13.6 → 9.5 ms, for an adjoint product 1.4×
    # as long).
    scatter_width = rows_width(window, x.shape[2:]) if need_x and not flipped else None
    # dW from whole-row columns too, where dY is in whole rows anyway or the layer has few input channels (a first
    # layer): dY's zeros cancel the columns' reads past OW. LeNet-5's step on one thread, CPU time, medians of A/B
    # pairs: 28.5 → 26.7 ms for the 6→16 layer, 26.1 → 25.5 ms more for the 1→6 layer. Only for a finite x: a zero
    # times an infinite or NaN pixel is NaN, where the exact sum never reads that pixel for that tap.
    few_channels = c // groups < per_group
    dw_width = rows_width(window, x.shape[2:]) if need_w and (scatter_width or few_channels) and _finite(x) else None
    dy_width = scatter_width or dw_width  # the same width when both are set: rows_width of the same window
    rows_dw = dw_width is not None
    kernel_size = window.kernel[0] * window.kernel[1]

    def work(lo: int, hi: int, _worker: int) -> None:
        gy = gy_rows = None
        if dy_width:  # dY in whole padded rows, zero past OW
            gy_rows = scratch((groups * per_group, hi - lo, out_hw[0], dy_width), x.dtype)
            np.copyto(gy_rows[..., : out_hw[1]], g[lo:hi].transpose(1, 0, 2, 3))
            gy_rows[..., out_hw[1] :] = 0
            gy_rows = gy_rows.reshape(groups, per_group, -1)
        if (need_w and not rows_dw) or (need_x and not flipped and not scatter_width):
            gy = scratch((groups * per_group, hi - lo, pixels), x.dtype)
            np.copyto(gy, g3[lo:hi].transpose(1, 0, 2))
            gy = gy.reshape(groups, per_group, (hi - lo) * pixels)
        if rows_dw:  # dW = dY · colsᵀ in whole rows: the columns past OW meet dY's zeros
            cols = im2col_rows(x[lo:hi], window, out_hw[0]).reshape(groups, -1, gy_rows.shape[2])
            parts[lo // chunk] = _weight_product(gy_rows, cols)
            del cols  # frees the scratch buffer for the products below
        elif need_w:  # dW = dY · colsᵀ over the chunk's n·L columns
            cols = im2col_folded(x[lo:hi], window, out_hw).reshape(groups, -1, (hi - lo) * pixels)
            parts[lo // chunk] = _weight_product(gy, cols)
            del cols  # frees the scratch buffer for the products below
        if need_x and flipped:  # dX = W_flipped ⋆ dY
            flip_window, w_flipped, width = flipped
            cols = _gather(g[lo:hi], flip_window, x.shape[2:], width).reshape(groups, per_group * kernel_size, -1)
            y = _forward_product(w_flipped, cols, scratch((groups, c // groups, cols.shape[2]), x.dtype))
            columns_to_images(y, gx[lo:hi])
        elif need_x and scatter_width:  # dX = col2im(Wᵀ · dY), dY in whole padded rows (zero past OW)
            cols = _adjoint_product(w3, gy_rows)
            col2im_rows_into(cols.reshape(-1, cols.shape[-1]), window, gx[lo:hi])
        elif need_x:  # dX = col2im(Wᵀ · dY)
            col2im_folded_into(_adjoint_product(w3, gy).reshape(-1, (hi - lo) * pixels), window, gx[lo:hi],
                               compiled_scatter)

    if need_w or need_x:
        split_batch(work, n, chunk, (int(need_w) + int(need_x)) * flops)
    if need_w:
        gw = np.zeros(w3.shape, x.dtype)
        for part in parts:  # in chunk order, whatever thread made each
            gw += part
    return gx, gw


# ----------------------------------------------------------------- conv2d
def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1,  # noqa: A002
           padding: Any = 0, dilation: Any = 1, groups: int = 1) -> Tensor:
    """2-D cross-correlation over an (N, C, H, W) input, as `torch.nn.functional.conv2d`.

    y[n, f, i, j] = b[f] + Σ_c Σ_k Σ_l W[f, c, k, l] · x[n, g·C/G + c, i·s + k·d − p, j·s + l·d − p]
    (x read as zero outside the image; c runs over the C/G channels of f's group g). weight is
    (out_channels, in_channels/groups, kH, kW); stride, padding and dilation are ints or (h, w) pairs,
    and padding may be 'valid' (none) or 'same' (output size = input size; stride 1 only).
    Output: (N, out_channels, OH, OW) with OH = ⌊(H + 2p − d·(kH − 1) − 1) / s⌋ + 1.
    """
    x, weight = as_tensor(input), as_tensor(weight)
    bias = None if bias is None else as_tensor(bias)
    if x.ndim == 3 and weight.ndim == 4:
        return _unbatched(conv2d, x, weight, bias, stride, padding, dilation, groups)
    groups = _check_operands("conv2d", x, weight, bias, groups, in_axis=1)
    stride = _int_pair("conv2d", "stride", stride, 1)
    dilation = _int_pair("conv2d", "dilation", dilation, 1)
    kernel = (weight.shape[2], weight.shape[3])
    window = Window(kernel, stride, dilation, _conv_padding(padding, kernel, stride, dilation))
    in_hw = (x.shape[2], x.shape[3])
    out_hw = window.output_size(in_hw)
    if min(out_hw) <= 0:
        raise ValueError(f"conv2d: expected the kernel {kernel} with dilation {dilation} (spanning {window.span}) "
                         f"to fit in the padded input {window.padded_size(in_hw)}, got input {x.shape} "
                         f"with padding {window.padding} (top, bottom, left, right)")

    if is_depthwise(x.shape[1], groups):
        return _depthwise_conv2d(x, weight, bias, window, out_hw)
    f = weight.shape[0]
    w3 = weight._data.reshape(groups, f // groups, -1)
    b = None if bias is None else bias._data
    inputs = (x, weight) if bias is None else (x, weight, bias)
    small = _small_inference(inputs, x.shape[0] * f * out_hw[0] * out_hw[1])
    if not small and winograd.eligible(window, kernel, groups, x.shape[1], f, _flops(x.shape[0], w3, out_hw)):
        u = winograd.transform_weight(weight._data)
        out = winograd.conv2d_winograd(x._data, u, b, window.padding, out_hw)
    else:  # a small forward without gradient takes the columns in NumPy: Winograd's transforms would load numba
        out = _split_forward(x._data, w3, b, window, out_hw, compiled_layout=not small)

    def backward(g: np.ndarray):
        gx, gw = _split_backward(x._data, w3, np.ascontiguousarray(g), window, x.requires_grad, weight.requires_grad)
        grads = (gx, None if gw is None else gw.reshape(weight.shape))
        if bias is not None:  # db = Σ_{n,i,j} dY
            grads += (g.sum(axis=(0, 2, 3)) if bias.requires_grad else None,)
        return grads

    return record(out, inputs, backward, "Conv2d")


def _depthwise_conv2d(x: Tensor, weight: Tensor, bias: Tensor | None, window: Window, out_hw: Pair) -> Tensor:
    """conv2d with one input channel per group, by the compiled loops of `conv_depthwise`."""
    out = depthwise_forward(x._data, weight._data, window, out_hw)
    if bias is not None:
        out += bias._data.reshape(-1, 1, 1)
    inputs = (x, weight) if bias is None else (x, weight, bias)

    def backward(g: np.ndarray):
        gx = depthwise_input_grad(g, weight._data, window, x.shape) if x.requires_grad else None
        gw = depthwise_weight_grad(g, x._data, window, weight.shape) if weight.requires_grad else None
        grads = (gx, gw)
        if bias is not None:  # db = Σ_{n,i,j} dY
            grads += (g.sum(axis=(0, 2, 3)) if bias.requires_grad else None,)
        return grads

    return record(out, inputs, backward, "Conv2d")


# ----------------------------------------------------------------- conv_transpose2d
def _shape_only(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """A read-only all-zero array of `shape` that takes no memory: the stand-in for conv2d's input where
    `_split_backward` needs only its shape and dtype (the input gradient alone reads no input pixel)."""
    return np.broadcast_to(np.zeros((), dtype), shape)


def _transpose_output_size(in_hw: Pair, window: Window, output_padding: Pair) -> Pair:
    """(H − 1)·s − 2p + d·(k − 1) + output_padding + 1 per axis."""
    pads = (window.padding[0] + window.padding[1], window.padding[2] + window.padding[3])
    return tuple((h - 1) * s - p + e - 1 + op + 1 for h, s, p, e, op
                 in zip(in_hw, window.stride, pads, window.span, output_padding, strict=True))


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1,  # noqa: A002
                     padding: Any = 0, output_padding: Any = 0, groups: int = 1, dilation: Any = 1) -> Tensor:
    """2-D transposed convolution, as `torch.nn.functional.conv_transpose2d`: the adjoint of conv2d w.r.t. its input.

    Every input pixel scatters W[c, f, :, :]·x[n, c, i, j] onto the output at (i·s + k·d − p, j·s + l·d − p):
    y = col2im(Wᵀ · x) + b. weight is (in_channels, out_channels/groups, kH, kW). Output size per axis:
    (H − 1)·s − 2p + d·(k − 1) + output_padding + 1, where output_padding < stride or < dilation picks
    among the output sizes that a stride-s conv2d would map back onto H.
    """
    x, weight = as_tensor(input), as_tensor(weight)
    bias = None if bias is None else as_tensor(bias)
    if x.ndim == 3 and weight.ndim == 4:
        return _unbatched(conv_transpose2d, x, weight, bias, stride, padding, output_padding, groups, dilation)
    op = "conv_transpose2d"
    groups = _check_operands(op, x, weight, bias, groups, in_axis=0)
    stride = _int_pair(op, "stride", stride, 1)
    dilation = _int_pair(op, "dilation", dilation, 1)
    ph, pw = _int_pair(op, "padding", padding, 0)
    output_padding = _int_pair(op, "output_padding", output_padding, 0)
    for o, s, d in zip(output_padding, stride, dilation, strict=True):
        if o >= s and o >= d:
            raise ValueError(f"{op}: expected output_padding smaller than stride or dilation, got output_padding "
                             f"{output_padding} with stride {stride} and dilation {dilation}")
    kernel = (weight.shape[2], weight.shape[3])
    window = Window(kernel, stride, dilation, (ph, ph, pw, pw))
    in_hw = (x.shape[2], x.shape[3])
    out_hw = _transpose_output_size(in_hw, window, output_padding)
    if min(out_hw) <= 0:
        raise ValueError(f"{op}: expected a positive output size (H − 1)·s − 2p + d·(k − 1) + output_padding + 1, "
                         f"got {out_hw} for input {x.shape}, weight {weight.shape} and padding {(ph, pw)}")

    n, cin = x.shape[0], x.shape[1]
    cout = weight.shape[1] * groups
    # weight (Cin, Cout/G, kH, kW) is the weight of the conv2d that maps the output back onto x: conv2d's
    # (F = Cin, C/G = Cout/G, kH, kW), grouped as (G, Cin/G, Cout/G·kH·kW). The transposed convolution is that
    # conv2d's input gradient with x in the place of dY, and its gradients are that conv2d's forward (dX) and its
    # weight gradient with the roles of input and dY swapped (dW): the same chunked paths, on every core.
    w3 = weight._data.reshape(groups, cin // groups, -1)
    xd = np.ascontiguousarray(x._data)
    # That conv2d maps the output onto more than H × W pixels when output_padding reaches the stride (it may, below
    # the dilation): x is then extended by zero rows and columns, which scatter nothing
    extra = [o - i for o, i in zip(window.output_size(out_hw), in_hw, strict=True)]
    if any(extra):
        xd = np.pad(xd, ((0, 0), (0, 0), (0, extra[0]), (0, extra[1])))
    inputs = (x, weight) if bias is None else (x, weight, bias)
    out, _ = _split_backward(_shape_only((n, cout) + out_hw, x.dtype), w3, xd, window, True, False,
                             compiled_scatter=not _small_inference(inputs, n * cout * out_hw[0] * out_hw[1]))
    if bias is not None:
        out += bias._data.reshape(cout, 1, 1)

    def backward(g: np.ndarray):
        g = np.ascontiguousarray(g)
        gx = None
        if x.requires_grad:  # dX = W ⋆ dY, without the rows and columns that extended x
            gx = _split_forward(g, w3, None, window, xd.shape[2:])[:, :, : in_hw[0], : in_hw[1]]
        gw = None
        if weight.requires_grad:  # dW = Σ_n X_n · im2col(dY)_nᵀ
            gw = _split_backward(g, w3, xd, window, False, True)[1].reshape(weight.shape)
        grads = (gx, gw)
        if bias is not None:  # db = Σ_{n,i,j} dY
            grads += (g.sum(axis=(0, 2, 3)) if bias.requires_grad else None,)
        return grads

    return record(out, inputs, backward, "ConvTranspose2d")

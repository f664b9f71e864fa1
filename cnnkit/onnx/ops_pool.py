"""Imported ONNX pooling: MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool.

ONNX pools allow what cnnkit's PyTorch-style kernels do not: asymmetric pads, pads larger than half the
kernel, dilated average pooling. So every window is made explicit first (as ONNX's reference does):

- output size ⌊(n + pad_begin + pad_end − d·(k−1) − 1)/s⌋ + 1, or ⌈·⌉ with ceil_mode (dropping a last
  window that would start past the input and its begin padding);
- the input is padded by pad_begin, and at the end up to the length the windows reach, with −∞ (max) or
  0 (average); then pooled with no padding. Windows may run past the padded input in ceil mode; those
  cells count for nothing.
- Average = (window sum of the zero-padded input) / (window count), where the count covers the padded
  input (count_include_pad=1) or the input alone (0), never the cells past the padded input. Sums use
  `F.avg_pool2d(divisor_override=1)`, or, when dilated, a one-channel `F.conv2d` with a ones kernel.
"""

from __future__ import annotations

import numpy as np

import cnnkit.nn.functional as F
from cnnkit.creation import ones
from cnnkit.onnx.registry import NodeContext, register
from cnnkit.onnx.spatial import check_rank, explicit_pads, ints, lift_1d, torch_pad
from cnnkit.ops import elementwise as E
from cnnkit.ops import reduce as R
from cnnkit.ops import shape as S
from cnnkit.tensor import Tensor


def _geometry(ctx: NodeContext, x: Tensor) -> tuple[Tensor, list, list, list, list, list, bool]:
    """(x as 4-D, kernel, strides, dilations, pads [hb, wb, he, we], output size, was_1d)."""
    spatial = check_rank(ctx, x)
    kernel = ints(ctx, "kernel_shape", [])
    if len(kernel) != spatial:
        raise ctx.error(f"expected kernel_shape with {spatial} values for input shape {x.shape}, got {kernel}")
    strides = ints(ctx, "strides", [1] * spatial)
    dilations = ints(ctx, "dilations", [1] * spatial)
    pads = explicit_pads(ctx, x.shape[2:], kernel, strides, dilations)
    if spatial == 1:
        x, kernel, strides, dilations, pads = lift_1d(x, kernel, strides, dilations, pads)
    ceil = bool(ctx.attr("ceil_mode", 0))
    out = []
    for i in range(2):
        n, k, s, d = x.shape[2 + i], kernel[i], strides[i], dilations[i]
        span = n + pads[i] + pads[2 + i] - d * (k - 1) - 1
        size = (span + (s - 1 if ceil else 0)) // s + 1
        if ceil and (size - 1) * s >= n + pads[i]:  # the last window must start inside the input or its begin pad
            size -= 1
        if size < 1:
            raise ctx.error(f"the kernel {kernel} (dilation {dilations}) does not fit the padded input {x.shape}")
        out.append(size)
    return x, kernel, strides, dilations, pads, out, spatial == 1


def _reach_pads(x: Tensor, kernel: list, strides: list, dilations: list, pads: list, out: list) -> tuple[int, ...]:
    """F.pad's (left, right, top, bottom): the begin pads, and at the end whatever the last window reaches
    (or a crop, when the padded input is longer than the windows need)."""
    end = [
        (o - 1) * s + d * (k - 1) + 1 - n - b
        for o, s, d, k, n, b in zip(out, strides, dilations, kernel, x.shape[2:], pads[:2], strict=True)
    ]
    return torch_pad([pads[0], pads[1], end[0], end[1]])


def _unlift(y: Tensor, was_1d: bool) -> Tensor:
    return S.squeeze(y, 2) if was_1d else y


@register("MaxPool")
def max_pool(ctx: NodeContext, inputs: list) -> Tensor | tuple[Tensor, Tensor]:
    x0 = inputs[0]
    x, kernel, strides, dilations, pads, out, was_1d = _geometry(ctx, x0)
    reach = _reach_pads(x, kernel, strides, dilations, pads, out)
    fill = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
    padded = F.pad(x, reach, value=fill) if any(reach) else x
    if x.dtype.kind != "f":  # integer max pooling (uint8 images): no gradient, computed in float64 exactly
        y = F.max_pool2d(Tensor(padded._data.astype(np.float64)), kernel, strides, 0, dilations)
        return _unlift(Tensor(y._data.astype(x.dtype)), was_1d)
    if ctx.num_outputs < 2:
        return _unlift(F.max_pool2d(padded, kernel, strides, 0, dilations), was_1d)
    if ctx.attr("storage_order", 0):
        raise ctx.error("the Indices output with storage_order=1 (column-major) is not supported")
    y, index = F.max_pool2d(padded, kernel, strides, 0, dilations, return_indices=True)
    return _unlift(y, was_1d), _unlift(_flat_indices(index._data, padded.shape, x.shape, reach), was_1d)


def _flat_indices(index: np.ndarray, padded: tuple, shape: tuple, reach: tuple) -> Tensor:
    """Indices into the padded plane → ONNX's flat index into the whole (N, C, H, W) input."""
    n, c, h, w = shape
    row, col = index // padded[3] - reach[2], index % padded[3] - reach[0]
    planes = (np.arange(n)[:, None] * c + np.arange(c)[None, :])[:, :, None, None]
    return Tensor(((planes * h + row) * w + col).astype(np.int64))


def _window_sum(x: Tensor, kernel: list, strides: list, dilations: list) -> Tensor:
    """Σ over every (dilated) window of an unpadded 4-D input."""
    if dilations == [1, 1]:
        return F.avg_pool2d(x, kernel, strides, 0, divisor_override=1)
    n, c, h, w = x.shape
    ones_kernel = Tensor(np.ones((1, 1, *kernel), dtype=x.dtype))
    y = F.conv2d(S.reshape(x, (n * c, 1, h, w)), ones_kernel, None, tuple(strides), 0, tuple(dilations))
    return S.reshape(y, (n, c) + y.shape[2:])


@register("AveragePool")
def average_pool(ctx: NodeContext, inputs: list) -> Tensor:
    x, kernel, strides, dilations, pads, out, was_1d = _geometry(ctx, inputs[0])
    reach = _reach_pads(x, kernel, strides, dilations, pads, out)
    total = _window_sum(F.pad(x, reach) if any(reach) else x, kernel, strides, dilations)
    # the divisor: how many cells of each window lie in the counted region (the padded input, or the input)
    counted = ones(1, 1, *x.shape[2:], dtype=x.dtype)
    if ctx.attr("count_include_pad", 0):
        counted = F.pad(counted, torch_pad(pads), value=1.0)
        counted = F.pad(counted, (0, reach[1] - pads[3], 0, reach[3] - pads[2]))  # then zeros up to the reach
    else:
        counted = F.pad(counted, reach)
    count = _window_sum(counted, kernel, strides, dilations)._data
    return _unlift(E.div(total, Tensor(np.maximum(count, 1).astype(x.dtype))), was_1d)


@register("GlobalAveragePool")
def global_average_pool(ctx: NodeContext, inputs: list) -> Tensor:
    x = inputs[0]
    return R.mean(x, tuple(range(2, x.ndim)), keepdim=True)


@register("GlobalMaxPool")
def global_max_pool(ctx: NodeContext, inputs: list) -> Tensor:
    x = inputs[0]
    flat = S.reshape(x, x.shape[:2] + (-1,))
    return S.reshape(R.max(flat, 2, keepdim=True).values, x.shape[:2] + (1,) * (x.ndim - 2))

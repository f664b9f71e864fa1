"""The exporter's shape, indexing, padding and resampling converters (reshape, flatten, permute, squeeze,
unsqueeze, expand, repeat, getitem, cat, stack, clone, pad, interpolate), registered in `export_ops`'s table.

Indexing: integers, slices (any step), None and Ellipsis become Slice (+ Squeeze for integers, Unsqueeze
for None); one integer array along one axis becomes Gather. Other advanced indexing raises an ExportError.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnkit.onnx.export_ops import _axes_input, _set, _x, converter, fail
from cnnkit.onnx.graph import GraphBuilder
from cnnkit.onnx.trace import Call
from cnnkit.tensor import Tensor

PAD_MODES = {"constant": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def _reshape_to(b: GraphBuilder, x: Tensor, shape: tuple[int, ...]) -> str:
    """Flatten when the result is (prod of leading dims, prod of the rest); otherwise Reshape, copying (0) the
    leading dims that pass through unchanged so that a dynamic batch keeps working."""
    name = b.name(x)
    if tuple(shape) == tuple(x.shape):
        return b.op("Identity", [name])
    if len(shape) == 2 and x.ndim >= 2:
        for axis in range(1, x.ndim):
            if shape == (int(np.prod(x.shape[:axis])), int(np.prod(x.shape[axis:]))) and shape[0] == x.shape[0]:
                return b.op("Flatten", [name], axis=axis)
    target = list(shape)
    for i in range(min(len(shape), x.ndim)):
        if shape[i] != x.shape[i] or shape[i] == 0:
            break
        target[i] = 0
    return b.op("Reshape", [name, b.ints(target)])


converter("reshape")(lambda b, call: _set(b, call, _reshape_to(b, call.args["x"], call.output.shape)))
converter("flatten")(lambda b, call: _set(b, call, _reshape_to(b, call.args["x"], call.output.shape)))
converter("squeeze")(lambda b, call: _set(b, call, _reshape_to(b, call.args["x"], call.output.shape)))
converter("unsqueeze")(lambda b, call: _set(b, call, _reshape_to(b, call.args["x"], call.output.shape)))
converter("clone")(lambda b, call: _set(b, call, b.op("Identity", [_x(b, call, "x")])))


@converter("permute")
def permute(b: GraphBuilder, call: Call) -> None:
    x = call.args["x"]
    dims = [int(d) % max(x.ndim, 1) for d in call.args["dims"]]
    _set(b, call, b.op("Transpose", [b.name(x)], perm=dims))


@converter("expand")
def expand(b: GraphBuilder, call: Call) -> None:
    x, out = call.args["x"], call.output
    lead = out.ndim - x.ndim
    # 1 where the input's own dim is kept: ONNX broadcasting then keeps it (a dynamic batch included)
    target = [1 if i >= lead and x.shape[i - lead] == n else n for i, n in enumerate(out.shape)]
    _set(b, call, b.op("Expand", [b.name(x), b.ints(target)]))


@converter("repeat")
def repeat(b: GraphBuilder, call: Call) -> None:
    x, repeats = call.args["x"], [int(r) for r in call.args["repeats"]]
    name = b.name(x)
    if len(repeats) > x.ndim:
        name = b.op("Reshape", [name, b.ints([1] * (len(repeats) - x.ndim) + list(x.shape))])
    _set(b, call, b.op("Tile", [name, b.ints(repeats, "repeats")]))


@converter("cat")
def cat(b: GraphBuilder, call: Call) -> None:
    tensors = list(call.args["tensors"])
    axis = int(call.args["dim"]) % tensors[0].ndim
    _set(b, call, b.op("Concat", [b.name(t) for t in tensors], axis=axis))


@converter("stack")
def stack(b: GraphBuilder, call: Call) -> None:
    tensors = list(call.args["tensors"])
    axis = int(call.args["dim"]) % (tensors[0].ndim + 1)
    parts = [_axes_input(b, [b.name(t)], [axis], 13, "Unsqueeze") for t in tensors]
    _set(b, call, b.op("Concat", parts, axis=axis))


# --------------------------------------------------------------------- indexing
def _expand_index(index: Any, ndim: int) -> list[Any]:
    """The index as a list with one entry per input dim (None entries kept where they stand), Ellipsis filled."""
    parts = list(index) if isinstance(index, tuple) else [index]
    used = sum(1 for p in parts if p is not None and p is not Ellipsis)
    fill = [slice(None)] * (ndim - used)
    if Ellipsis in parts:
        k = parts.index(Ellipsis)
        parts[k : k + 1] = fill
    else:
        parts += fill
    return parts


@converter("getitem")
def getitem(b: GraphBuilder, call: Call) -> None:
    x, index = call.args["x"], call.args["index"]
    parts = _expand_index(index, x.ndim)
    arrays = [p for p in parts if isinstance(p, (np.ndarray, list, Tensor))]
    if arrays:
        _gather(b, call, x, parts)
        return
    starts, ends, axes, steps, squeeze, unsqueeze = [], [], [], [], [], []
    dim, out_dim = 0, 0
    for p in parts:
        if p is None:
            unsqueeze.append(out_dim)
            out_dim += 1
            continue
        n = x.shape[dim]
        if isinstance(p, slice):
            start, stop, step = p.indices(n)
            if (start, stop, step) != (0, n, 1):
                end = stop if step > 0 or stop >= 0 else -(2**63) + 1  # a reverse slice to the front
                starts, ends, axes, steps = starts + [start], ends + [end], axes + [dim], steps + [step]
            out_dim += 1
        else:  # an integer: a slice of one, squeezed away
            i = int(p) % n
            starts, ends, axes, steps = starts + [i], ends + [i + 1], axes + [dim], steps + [1]
            squeeze.append(dim)
        dim += 1
    name = b.name(x)
    if axes:
        name = b.op(
            "Slice",
            [name, b.ints(starts, "starts"), b.ints(ends, "ends"), b.ints(axes, "axes"), b.ints(steps, "steps")],
        )
    if squeeze:
        name = _axes_input(b, [name], squeeze, 13, "Squeeze")
    if unsqueeze:
        name = _axes_input(b, [name], unsqueeze, 13, "Unsqueeze")
    if name == b.name(x):
        name = b.op("Identity", [name])
    _set(b, call, name)


def _gather(b: GraphBuilder, call: Call, x: Tensor, parts: list[Any]) -> None:
    """x[..., idx, ...] with one integer array and full slices elsewhere: Gather along that axis."""
    axes = [i for i, p in enumerate(parts) if not (isinstance(p, slice) and p == slice(None))]
    if len(axes) != 1 or None in parts:
        raise fail(call, "indexing with an array is exported only as one integer array on one axis (Gather)")
    axis = axes[0]
    index = np.asarray(parts[axis]._data if isinstance(parts[axis], Tensor) else parts[axis])
    if index.dtype.kind not in "iu":
        raise fail(call, f"boolean or non-integer array indexing (dtype {index.dtype}) cannot be exported")
    index = np.where(index < 0, index + x.shape[axis], index).astype(np.int64)  # Gather counts from 0
    _set(b, call, b.op("Gather", [b.name(x), b.constant(index, "indices")], axis=axis))


# --------------------------------------------------------------------- padding and resampling
@converter("pad")
def pad(b: GraphBuilder, call: Call) -> None:
    a = call.args
    x, pairs, mode = a["input"], list(a["pad"]), a["mode"]
    if mode == "circular" and b.opset < 19:
        raise fail(call, f"circular padding needs opset 19 or later (Pad mode 'wrap'), got opset {b.opset}")
    begin, end = [0] * x.ndim, [0] * x.ndim
    for k in range(len(pairs) // 2):  # F.pad lists the last dim first
        begin[x.ndim - 1 - k], end[x.ndim - 1 - k] = int(pairs[2 * k]), int(pairs[2 * k + 1])
    inputs = [b.name(x), b.ints(begin + end, "pads")]
    if mode == "constant":
        value = 0.0 if a["value"] is None else float(a["value"])
        inputs.append(b.constant(np.asarray(value, dtype=x.dtype), "value"))
    _set(b, call, b.op("Pad", inputs, mode=PAD_MODES[mode]))


@converter("interpolate")
def interpolate(b: GraphBuilder, call: Call) -> None:
    a = call.args
    x, out, mode = a["input"], call.output, a["mode"]
    if mode == "area":
        raise fail(call, "mode 'area' (adaptive average pooling) cannot be exported; use adaptive_avg_pool2d")
    align = bool(a["align_corners"])
    if mode == "nearest":
        attrs = {"mode": "nearest", "coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"}
    elif mode == "nearest-exact":
        attrs = {"mode": "nearest", "coordinate_transformation_mode": "half_pixel", "nearest_mode": "round_prefer_ceil"}
    else:
        attrs = {"mode": "linear", "coordinate_transformation_mode": "align_corners" if align else "pytorch_half_pixel"}
    factors = a["scale_factor"]
    if factors is not None and not a["recompute_scale_factor"] and not align:
        # the kernels step by 1/scale_factor: give ONNX the same scales (which also keeps the batch dynamic)
        pair = (factors, factors) if np.isscalar(factors) else tuple(factors)
        inputs = [b.name(x), b.floats([], "roi"), b.floats([1.0, 1.0, float(pair[0]), float(pair[1])])]
    else:  # the kernels step by H/OH: sizes give ONNX the same ratio; (N, C) read from x keeps the batch dynamic
        batch_channels = b.op("Slice", [b.op("Shape", [b.name(x)]), b.ints([0], "starts"), b.ints([2], "ends")])
        sizes = b.op("Concat", [batch_channels, b.ints(list(out.shape[2:]), "sizes")], axis=0)
        inputs = [b.name(x), b.floats([], "roi"), b.floats([], "scales"), sizes]  # opset 11 wants all four
    _set(b, call, b.op("Resize", inputs, **attrs))

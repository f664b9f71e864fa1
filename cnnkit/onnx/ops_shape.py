"""Imported ONNX ops that move or make values: Reshape, Flatten, Transpose, Concat, Split, Slice, Squeeze,
Unsqueeze, Gather, Shape, Size, Constant, ConstantOfShape, Tile, Expand and Pad.

Shapes, axes, pads and repeats come from attributes in early opsets and from (static) inputs later:
Reshape's shape from opset 5, Slice's starts/ends/axes/steps from 10, Pad's pads and value from 11 (and axes
from 18), Squeeze/Unsqueeze's axes and Split's sizes from 13. Every op moves its gradient back with
cnnkit's shape ops, so a graph built from them still back-propagates.
"""

from __future__ import annotations

import math

import numpy as np

import cnnkit.nn.functional as F
from cnnkit.onnx.registry import NodeContext, check_output_shape, int_list, register, values
from cnnkit.ops import shape as S
from cnnkit.tensor import Tensor

PAD_MODES = {"constant": "constant", "reflect": "reflect", "edge": "replicate", "wrap": "circular"}


@register("Reshape", static=(1,))
def reshape(ctx: NodeContext, inputs: list) -> Tensor:
    x = inputs[0]
    shape = [int(v) for v in ctx.attr("shape", [])] if ctx.opset < 5 else int_list(inputs[1])
    if not ctx.attr("allowzero", 0):  # 0 copies the input's dim (unless allowzero says 0 means 0)
        shape = [x.shape[i] if v == 0 else v for i, v in enumerate(shape)]
    if any(v < -1 for v in shape) or shape.count(-1) > 1:
        raise ctx.error(f"shape {shape} has a size below -1 or more than one -1")
    known, count = math.prod(v for v in shape if v != -1), math.prod(x.shape)  # Python ints: no wrapping
    fits = (known > 0 and count % known == 0) if -1 in shape else known == count
    if not fits:
        raise ctx.error(f"cannot reshape an input of shape {list(x.shape)} ({count} values) to {shape}")
    return S.reshape(x, tuple(shape))


@register("Flatten")
def flatten(ctx: NodeContext, inputs: list) -> Tensor:
    x = inputs[0]
    axis = int(ctx.attr("axis", 1))
    axis = axis + x.ndim if axis < 0 else axis
    rows = int(np.prod(x.shape[:axis], dtype=np.int64))
    return S.reshape(x, (rows, int(np.prod(x.shape[axis:], dtype=np.int64))))


@register("Transpose")
def transpose(ctx: NodeContext, inputs: list) -> Tensor:
    x = inputs[0]
    perm = ctx.attr("perm") or list(reversed(range(x.ndim)))
    return S.permute(x, tuple(int(p) for p in perm))


@register("Concat")
def concat(ctx: NodeContext, inputs: list) -> Tensor:
    tensors = [t for t in inputs if t is not None]
    return S.cat(tensors, int(ctx.attr("axis", 1)))


@register("Split", static=(1,))
def split(ctx: NodeContext, inputs: list) -> tuple[Tensor, ...]:
    x = inputs[0]
    axis = int(ctx.attr("axis", 0)) % x.ndim
    n = x.shape[axis]
    sizes = ctx.attr("split") if ctx.opset < 13 else int_list(inputs[1] if len(inputs) > 1 else None)
    if not sizes:
        parts = int(ctx.attr("num_outputs", ctx.num_outputs))
        chunk = -(-n // parts)  # equal parts, the last smaller if n does not divide (opset 18)
        sizes = [min(chunk, n - i * chunk) for i in range(parts)]
    if sum(sizes) != n:
        raise ctx.error(f"split sizes {list(sizes)} do not add up to {n} along axis {axis} of {x.shape}")
    pieces, start = [], 0
    for size in sizes:
        pieces.append(S.getitem(x, (slice(None),) * axis + (slice(start, start + int(size)),)))
        start += int(size)
    return tuple(pieces)


def _slice_bound(start: int, end: int, step: int, n: int) -> slice:
    """ONNX's clamped start/end (negative counts from the end) as a Python slice."""
    start = start + n if start < 0 else start
    end = end + n if end < 0 else end
    if step > 0:
        return slice(min(max(start, 0), n), min(max(end, 0), n), step)
    start, end = min(max(start, 0), n - 1), min(max(end, -1), n - 1)
    return slice(start, None if end < 0 else end, step)  # end −1 means "past index 0", which Python spells None


@register("Slice", static=(1, 2, 3, 4))
def slice_(ctx: NodeContext, inputs: list) -> Tensor:
    x = inputs[0]
    if ctx.opset < 10:
        starts, ends, axes, steps = ctx.attr("starts"), ctx.attr("ends"), ctx.attr("axes"), None
    else:
        more = inputs + [None] * 4
        starts, ends, axes, steps = (int_list(t) for t in more[1:5])
    axes = list(range(len(starts))) if not axes else axes
    steps = [1] * len(starts) if not steps else steps
    index = [slice(None)] * x.ndim
    for start, end, axis, step in zip(starts, ends, axes, steps, strict=True):
        if step == 0:
            raise ctx.error("slice steps cannot be 0")
        axis = int(axis) % x.ndim
        index[axis] = _slice_bound(int(start), int(end), int(step), x.shape[axis])
    return S.getitem(x, tuple(index))


def _axes(ctx: NodeContext, inputs: list) -> list[int] | None:
    if ctx.opset < 13:
        return ctx.attr("axes")
    return int_list(inputs[1] if len(inputs) > 1 else None)


@register("Squeeze", static=(1,))
def squeeze(ctx: NodeContext, inputs: list) -> Tensor:
    x = inputs[0]
    axes = _axes(ctx, inputs)
    drop = {i for i, n in enumerate(x.shape) if n == 1} if not axes else {int(a) % x.ndim for a in axes}
    if any(x.shape[a] != 1 for a in drop):
        raise ctx.error(f"cannot squeeze axes {sorted(drop)} of shape {x.shape}: they are not all of size 1")
    return S.reshape(x, tuple(n for i, n in enumerate(x.shape) if i not in drop))


@register("Unsqueeze", static=(1,))
def unsqueeze(ctx: NodeContext, inputs: list) -> Tensor:
    x = inputs[0]
    axes = _axes(ctx, inputs) or []
    rank = x.ndim + len(axes)
    new = sorted(int(a) % rank for a in axes)
    shape, dims = [], iter(x.shape)
    for i in range(rank):
        shape.append(1 if i in new else next(dims))
    return S.reshape(x, tuple(shape))


@register("Gather", names=("weight", ""))
def gather(ctx: NodeContext, inputs: list) -> Tensor:
    x, indices = inputs
    axis = int(ctx.attr("axis", 0)) % x.ndim
    index = indices._data.astype(np.int64)
    index = np.where(index < 0, index + x.shape[axis], index)  # negative indices count from the end
    return S.getitem(x, (slice(None),) * axis + (index,))


@register("Shape")
def shape(ctx: NodeContext, inputs: list) -> Tensor:
    dims = inputs[0].shape
    start, end = int(ctx.attr("start", 0)), ctx.attr("end")
    return Tensor(np.array(dims[start : None if end is None else int(end)], dtype=np.int64))


register("Size")(lambda ctx, inputs: Tensor(np.array(inputs[0]._data.size, dtype=np.int64)))


def _check_constant(ctx: NodeContext) -> None:
    keys = {"value", "value_float", "value_floats", "value_int", "value_ints"}
    if not keys & set(ctx.attrs):
        raise ctx.error(f"only numeric constants are supported (attributes {sorted(keys)}), got {sorted(ctx.attrs)}")


@register("Constant", check=_check_constant)
def constant(ctx: NodeContext, inputs: list) -> Tensor:
    for key, dtype in (
        ("value", None),
        ("value_float", np.float32),
        ("value_floats", np.float32),
        ("value_int", np.int64),
        ("value_ints", np.int64),
    ):
        if key in ctx.attrs:
            array = np.asarray(ctx.attrs[key], dtype=dtype)
            return Tensor(array, dtype=array.dtype)
    raise ctx.error("no value")


@register("ConstantOfShape", static=(0,))
def constant_of_shape(ctx: NodeContext, inputs: list) -> Tensor:
    fill = ctx.attr("value")
    fill = np.zeros(1, dtype=np.float32) if fill is None else np.asarray(fill)
    dims = check_output_shape(ctx, int_list(inputs[0]), fill.dtype.itemsize)
    return Tensor(np.full(dims, fill.reshape(-1)[0], dtype=fill.dtype), dtype=fill.dtype)


@register("Tile", static=(1,))
def tile(ctx: NodeContext, inputs: list) -> Tensor:
    x, repeats = inputs[0], int_list(inputs[1])
    if len(repeats) != x.ndim:
        raise ctx.error(f"{len(repeats)} repeats for an input of {x.ndim} dims")
    check_output_shape(ctx, [n * r for n, r in zip(x.shape, repeats, strict=True)], x.dtype.itemsize)
    return S.repeat(x, tuple(repeats))


@register("Expand", static=(1,))
def expand(ctx: NodeContext, inputs: list) -> Tensor:
    x = inputs[0]
    wanted = check_output_shape(ctx, int_list(inputs[1]), 1)  # negative sizes refused before broadcasting
    try:
        target = np.broadcast_shapes(x.shape, wanted)  # bidirectional, as ONNX broadcasts
    except ValueError:
        raise ctx.error(f"cannot expand an input of shape {list(x.shape)} to {list(wanted)}") from None
    # the result is written out (a gradient needs it), so its size is checked before it is made
    return S.expand(x, check_output_shape(ctx, target, x.dtype.itemsize))


def _check_pad(ctx: NodeContext) -> None:
    if ctx.attr("mode", "constant") not in PAD_MODES:
        raise ctx.error(f"pad mode must be one of {sorted(PAD_MODES)}, got {ctx.attr('mode')!r}")


@register("Pad", static=(1, 2, 3), check=_check_pad)
def pad(ctx: NodeContext, inputs: list) -> Tensor:
    x = inputs[0]
    if ctx.opset < 11:
        pads, fill, axes = ctx.attr("pads", ctx.attr("paddings")), float(ctx.attr("value", 0.0)), None
    else:
        more = inputs + [None] * 3
        pads, axes = int_list(more[1]), int_list(more[3])
        fill_v = values(more[2])
        fill = 0 if fill_v is None or fill_v.size == 0 else fill_v.reshape(-1)[0].item()
    axes = list(range(x.ndim)) if not axes else [int(a) % x.ndim for a in axes]
    begin, end = [0] * x.ndim, [0] * x.ndim
    for k, axis in enumerate(axes):
        begin[axis], end[axis] = int(pads[k]), int(pads[len(axes) + k])
    check_output_shape(ctx, [n + b + e for n, b, e in zip(x.shape, begin, end, strict=True)], x.dtype.itemsize)
    padded_dims = [i for i in range(x.ndim) if begin[i] or end[i]]
    if not padded_dims:
        return S.clone(x) if x.dtype.kind == "f" else x
    torch_pads: list[int] = []
    for axis in range(x.ndim - 1, min(padded_dims) - 1, -1):  # F.pad lists the last dim first
        torch_pads += [begin[axis], end[axis]]
    mode = PAD_MODES[ctx.attr("mode", "constant")]
    try:
        return F.pad(x, tuple(torch_pads), mode=mode, value=fill if mode == "constant" else None)
    except ValueError as err:
        raise ctx.error(str(err)) from None

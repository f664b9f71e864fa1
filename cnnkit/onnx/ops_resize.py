"""Imported ONNX resampling: Resize (opsets 10–19+) and Upsample (7, 9), nearest and linear.

Resampling is separable, so each resized axis is done on its own. Output position x of an axis maps to an
input coordinate by the `coordinate_transformation_mode` (s = the axis's scale, n its input and m its
output length):

    half_pixel (x + ½)/s − ½           pytorch_half_pixel  the same, but 0 when L = 1
    align_corners x·(n − 1)/(L − 1)    asymmetric          x/s            tf_half_pixel_for_nn (x + ½)/s
    half_pixel_symmetric  n/2·(1 − m/(s·n)) + (x + ½)/s − ½
    tf_crop_and_resize    roi_start·(n − 1) + x·(roi_end − roi_start)·(n − 1)/(L − 1)
                          (outside [0, n − 1]: extrapolation_value)

where L = n·s is the resized length before rounding down (ONNX's reference divides by it, not by m).

nearest rounds that coordinate by `nearest_mode` (round_prefer_floor, round_prefer_ceil, floor, ceil) and
gathers; linear weighs the two neighbours (the coordinate clamped into [0, n − 1]) through an m × n
matrix product. Opset 10's Resize and Upsample know only asymmetric coordinates; their nearest rounding is
onnxruntime's: floor when enlarging, ceil when shrinking. Scales give m = ⌊n·s⌋; sizes give s = m/n (with
opset 18's keep_aspect_ratio_policy applied over the resized axes). cubic and antialias are refused.
"""

from __future__ import annotations

import math

import numpy as np

from cnnkit.onnx.registry import NodeContext, check_output_shape, register, values
from cnnkit.ops import elementwise as E
from cnnkit.ops import matmul as M
from cnnkit.ops import shape as S
from cnnkit.tensor import Tensor

MODES = ("nearest", "linear", "bilinear")  # Upsample-7 and Resize-10 spell linear "linear"; some writers "bilinear"
COORDINATES = (
    "half_pixel",
    "half_pixel_symmetric",
    "pytorch_half_pixel",
    "align_corners",
    "asymmetric",
    "tf_half_pixel_for_nn",
    "tf_crop_and_resize",
)
ROUNDING = ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil")


def _check(ctx: NodeContext) -> None:
    if ctx.attr("mode", "nearest") not in MODES:
        raise ctx.error(f"mode {ctx.attr('mode')!r} is not supported; supported: nearest and linear")
    if ctx.attr("coordinate_transformation_mode", "half_pixel") not in COORDINATES:
        raise ctx.error(
            f"coordinate_transformation_mode {ctx.attr('coordinate_transformation_mode')!r} is not "
            f"supported; supported: {', '.join(COORDINATES)}"
        )
    if ctx.attr("nearest_mode", "round_prefer_floor") not in ROUNDING:
        raise ctx.error(f"nearest_mode {ctx.attr('nearest_mode')!r} is not supported")
    if ctx.attr("antialias", 0):
        raise ctx.error("antialias=1 is not supported")


def _coordinates(mode: str, n: int, m: int, scale: float, roi: tuple[float, float]) -> np.ndarray:
    """The input coordinate of every output position of one axis (float64)."""
    x = np.arange(m, dtype=np.float64)
    length = n * scale  # the resized length before rounding
    if mode == "half_pixel":
        return (x + 0.5) / scale - 0.5
    if mode == "pytorch_half_pixel":
        return (x + 0.5) / scale - 0.5 if length > 1 else np.zeros(m)
    if mode == "half_pixel_symmetric":
        adjustment = m / length
        return n / 2 * (1 - adjustment) + (x + 0.5) / scale - 0.5
    if mode == "align_corners":
        return x * (n - 1) / (length - 1) if length > 1 else np.zeros(m)
    if mode == "tf_half_pixel_for_nn":
        return (x + 0.5) / scale
    if mode == "tf_crop_and_resize":
        start, end = roi
        if length > 1:
            return start * (n - 1) + x * (end - start) * (n - 1) / (length - 1)
        return np.full(m, 0.5 * (start + end) * (n - 1))
    return x / scale  # asymmetric


def _nearest_index(coord: np.ndarray, rounding: str, n: int) -> np.ndarray:
    if rounding == "round_prefer_ceil":
        index = np.floor(coord + 0.5)
    elif rounding == "floor":
        index = np.floor(coord)
    elif rounding == "ceil":
        index = np.ceil(coord)
    else:  # round_prefer_floor: halves go down
        index = np.ceil(coord - 0.5)
    return np.clip(index, 0, n - 1).astype(np.int64)


def _linear_matrix(coord: np.ndarray, n: int, dtype: np.dtype) -> np.ndarray:
    """(m × n): row o holds the two linear weights of output o's neighbours (coordinate clamped to the input)."""
    c = np.clip(coord, 0, n - 1)
    low = np.minimum(np.floor(c).astype(np.int64), n - 1)
    high = np.minimum(low + 1, n - 1)
    frac = c - low
    matrix = np.zeros((len(coord), n), dtype=np.float64)
    rows = np.arange(len(coord))
    matrix[rows, low] += 1 - frac
    matrix[rows, high] += frac
    return matrix.astype(dtype)


def _along(x: Tensor, axis: int, fn) -> Tensor:
    """Apply fn to x with `axis` moved last, then move it back."""
    if axis == x.ndim - 1:
        return fn(x)
    order = [i for i in range(x.ndim) if i != axis] + [axis]
    back = tuple(int(i) for i in np.argsort(order))
    return S.permute(fn(S.permute(x, tuple(order))), back)


def _resize_axis(x: Tensor, axis: int, m: int, scale: float, ctx: NodeContext, roi: tuple[float, float]) -> Tensor:
    n = x.shape[axis]
    legacy = ctx.op_type == "Upsample" or ctx.opset < 11
    coord_mode = "asymmetric" if legacy else ctx.attr("coordinate_transformation_mode", "half_pixel")
    coord = _coordinates(coord_mode, n, m, scale, roi)
    if ctx.attr("mode", "nearest") == "nearest":
        if legacy:  # onnxruntime's "simple" rounding: floor when enlarging, ceil when shrinking
            index = np.clip(np.ceil(coord) if scale < 1 else np.floor(coord), 0, n - 1).astype(np.int64)
        else:
            index = _nearest_index(coord, ctx.attr("nearest_mode", "round_prefer_floor"), n)
        y = S.getitem(x, (slice(None),) * axis + (index,))
    else:
        matrix = Tensor(_linear_matrix(coord, n, x.dtype))
        y = _along(x, axis, lambda t: M.matmul(t, S.permute(matrix, (1, 0))))
    if coord_mode == "tf_crop_and_resize":
        outside = (coord < 0) | (coord > n - 1)
        if outside.any():
            shape = [1] * x.ndim
            shape[axis] = m
            inside = Tensor((~outside).reshape(shape).astype(x.dtype))
            fill = float(ctx.attr("extrapolation_value", 0.0))
            y = E.add(E.mul(y, inside), Tensor((outside * fill).reshape(shape).astype(x.dtype)))
    return y


def _sizes_and_scales(ctx: NodeContext, x: Tensor, inputs: list) -> tuple[list[int], list[float], np.ndarray | None]:
    """Output length and scale of every axis, and the roi (tf_crop_and_resize), from the opset's inputs."""
    if ctx.op_type == "Upsample" and ctx.opset < 9:
        scales_v, sizes_v, roi = np.asarray(ctx.attr("scales"), dtype=np.float64), None, None
    elif ctx.op_type == "Upsample" or ctx.opset < 11:
        scales_v, sizes_v, roi = values(inputs[1]), None, None
    else:
        more = inputs + [None] * 3
        roi, scales_v, sizes_v = values(more[1]), values(more[2]), values(more[3])
    axes = [int(a) % x.ndim for a in (ctx.attr("axes") or range(x.ndim))]
    sizes, scales = list(x.shape), [1.0] * x.ndim
    if sizes_v is not None and sizes_v.size:
        wanted = [int(v) for v in sizes_v.reshape(-1)]
        ratios = [w / x.shape[a] for w, a in zip(wanted, axes, strict=True)]
        policy = ctx.attr("keep_aspect_ratio_policy", "stretch")
        if policy != "stretch":  # one scale for every resized axis: the smaller (not_larger) or larger one
            common = min(ratios) if policy == "not_larger" else max(ratios)
            ratios = [common] * len(axes)
            wanted = [int(math.floor(x.shape[a] * common + 0.5)) for a in axes]
        for a, w, r in zip(axes, wanted, ratios, strict=True):
            sizes[a], scales[a] = w, r
    elif scales_v is not None and scales_v.size:
        for a, s in zip(axes, scales_v.reshape(-1), strict=True):
            sizes[a], scales[a] = int(math.floor(x.shape[a] * float(s))), float(s)
    else:
        raise ctx.error("needs scales or sizes")
    full_roi = None
    if roi is not None and roi.size:
        full_roi = np.concatenate([np.zeros(x.ndim), np.ones(x.ndim)])
        for k, a in enumerate(axes):
            full_roi[a], full_roi[x.ndim + a] = roi[k], roi[len(axes) + k]
    return sizes, scales, full_roi


def _resize(ctx: NodeContext, inputs: list) -> Tensor:
    x = inputs[0]
    sizes, scales, roi = _sizes_and_scales(ctx, x, inputs)
    check_output_shape(ctx, sizes, x.dtype.itemsize)
    y = x
    for axis in range(x.ndim):
        if sizes[axis] != x.shape[axis] or scales[axis] != 1.0 or roi is not None:
            span = (0.0, 1.0) if roi is None else (float(roi[axis]), float(roi[x.ndim + axis]))
            y = _resize_axis(y, axis, sizes[axis], scales[axis], ctx, span)
    return S.clone(y) if y is x else y


register("Resize", static=(1, 2, 3), check=_check)(_resize)
register("Upsample", static=(1,), check=_check)(_resize)

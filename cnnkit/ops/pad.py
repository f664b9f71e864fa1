"""Padding: `pad` with PyTorch's conventions — modes constant, reflect, replicate and circular; negative pads crop.

The `pad` tuple lists the LAST dim first: (left, right) for the last dim, then (top, bottom) for the one
before, and so on. Each padded dim is handled on its own, as a map from output positions to input
positions along that axis (`_AxisPad`): a copied centre plus a left and a right border strip.

Backward folds the gradient of each border strip back onto the cells it was copied from: a reflect or
circular strip reads distinct cells (a flipped or shifted run of the input), so the fold is one vectorised
add; a replicate strip reads a single edge cell, so the fold is a sum. No unbuffered scatter-add (ufunc.at) anywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from cnnkit.tensor import Tensor, as_tensor, record

MODES = ("constant", "reflect", "replicate", "circular")


class _AxisPad(NamedTuple):
    """Padding of one axis: output = [left strip | input[a:b] | right strip], strips given as source indices."""

    axis: int
    n: int  # input size
    a: int  # the kept (cropped) input range is a..b−1
    b: int
    left: np.ndarray  # source input positions of the left strip (empty for constant mode or no left pad)
    right: np.ndarray  # likewise for the right strip

    @property
    def out(self) -> int:
        return len(self.left) + (self.b - self.a) + len(self.right)


def _check_pad(x: Tensor, pad: Sequence[int], mode: str, value: float | None) -> list[tuple[int, int]]:
    """Validated (left, right) pairs, last dim first, or a clear error naming what PyTorch expects."""
    if mode not in MODES:
        raise ValueError(f"pad: expected mode to be one of {MODES}, got {mode!r}")
    pad = tuple(pad)
    if not all(isinstance(p, (int, np.integer)) for p in pad):
        raise TypeError(f"pad: expected pad to be a tuple of ints, got {pad!r}")
    if len(pad) % 2:
        raise ValueError(f"pad: expected a pad tuple of even length (left, right, top, bottom, ...), got {pad}")
    if len(pad) > 2 * x.ndim:
        raise ValueError(f"pad: expected at most 2 entries per dim ({2 * x.ndim} for a {x.ndim}-D input of shape "
                         f"{x.shape}), got a pad of length {len(pad)}")
    dims = len(pad) // 2
    if mode != "constant":
        if value not in (None, 0):
            raise ValueError(f"pad: mode {mode!r} takes no fill value, got value={value}")
        if dims not in (1, 2, 3) or x.ndim not in (dims + 1, dims + 2):
            raise ValueError(f"pad: mode {mode!r} pads the last 1, 2 or 3 dims of a 2-D/3-D, 3-D/4-D or 4-D/5-D "
                             f"input (pad length 2, 4 or 6), got a pad of length {len(pad)} for input shape {x.shape}")
    return [(int(pad[2 * i]), int(pad[2 * i + 1])) for i in range(dims)]


def _axis_pad(axis: int, n: int, left: int, right: int, mode: str, shape: tuple[int, ...]) -> _AxisPad:
    """Source positions of one axis's border strips; negative pads crop.

    constant/reflect/replicate, as PyTorch: output o reads input j = o − left; j inside [0, n) is the centre,
    j < 0 and j ≥ n are the strips (reflect: −j and 2(n−1) − j; replicate: the edge cell). circular, as
    PyTorch: crop first, then wrap around the part that is left.
    """
    out = n + left + right
    kept = n - max(-left, 0) - max(-right, 0)
    where = f"dim {axis} of input shape {shape} with pad ({left}, {right})"
    if mode == "constant" and kept < 0:
        raise ValueError(f"pad: expected negative pads to crop at most the whole dim, got {where}")
    if mode != "constant" and out < 1:
        raise ValueError(f"pad: expected a non-empty output for mode {mode!r}, got output size {out} for {where}")
    if mode == "reflect" and (left >= n or right >= n):
        raise ValueError(f"pad: expected reflect pads smaller than the padded dim ({n}), got {where}")
    if mode == "circular":
        if max(left, 0) > kept or max(right, 0) > kept:
            raise ValueError(f"pad: expected circular pads to wrap around at most once, i.e. at most the size left "
                             f"after cropping ({kept}), got {where}")
        a, b = max(-left, 0), n - max(-right, 0)
        return _AxisPad(axis, n, a, b, np.arange(b - max(left, 0), b), np.arange(a, a + max(right, 0)))
    j = np.arange(out) - left
    n_left, n_right = int((j < 0).sum()), int((j >= n).sum())
    centre = j[n_left:out - n_right]
    a = int(centre[0]) if len(centre) else 0
    left_j, right_j = j[:n_left], j[out - n_right:]
    if mode == "reflect":
        left_src, right_src = -left_j, 2 * (n - 1) - right_j
    else:  # replicate reads the edge cells; constant reads nothing (its strips hold the fill value)
        left_src, right_src = np.zeros_like(left_j), np.full_like(right_j, n - 1)
    return _AxisPad(axis, n, a, a + len(centre), left_src, right_src)


def _constant_slices(ndim: int, axes: list[_AxisPad]) -> tuple[tuple[slice, ...], tuple[slice, ...]]:
    """(kept part of the input, where it lands in the output) as index tuples."""
    inner, outer = [slice(None)] * ndim, [slice(None)] * ndim
    for ax in axes:
        inner[ax.axis] = slice(ax.a, ax.b)
        outer[ax.axis] = slice(len(ax.left), len(ax.left) + ax.b - ax.a)
    return tuple(inner), tuple(outer)


def _pad_constant(data: np.ndarray, axes: list[_AxisPad], value: float) -> np.ndarray:
    """One allocation filled with value, then the kept input copied into the middle."""
    shape = list(data.shape)
    for ax in axes:
        shape[ax.axis] = ax.out
    inner, outer = _constant_slices(data.ndim, axes)
    out = np.full(shape, value, dtype=data.dtype)
    out[outer] = data[inner]
    return out


def _gather_axis(data: np.ndarray, ax: _AxisPad) -> np.ndarray:
    """Forward of one non-constant axis: take [left sources, a..b−1, right sources] along the axis."""
    index = np.concatenate([ax.left, np.arange(ax.a, ax.b), ax.right])
    return np.take(data, index, axis=ax.axis)


def _along(axis: int, index: slice | np.ndarray) -> tuple:
    return (slice(None),) * axis + (index,)


def _fold_axis(g: np.ndarray, ax: _AxisPad, mode: str) -> np.ndarray:
    """Backward of one reflect/replicate/circular axis: dL/dx[a:b] = g[centre], plus each border strip folded
    back onto its sources."""
    shape = g.shape[:ax.axis] + (ax.n,) + g.shape[ax.axis + 1:]
    kept, lp = ax.b - ax.a, len(ax.left)
    grad = np.zeros(shape, dtype=g.dtype)
    grad[_along(ax.axis, slice(ax.a, ax.b))] = g[_along(ax.axis, slice(lp, lp + kept))]
    for src, strip in ((ax.left, slice(0, lp)), (ax.right, slice(lp + kept, ax.out))):
        if len(src) == 0:
            continue
        part = g[_along(ax.axis, strip)]
        if mode == "replicate":  # every cell of the strip copies the one edge cell: dL/dx[edge] += Σ strip
            grad[_along(ax.axis, slice(src[0], src[0] + 1))] += part.sum(axis=ax.axis, keepdims=True)
        else:  # reflect/circular strips read distinct cells, so a fancy-index add is exact (no duplicates)
            grad[_along(ax.axis, src)] += part
    return grad


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant", value: float | None = 0.0) -> Tensor:  # noqa: A002
    """Pad (or, with negative entries, crop) the last len(pad)/2 dims; pad = (left, right, top, bottom, ...)."""
    x = as_tensor(input)
    pairs = _check_pad(x, pad, mode, value)
    axes = [_axis_pad(x.ndim - 1 - i, x.shape[x.ndim - 1 - i], left, right, mode, x.shape)
            for i, (left, right) in enumerate(pairs)]
    if mode == "constant":
        out = _pad_constant(x._data, axes, 0.0 if value is None else value)
    else:
        out = x._data
        for ax in axes:
            out = _gather_axis(out, ax)
        if not axes:
            out = out.copy()

    def backward(g: np.ndarray):
        if mode == "constant":  # the fill value has no gradient: dL/dx = g[centre], 0 on cropped-away cells
            inner, outer = _constant_slices(x.ndim, axes)
            if all(ax.a == 0 and ax.b == ax.n for ax in axes):
                return (g[outer],)
            grad = np.zeros(x.shape, dtype=g.dtype)
            grad[inner] = g[outer]
            return (grad,)
        for ax in reversed(axes):  # undo the axes in the reverse order of the forward
            g = _fold_axis(g, ax, mode)
        return (g,)

    return record(out, (x,), backward, "Pad")

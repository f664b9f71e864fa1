"""In-place ops: `t.add_(x)`, `t[i] = v`, `t.copy_(s)`, ... written into t's memory and recorded in the graph.

An in-place op is its out-of-place op applied to a *shadow* of t (a tensor with t's array, t's version counter
and t's current graph vertex), whose result is then copied into t's memory:

    res = op(shadow, ...)        the op's Node has edges to t's old value and to the other inputs
    t[...] = res; t.version += 1
    t's graph vertex ← res's Node

Should the op's backward read t's memory (`mul_` needs the old t when the other factor requires grad), the op
runs on a copy of the old values instead, so that the gradient is right. Should something else read the old
values later, the version check in `cnnkit.autograd` raises.

A view v of a base b (v = b[0], b.view(...)) shares b's memory: writing into v changes b. The base then gets
a `CopySlices` Node: its gradient outside v's region goes to b's old value, the region's gradient to the
in-place op's Node (PyTorch's rebase). Other views of b bring their graph up to date when next used
(`cnnkit.tensor.refresh_view`). The view's region inside b is found from the two arrays' memory addresses and
strides (`view_positions`), whatever chain of slicing, reshaping or transposing made it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnkit.autograd import Node, VersionCounter, holds_memory_of, is_grad_enabled, tensor_type_name, vertex
from cnnkit.ops.broadcast import unbroadcast
from cnnkit.tensor import Tensor, as_tensor, record, refresh_view


def apply(t: Tensor, op: Any, name: str) -> Tensor:
    """Write `op(shadow of t)` into t's memory, record it in the graph, and return t."""
    _check_writable(t, name)
    grad_mode = is_grad_enabled()
    if grad_mode:
        _check_leaf(t, name)
        if t._base is not None and t._view_version != t._vc.value:
            refresh_view(t)
    result = op(_shadow(t))
    node = result._node
    if node is not None and holds_memory_of(node.backward, t._data):
        result = op(_shadow(t, copy=True))  # the backward reads the old values: keep them in a copy
        node = result._node
    _write(t, result, name)
    t._vc.value += 1
    if node is not None:
        _rebase(t, result, node)
    return t


def _shadow(t: Tensor, copy: bool = False) -> Tensor:
    """A tensor standing for t's current value: t's array (or a copy), counter and graph vertex."""
    s = Tensor.__new__(Tensor)
    s._data = t._data.copy() if copy else t._data
    s.requires_grad = t.requires_grad
    s.grad = None
    s._node = t._node
    s._retains_grad = False
    s._vc = VersionCounter() if copy else t._vc
    s._base = None
    s._view_version = 0
    return s


def _check_writable(t: Tensor, name: str) -> None:
    if not t._data.flags.writeable:
        raise RuntimeError(
            f"{name}: unsupported operation: more than one element of the written-to tensor refers to a single "
            "memory location (an expand()ed tensor, or a read-only array). Please clone() the tensor before "
            "performing the operation."
        )


def _check_leaf(t: Tensor, name: str) -> None:
    if t._node is None and t.requires_grad:
        raise RuntimeError(f"{name}: a leaf Variable that requires grad is being used in an in-place operation "
                           "(wrap the update in `with cnnkit.no_grad():`)")
    base = t._base
    if base is not None and base._node is None and base.requires_grad:
        raise RuntimeError(f"{name}: a view of a leaf Variable that requires grad is being used in an in-place "
                           "operation (wrap the update in `with cnnkit.no_grad():`)")


def _write(t: Tensor, result: Tensor, name: str) -> None:
    if result.shape != t.shape:
        raise RuntimeError(f"{name}: output with shape {list(t.shape)} doesn't match the broadcast shape "
                           f"{list(result.shape)}")
    try:
        np.copyto(t._data, result._data, casting="same_kind")
    except TypeError:
        raise RuntimeError(f"{name}: result type {tensor_type_name(result._data)} can't be cast to the desired "
                           f"output type {tensor_type_name(t._data)}") from None


def _rebase(t: Tensor, result: Tensor, node: Node) -> None:
    """t's value is now the op's output: t's vertex becomes the op's Node (and its base's a CopySlices)."""
    if t._retains_grad:  # the retained gradient is the new value's
        if t._node is not None:
            t._node.retained = None
        node.retained = t
    t._node, t.requires_grad = node, True
    base = t._base
    if base is None:
        return
    t._view_version = t._vc.value
    positions = view_positions(t._data, base._data).ravel()
    view_shape = t.shape

    def backward(g: np.ndarray):  # outside the region: to the base's old value; inside: to the op
        flat = g.reshape(-1)
        rest = flat.copy()
        rest[positions] = 0
        return rest.reshape(g.shape), flat[positions].reshape(view_shape)

    base._node = Node("CopySlices", (base, result), backward, edges=(vertex(base), node))
    base.requires_grad = True
    base._view_version = base._vc.value


def view_positions(view: np.ndarray, base: np.ndarray) -> np.ndarray:
    """For each element of `view` (an array inside `base`'s memory), its flat C-order index in `base`.

    A buffer laid out in memory as `base` is, holding 0..base.size-1 in C order, read through the view's offset
    and strides gives the answer, for any slicing, reshaping or transposing that made the view.
    """
    if view.dtype.itemsize != base.dtype.itemsize:
        raise RuntimeError("in-place write into a view of another dtype is not supported")
    item = base.dtype.itemsize
    low = sum((n - 1) * s for n, s in zip(base.shape, base.strides, strict=True) if s < 0 and n > 0)
    high = sum((n - 1) * s for n, s in zip(base.shape, base.strides, strict=True) if s > 0 and n > 0)
    offset = _address(view) - _address(base)
    view_low = offset + sum((n - 1) * s for n, s in zip(view.shape, view.strides, strict=True) if s < 0 and n > 0)
    view_high = offset + sum((n - 1) * s for n, s in zip(view.shape, view.strides, strict=True) if s > 0 and n > 0)
    if view.size and (view_low < low or view_high > high or offset % item):
        raise RuntimeError("in-place write through a view whose memory is no longer its base's (was the base's "
                           "`.data` replaced?); write into a clone() instead")
    span = (high - low) // item + 1
    buffer = np.zeros(span, dtype=np.intp)
    layout = np.lib.stride_tricks.as_strided(buffer[(-low) // item:], base.shape,
                                             tuple(s // item * buffer.itemsize for s in base.strides))
    layout[...] = np.arange(base.size, dtype=np.intp).reshape(base.shape)
    start = (offset - low) // item
    strides = tuple(s // item * buffer.itemsize for s in view.strides)
    return np.lib.stride_tricks.as_strided(buffer[start:], view.shape, strides).copy()


def _address(array: np.ndarray) -> int:
    return array.__array_interface__["data"][0]


# ------------------------------------------------------------------------------------------------ the ops
def copy_(t: Tensor, src: Any) -> Tensor:
    """t ← src (broadcast to t's shape, cast to t's dtype); the gradient goes to src, none to t's old value."""
    return apply(t, lambda s: _copy(s, src), "copy_")


def _copy(old: Tensor, src: Any) -> Tensor:
    src = as_tensor(src, like=old)
    try:
        out = np.empty_like(old._data)
        out[...] = src._data
    except ValueError:
        raise RuntimeError(f"copy_: the source of shape {list(src.shape)} cannot be broadcast to the destination's "
                           f"shape {list(old.shape)}") from None
    old_shape, old_dtype, src_shape, src_float = old.shape, old.dtype, src.shape, src.dtype.kind == "f"

    def backward(g: np.ndarray):  # d out/d old = 0 (PyTorch gives the old value a zero gradient), d out/d src = 1
        return np.zeros(old_shape, dtype=old_dtype), (unbroadcast(g, src_shape) if src_float else None)

    return record(out, (old, src), backward, "Copy")


def setitem(t: Tensor, index: Any, value: Any) -> None:
    """t[index] = value: a basic index writes through a view of t; an advanced or boolean one is an index_put."""
    from cnnkit.ops.shape import _is_basic, _plain, index_put

    index = _plain(index)
    if _is_basic(index):
        copy_(t[index], value)
    else:
        apply(t, lambda s: index_put(s, index, value), "index_put_")


def random_like(t: Tensor, kind: str, a: Any, b: Any, generator: Any = None) -> np.ndarray:
    """Random values of t's shape and dtype from cnnkit's seeded generator (or `generator`)."""
    from cnnkit.random import default_generator

    rng = default_generator() if generator is None else getattr(generator, "rng", generator)
    if kind == "normal":
        values = rng.standard_normal(t.shape, dtype=np.float32) * np.float32(b) + np.float32(a)
    elif kind == "uniform":
        values = rng.random(t.shape, dtype=np.float32) * np.float32(b - a) + np.float32(a)
    else:
        p = a._data if isinstance(a, Tensor) else a
        values = rng.random(t.shape, dtype=np.float32) < p
    return values.astype(t.dtype, copy=False)

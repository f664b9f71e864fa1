"""Shape ops: reshape, flatten, permute, squeeze/unsqueeze, expand, repeat, indexing, cat/stack, split.

They move elements without changing them, so each backward moves the gradient back the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from cnnkit.ops.broadcast import unbroadcast
from cnnkit.tensor import Tensor, as_tensor, record


def reshape(x: Tensor, shape: tuple[int, ...]) -> Tensor:
    try:
        out = x._data.reshape(shape)
    except ValueError:
        raise ValueError(f"reshape: cannot reshape a tensor of shape {x.shape} ({x._data.size} elements) "
                         f"into {tuple(shape)}") from None
    x_shape = x.shape
    return record(out, (x,), lambda g: (g.reshape(x_shape),), "Reshape")


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims start_dim..end_dim (inclusive) into one."""
    if x.ndim == 0:
        return reshape(x, (1,))
    start, end = start_dim % x.ndim, end_dim % x.ndim
    if start > end:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for shape {x.shape}")
    shape = x.shape[:start] + (int(np.prod(x.shape[start : end + 1])),) + x.shape[end + 1 :]
    return reshape(x, shape)


def permute(x: Tensor, dims: Sequence[int]) -> Tensor:
    dims = tuple(int(d) % max(x.ndim, 1) for d in dims)
    if sorted(dims) != list(range(x.ndim)):
        raise ValueError(f"permute: dims {tuple(dims)} are not a permutation of the {x.ndim} dims of {x.shape}")
    inverse = tuple(np.argsort(dims))
    return record(x._data.transpose(dims), (x,), lambda g: (g.transpose(inverse),), "Permute")


def squeeze(x: Tensor, dim: int | None = None) -> Tensor:
    if dim is None:
        shape = tuple(n for n in x.shape if n != 1)
    else:
        d = dim % max(x.ndim, 1)
        shape = x.shape if x.ndim == 0 or x.shape[d] != 1 else x.shape[:d] + x.shape[d + 1 :]
    return reshape(x, shape)


def unsqueeze(x: Tensor, dim: int) -> Tensor:
    d = dim % (x.ndim + 1)
    return reshape(x, x.shape[:d] + (1,) + x.shape[d:])


def expand(x: Tensor, sizes: tuple[int, ...]) -> Tensor:
    """Broadcast to `sizes` (−1 keeps a dim); backward sums over the stretched axes."""
    lead = len(sizes) - x.ndim
    target = tuple(x.shape[i - lead] if n == -1 else n for i, n in enumerate(sizes))
    out = np.broadcast_to(x._data, target)
    x_shape = x.shape
    return record(out, (x,), lambda g: (unbroadcast(g, x_shape),), "Expand")


def repeat(x: Tensor, repeats: tuple[int, ...]) -> Tensor:
    """Tile x; the gradient of each copy is summed back into the original."""
    lead = len(repeats) - x.ndim
    base = (1,) * lead + x.shape
    out = np.tile(x._data.reshape(base), repeats)
    x_shape = x.shape

    def backward(g: np.ndarray):
        split = []
        for r, n in zip(repeats, base, strict=True):
            split += [r, n]
        return (g.reshape(split).sum(axis=tuple(range(0, len(split), 2))).reshape(x_shape),)

    return record(out, (x,), backward, "Repeat")


def _is_basic(index: Any) -> bool:
    """True for indices of ints, slices, None and Ellipsis only (NumPy returns a view, no duplicates)."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(isinstance(p, (int, np.integer, slice)) or p is None or p is Ellipsis for p in parts)


def _plain(index: Any) -> Any:
    if isinstance(index, tuple):
        return tuple(_plain(i) for i in index)
    if isinstance(index, Tensor):
        return index._data
    if isinstance(index, list):
        return np.asarray(index)
    return index


def getitem(x: Tensor, index: Any) -> Tensor:
    """x[index]: a basic index (ints, slices, None, ...) gives a view sharing x's memory, as in PyTorch."""
    index = _plain(index)
    basic = _is_basic(index)
    if basic:  # a trailing Ellipsis makes NumPy return a 0-d view rather than a scalar copy for x[0] of 1-d x
        parts = index if isinstance(index, tuple) else (index,)
        index = parts if any(p is Ellipsis for p in parts) else parts + (Ellipsis,)
    try:
        out = np.asarray(x._data[index])
    except IndexError as err:
        raise IndexError(f"index into a tensor of shape {x.shape}: {err}") from None
    shape, dtype = x.shape, x.dtype

    def backward(g: np.ndarray):
        if basic:
            grad = np.zeros(shape, dtype=dtype)
            grad[index] = g
            return (grad,)
        # Advanced indexing may select an element twice: sum the gradients of its copies by flat position.
        size = int(np.prod(shape))
        positions = np.arange(size).reshape(shape)[index]
        flat = np.bincount(positions.ravel(), weights=g.ravel(), minlength=size)
        return (flat.astype(dtype).reshape(shape),)

    return record(out, (x,), backward, "Index")


def index_put(x: Tensor, index: Any, value: Any) -> Tensor:
    """A copy of x with x[index] = value (value broadcast as NumPy does); PyTorch's `index_put`.

    Gradients: x's is the output's with the written positions zeroed; value's is the output's at the written
    positions, summed over the dims value was broadcast along.
    """
    index = _plain(index)
    value = as_tensor(value, like=x)
    out = x._data.copy()
    try:
        out[index] = value._data
    except (IndexError, ValueError) as err:
        raise IndexError(f"index_put into a tensor of shape {x.shape}: {err}") from None
    value_shape, value_float = value.shape, value.dtype.kind == "f"

    def backward(g: np.ndarray):
        gx = g.copy()
        gx[index] = 0
        if not value_float:
            return gx, None
        picked = g[index]
        if picked.ndim < len(value_shape):  # value had leading 1-dims that NumPy dropped
            picked = picked.reshape((1,) * (len(value_shape) - picked.ndim) + picked.shape)
        return gx, unbroadcast(picked, value_shape)

    return record(out, (x, value), backward, "IndexPut")


def _check_same_rank(op: str, tensors: Sequence[Tensor]) -> None:
    if not tensors:
        raise ValueError(f"{op}: expected a non-empty list of tensors")


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    tensors = [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]
    _check_same_rank("cat", tensors)
    axis = dim % tensors[0].ndim
    first = tensors[0]
    for t in tensors[1:]:
        if t.ndim != first.ndim or t.shape[:axis] + t.shape[axis + 1 :] != first.shape[:axis] + first.shape[axis + 1 :]:
            raise ValueError(f"cat: shapes {first.shape} and {t.shape} differ outside dim {dim}")
    out = np.concatenate([t._data for t in tensors], axis=axis)
    bounds = np.cumsum([t.shape[axis] for t in tensors])[:-1]

    def backward(g: np.ndarray):
        return tuple(np.split(g, bounds, axis=axis))

    return record(out, tensors, backward, "Cat")


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    tensors = [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]
    _check_same_rank("stack", tensors)
    for t in tensors[1:]:
        if t.shape != tensors[0].shape:
            raise ValueError(f"stack: every tensor must have the same shape, got {tensors[0].shape} and {t.shape}")
    axis = dim % (tensors[0].ndim + 1)
    out = np.stack([t._data for t in tensors], axis=axis)

    def backward(g: np.ndarray):
        return tuple(np.moveaxis(g, axis, 0))

    return record(out, tensors, backward, "Stack")


def split(x: Tensor, split_size: int | Sequence[int], dim: int = 0) -> list[Tensor]:
    """Pieces of `split_size` along dim (the last may be smaller), or of the listed sizes."""
    axis = dim % x.ndim
    n = x.shape[axis]
    sizes = [split_size] * (n // split_size) + ([n % split_size] if n % split_size else []) \
        if isinstance(split_size, int) else list(split_size)
    if sum(sizes) != n:
        raise ValueError(f"split: sizes {sizes} do not add up to {n} along dim {dim}")
    pieces, start = [], 0
    for size in sizes:
        index = (slice(None),) * axis + (slice(start, start + size),)
        pieces.append(getitem(x, index))
        start += size
    return pieces


def chunk(x: Tensor, chunks: int, dim: int = 0) -> list[Tensor]:
    n = x.shape[dim % x.ndim]
    return split(x, -(-n // chunks), dim)


def clone(x: Tensor) -> Tensor:
    return record(x._data.copy(), (x,), lambda g: (g,), "Clone")

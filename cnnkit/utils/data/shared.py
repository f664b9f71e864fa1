"""Moving a worker's batch to the main process through one shared-memory block, not pickled array by array.

`pack(batch)` walks the batch (Tensors, arrays, and the lists / tuples / dicts around them), lays every array
out in one `multiprocessing.shared_memory` block (each at a 64-byte aligned offset) and returns a small
skeleton: the batch with each array replaced by a `Slot` (offset, dtype, shape, Tensor or ndarray). Only the
skeleton and the block's name travel through the worker's result pipe. `unpack` copies the arrays out of the block
(one memcpy each), rebuilds the batch and unlinks the block. The worker stops tracking the block once sent,
so its owner is the main process; `discard` unlinks a block that will never be read (shutdown, errors).
"""

from __future__ import annotations

import collections.abc
from multiprocessing import resource_tracker, shared_memory
from typing import Any, NamedTuple

import numpy as np

from cnnkit.tensor import Tensor

ALIGN = 64


class Slot(NamedTuple):
    offset: int
    dtype: str
    shape: tuple[int, ...]
    is_tensor: bool


def collect(obj: Any, arrays: list[np.ndarray]) -> Any:
    """The skeleton of obj; its arrays appended to `arrays` in walk order."""
    if isinstance(obj, Tensor) or (isinstance(obj, np.ndarray) and obj.dtype.kind not in "OV"):
        array = obj.data if isinstance(obj, Tensor) else obj
        arrays.append(array)
        return Slot(-1, array.dtype.str, array.shape, isinstance(obj, Tensor))
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return type(obj)(*(collect(o, arrays) for o in obj))
    if isinstance(obj, list | tuple):
        return type(obj)(collect(o, arrays) for o in obj)
    if isinstance(obj, collections.abc.Mapping):
        items = {k: collect(v, arrays) for k, v in obj.items()}
        try:
            return type(obj)(items)
        except TypeError:
            return items
    return obj


def place(skeleton: Any, offsets: list[int], counter: list[int]) -> Any:
    """The skeleton with each Slot's offset filled in, in the same walk order as `collect`."""
    if isinstance(skeleton, Slot):
        offset = offsets[counter[0]]
        counter[0] += 1
        return skeleton._replace(offset=offset)
    if isinstance(skeleton, tuple) and hasattr(skeleton, "_fields"):
        return type(skeleton)(*(place(s, offsets, counter) for s in skeleton))
    if isinstance(skeleton, list | tuple):
        return type(skeleton)(place(s, offsets, counter) for s in skeleton)
    if isinstance(skeleton, dict):
        return type(skeleton)({k: place(v, offsets, counter) for k, v in skeleton.items()})
    return skeleton


def pack(batch: Any) -> tuple[Any, str | None]:
    """(skeleton, name of the shared block holding the batch's arrays, or None when it has none)."""
    arrays: list[np.ndarray] = []
    skeleton = collect(batch, arrays)
    if not arrays:
        return skeleton, None
    offsets, total = [], 0
    for array in arrays:
        offsets.append(total)
        total += -(-array.nbytes // ALIGN) * ALIGN
    block = shared_memory.SharedMemory(create=True, size=max(total, 1))
    try:
        for array, offset in zip(arrays, offsets, strict=True):
            view = np.ndarray(array.shape, dtype=array.dtype, buffer=block.buf, offset=offset)
            view[...] = array
            del view
        name = block.name
    finally:
        block.close()
    resource_tracker.unregister(block._name, "shared_memory")  # the main process owns (and unlinks) it from here
    return place(skeleton, offsets, [0]), name


def rebuild(skeleton: Any, buffer: memoryview) -> Any:
    if isinstance(skeleton, Slot):
        array = np.ndarray(skeleton.shape, dtype=np.dtype(skeleton.dtype), buffer=buffer,
                           offset=skeleton.offset).copy()
        return Tensor(array, dtype=array.dtype) if skeleton.is_tensor else array
    if isinstance(skeleton, tuple) and hasattr(skeleton, "_fields"):
        return type(skeleton)(*(rebuild(s, buffer) for s in skeleton))
    if isinstance(skeleton, list | tuple):
        return type(skeleton)(rebuild(s, buffer) for s in skeleton)
    if isinstance(skeleton, dict):
        return type(skeleton)({k: rebuild(v, buffer) for k, v in skeleton.items()})
    return skeleton


def unpack(skeleton: Any, name: str | None) -> Any:
    """The batch, its arrays copied out of the shared block, which is then unlinked."""
    if name is None:
        return skeleton
    block = shared_memory.SharedMemory(name=name)
    try:
        return rebuild(skeleton, block.buf)
    finally:
        block.close()
        block.unlink()


def discard(name: str | None) -> None:
    """Unlink a block that will not be read."""
    if name is None:
        return
    try:
        block = shared_memory.SharedMemory(name=name)
    except FileNotFoundError:
        return
    block.close()
    block.unlink()

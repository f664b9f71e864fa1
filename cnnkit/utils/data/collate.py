"""`default_collate` and `default_convert`: a list of dataset items → one batch, with torch's rules.

default_collate, by the type of the first item:
    Tensor or ndarray → stacked along a new first dim, dtype kept (float64 arrays stay float64)
    float → float64 Tensor (B,);  int / bool → int64 / bool Tensor (B,);  NumPy scalar → Tensor of its dtype
    str / bytes → the list unchanged;  Mapping → {key: collate(values)};  namedtuple → its type of collated fields
    other sequences → each position collated (a tuple becomes a list, as torch's)
default_convert (batch_size=None: no batching) turns arrays into Tensors and leaves the rest.
"""

from __future__ import annotations

import collections.abc
from collections.abc import Sequence
from typing import Any

import numpy as np

from cnnkit.tensor import Tensor

ERROR = "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"


def stack_arrays(arrays: list[np.ndarray], what: str) -> np.ndarray:
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        first = arrays[0].shape
        odd = next(i for i, a in enumerate(arrays) if a.shape != first)
        raise RuntimeError(f"default_collate: stack expects each {what} to be equal size, but got {first} at "
                           f"entry 0 and {arrays[odd].shape} at entry {odd}")
    return np.stack(arrays)


def collate_tensors(batch: Sequence[Tensor]) -> Tensor:
    if any(t.requires_grad for t in batch):
        from cnnkit.ops.shape import stack

        return stack(list(batch), 0)
    stacked = stack_arrays([t.numpy() for t in batch], "tensor")
    return Tensor(stacked, dtype=stacked.dtype)


def collate_mapping(batch: Sequence[Any], elem: collections.abc.Mapping) -> Any:
    collated = {key: default_collate([d[key] for d in batch]) for key in elem}
    try:
        return type(elem)(collated)
    except TypeError:  # a mapping type whose constructor takes something else
        return collated


def collate_sequence(batch: Sequence[Any], elem: Sequence) -> Any:
    size = len(elem)
    if any(len(e) != size for e in batch):
        raise RuntimeError("default_collate: each element in list of batch should be of equal size")
    columns = [default_collate(list(samples)) for samples in zip(*batch, strict=True)]
    if isinstance(elem, tuple):
        return columns  # torch returns a list for tuples (backwards compatibility)
    try:
        return type(elem)(columns)
    except TypeError:
        return columns


def default_collate(batch: Sequence[Any]) -> Any:
    """Collate a list of items into a batch (see the module docstring for the rules)."""
    elem = batch[0]
    if isinstance(elem, Tensor):
        return collate_tensors(batch)
    if isinstance(elem, np.ndarray) and elem.dtype.kind not in "OSUV":
        stacked = stack_arrays([np.asarray(e) for e in batch], "array")
        return Tensor(stacked, dtype=stacked.dtype)
    if isinstance(elem, np.generic) and elem.dtype.kind not in "OSUV":
        array = np.array(batch)
        return Tensor(array, dtype=array.dtype)
    if isinstance(elem, bool):
        return Tensor(np.array(batch, dtype=np.bool_), dtype=np.bool_)
    if isinstance(elem, int):
        return Tensor(np.array(batch, dtype=np.int64), dtype=np.int64)
    if isinstance(elem, float):
        return Tensor(np.array(batch, dtype=np.float64), dtype=np.float64)
    if isinstance(elem, str | bytes):
        return list(batch)
    if isinstance(elem, collections.abc.Mapping):
        return collate_mapping(batch, elem)
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return type(elem)(*(default_collate(list(samples)) for samples in zip(*batch, strict=True)))
    if isinstance(elem, collections.abc.Sequence):
        return collate_sequence(batch, elem)
    raise TypeError(ERROR.format(type(elem)))


def default_convert(data: Any) -> Any:
    """Arrays → Tensors, recursively through mappings and sequences; everything else unchanged."""
    if isinstance(data, np.ndarray) and data.dtype.kind not in "OSUV":
        return Tensor(data, dtype=data.dtype)
    if isinstance(data, np.generic) and data.dtype.kind not in "OSUV":
        return Tensor(np.asarray(data), dtype=data.dtype)
    if isinstance(data, collections.abc.Mapping):
        converted = {key: default_convert(value) for key, value in data.items()}
        try:
            return type(data)(converted)
        except TypeError:
            return converted
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, str | bytes):
        try:
            return type(data)([default_convert(d) for d in data])
        except TypeError:
            return [default_convert(d) for d in data]
    return data

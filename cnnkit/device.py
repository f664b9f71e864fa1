"""Devices, as a CPU-only build of PyTorch has them: `cnnkit.device("cpu")` is the one device.

Scripts written for a GPU pick their device with `cuda.is_available()`, which is False here, so they run on the
CPU unchanged. Asking for another device by name ("cuda", "cuda:0", "mps", ...) raises one clear error.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_NO_GPU = ("cnnkit runs on the CPU only (NumPy): there is no {kind} device. Use device='cpu', or pick the "
           "device with cnnkit.cuda.is_available() (False). To scale out, train data-parallel over several "
           "processes with cnnkit.distributed.")


class DeviceUnavailableError(RuntimeError, ValueError):
    """Raised for any device but the CPU (a RuntimeError as PyTorch's, and a ValueError for older callers)."""


class device:  # noqa: N801 - PyTorch's name
    """A device: `device("cpu")`, `device("cpu", 0)`, `device("cpu:0")`; any other type raises."""

    __slots__ = ("type", "index")

    def __init__(self, type: Any, index: int | None = None) -> None:  # noqa: A002 - PyTorch's name
        if isinstance(type, device):
            type, index = type.type, type.index
        if isinstance(type, (int, np.integer)) and not isinstance(type, bool):
            raise DeviceUnavailableError(_NO_GPU.format(kind=f"'cuda:{type}'"))
        if not isinstance(type, str):
            raise TypeError(f"device(): expected a string such as 'cpu', got {type!r}")
        name, _, number = type.partition(":")
        if name != "cpu":
            raise DeviceUnavailableError(_NO_GPU.format(kind=repr(type)))
        if number:
            index = int(number)
        object.__setattr__(self, "type", "cpu")
        object.__setattr__(self, "index", None if index is None else int(index))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("a device is immutable")

    def __repr__(self) -> str:
        return "device(type='cpu')" if self.index is None else f"device(type='cpu', index={self.index})"

    def __str__(self) -> str:
        return "cpu" if self.index is None else f"cpu:{self.index}"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __reduce__(self) -> Any:
        return device, (self.type, self.index)


CPU = device("cpu")


def check_device(value: Any) -> None:
    """Accept None, 'cpu' or a cpu device (what every factory's `device=` takes); raise for anything else."""
    if value is not None:
        device(value)


def _is_dtype(value: Any) -> bool:
    if isinstance(value, str):
        try:
            np.dtype(value)
        except TypeError:
            return False
        return True
    try:
        np.dtype(value)
    except TypeError:
        return False
    return not isinstance(value, (int, float))


def parse_to_args(where: str, args: tuple, kwargs: dict, like: Any = None) -> tuple[Any, bool]:
    """The dtype and `copy` flag of a `.to(...)` call in any of PyTorch's forms; the device is checked and dropped.

    Forms: to(dtype), to(device), to(device, dtype), to(tensor), to(device=..., dtype=..., non_blocking=...,
    copy=..., memory_format=...).
    """
    from cnnkit.tensor import Tensor

    kwargs = dict(kwargs)
    dtype = kwargs.pop("dtype", None)
    check_device(kwargs.pop("device", None))
    copy = bool(kwargs.pop("copy", False))
    kwargs.pop("non_blocking", None)
    from cnnkit.memory_format import check_memory_format

    check_memory_format(kwargs.pop("memory_format", None), where)
    if kwargs:
        raise TypeError(f"{where}() got unexpected keyword arguments {sorted(kwargs)}")
    positional = list(args)
    if positional and isinstance(positional[0], Tensor):
        dtype = positional.pop(0).dtype
    elif positional and (isinstance(positional[0], (device, int)) and not isinstance(positional[0], bool)
                         or isinstance(positional[0], str) and not _is_dtype(positional[0])):
        check_device(positional.pop(0))
    if positional and not isinstance(positional[0], bool):
        dtype = positional.pop(0)
    if positional:  # non_blocking, copy
        positional.pop(0)
        if positional:
            copy = bool(positional.pop(0))
    return dtype, copy

"""Memory formats, PyTorch's names: `channels_last`, `contiguous_format`, `preserve_format`.

cnnkit's layout is internal: every kernel takes an (N, C, H, W) array and chooses its own working layout, so a
memory format is accepted wherever PyTorch accepts one (`Tensor.to`, `Tensor.contiguous`, `Module.to`, the
`*_like` constructors) and changes neither the values nor the shape. Anything else passed as a memory format
raises, so a typo is not silently ignored.
"""

from __future__ import annotations

from typing import Any


class memory_format:  # noqa: N801 - PyTorch's name
    """One of PyTorch's memory formats; it only names the layout (see the module docstring)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"torch.{self.name}"


contiguous_format = memory_format("contiguous_format")
channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")
preserve_format = memory_format("preserve_format")


def check_memory_format(value: Any, where: str) -> None:
    """Accept None or one of the formats above; raise a TypeError naming `where` for anything else."""
    if value is not None and not isinstance(value, memory_format):
        raise TypeError(f"{where}(): memory_format must be a cnnkit memory format (cnnkit.channels_last, "
                        f"cnnkit.contiguous_format, ...), got {value!r}")

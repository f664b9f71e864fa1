"""Layers that only move or resample values: `Flatten`, `Unflatten`, `Identity`, `Upsample`, the 2-D pads
(`ZeroPad2d`, `ConstantPad2d`, `ReflectionPad2d`, `ReplicationPad2d`) and `PixelShuffle` / `PixelUnshuffle`.

Pads take PyTorch's order: an int, or (left, right, top, bottom).
"""

from __future__ import annotations

import math
from typing import Any

import cnnkit.nn.functional as F
from cnnkit.nn.module import Module
from cnnkit.tensor import Tensor


def _dim_in_range(dim: int, ndim: int) -> bool:
    return -ndim <= dim < ndim


class Identity(Module):
    """Returns its input unchanged; accepts and ignores any constructor arguments, as PyTorch's."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002 - PyTorch's name
        return input


class Flatten(Module):
    """Merge dims start_dim..end_dim into one: (N, C, H, W) → (N, C·H·W) with the defaults."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        ndim = max(input.ndim, 1)
        if not (_dim_in_range(self.start_dim, ndim) and _dim_in_range(self.end_dim, ndim)):
            raise self._input_error(f"expected input with dimensions {self.start_dim} and {self.end_dim}, "
                                    f"got shape {input.shape}")
        if self.start_dim % ndim > self.end_dim % ndim:
            raise self._input_error(f"start_dim cannot come after end_dim for input of shape {input.shape}")
        return input.flatten(self.start_dim, self.end_dim)


class Unflatten(Module):
    """Split dim into unflattened_size: (N, 400) → (N, 16, 5, 5) with Unflatten(1, (16, 5, 5)); one size may be -1."""

    def __init__(self, dim: int, unflattened_size: tuple[int, ...] | list[int]) -> None:
        super().__init__()
        if not isinstance(unflattened_size, (tuple, list)) or not all(isinstance(s, int) for s in unflattened_size):
            raise TypeError(f"Unflatten: unflattened_size must be a tuple or list of ints, got {unflattened_size!r}")
        self.dim = dim
        self.unflattened_size = unflattened_size

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        if not _dim_in_range(self.dim, input.ndim):
            raise self._input_error(f"expected input with dimension {self.dim}, got shape {input.shape}")
        size = input.shape[self.dim]
        known = math.prod(s for s in self.unflattened_size if s != -1)
        unknown = sum(1 for s in self.unflattened_size if s == -1)
        if unknown > 1 or (unknown == 0 and known != size) or (unknown == 1 and (known == 0 or size % known)):
            raise self._input_error(f"expected dimension {self.dim} to unflatten into {tuple(self.unflattened_size)}, "
                                    f"got shape {input.shape}")
        return input.unflatten(self.dim, tuple(self.unflattened_size))


class Upsample(Module):
    """Resize (N, C, H, W) input to `size` or by `scale_factor` with `functional.interpolate` (nearest, bilinear)."""

    def __init__(self, size: int | tuple[int, int] | None = None,
                 scale_factor: float | tuple[float, float] | None = None, mode: str = "nearest",
                 align_corners: bool | None = None, recompute_scale_factor: bool | None = None) -> None:
        super().__init__()
        self.name = type(self).__name__
        self.size = size
        if isinstance(scale_factor, tuple):
            self.scale_factor: Any = tuple(float(f) for f in scale_factor)
        else:
            self.scale_factor = float(scale_factor) if scale_factor else None
        self.mode = mode
        self.align_corners = align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def extra_repr(self) -> str:
        info = f"scale_factor={self.scale_factor!r}" if self.scale_factor is not None else f"size={self.size!r}"
        return info + f", mode={self.mode!r}"

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        if input.ndim != 4:
            raise self._input_error(f"expected input of shape (N, C, H, W), got {input.shape}")
        return F.interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners)


def _quad(padding: int | tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """(left, right, top, bottom) from an int or a 4-tuple."""
    if isinstance(padding, int):
        return (padding, padding, padding, padding)
    quad = tuple(int(p) for p in padding)
    if len(quad) != 4:
        raise ValueError(f"2-D padding must be an int or a 4-tuple (left, right, top, bottom), got {padding!r}")
    return quad  # type: ignore[return-value]


class _Pad2d(Module):
    """Shared 2-D pad: checks the rank (and, for reflection, that each pad is smaller than its dim)."""

    _mode = "constant"

    def __init__(self, padding: int | tuple[int, int, int, int]) -> None:
        super().__init__()
        self.padding = _quad(padding)

    def extra_repr(self) -> str:
        return f"{self.padding}"

    def _check_input(self, input: Tensor) -> None:  # noqa: A002
        if input.ndim not in (3, 4):
            raise self._input_error(f"expected input of shape (N, C, H, W) or (C, H, W), got {input.shape}")
        if self._mode == "reflect":
            left, right, top, bottom = self.padding
            if max(left, right) >= input.shape[-1] or max(top, bottom) >= input.shape[-2]:
                raise self._input_error(f"expected each padding to be smaller than the padded dimension, "
                                        f"got input shape {input.shape}")
        if self._mode == "replicate" and 0 in input.shape[-2:]:
            raise self._input_error(f"expected a non-empty input to replicate, got shape {input.shape}")

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        self._check_input(input)
        return F.pad(input, self.padding, mode=self._mode)


class ConstantPad2d(_Pad2d):
    """Pad with a constant value."""

    def __init__(self, padding: int | tuple[int, int, int, int], value: float) -> None:
        super().__init__(padding)
        self.value = value

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        self._check_input(input)
        return F.pad(input, self.padding, mode="constant", value=self.value)


class ZeroPad2d(ConstantPad2d):
    """Pad with zeros."""

    def __init__(self, padding: int | tuple[int, int, int, int]) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ReflectionPad2d(_Pad2d):
    """Pad with the mirror image of the input, not repeating the edge: [1 2 3] → [3 2 1 2 3 2 1]."""

    _mode = "reflect"


class ReplicationPad2d(_Pad2d):
    """Pad by repeating the edge values: [1 2 3] → [1 1 1 2 3 3 3]."""

    _mode = "replicate"


class PixelShuffle(Module):
    """(N, C·r², H, W) → (N, C, H·r, W·r): rearranges channels into r×r spatial blocks (sub-pixel convolution)."""

    def __init__(self, upscale_factor: int) -> None:
        super().__init__()
        self.upscale_factor = upscale_factor

    def extra_repr(self) -> str:
        return f"upscale_factor={self.upscale_factor}"

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return F.pixel_shuffle(input, self.upscale_factor)


class PixelUnshuffle(Module):
    """(N, C, H·r, W·r) → (N, C·r², H, W): the inverse of PixelShuffle."""

    def __init__(self, downscale_factor: int) -> None:
        super().__init__()
        self.downscale_factor = downscale_factor

    def extra_repr(self) -> str:
        return f"downscale_factor={self.downscale_factor}"

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return F.pixel_unshuffle(input, self.downscale_factor)

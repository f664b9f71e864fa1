"""Pooling layers: `MaxPool2d`, `AvgPool2d`, `AdaptiveAvgPool2d`, `AdaptiveMaxPool2d` over NCHW (or CHW) input.

The layers keep their arguments as given (PyTorch's repr shows `kernel_size=2`, not `(2, 2)`), check the
input's rank and that the window fits, and call `cnnkit.nn.functional`.
"""

from __future__ import annotations

from typing import Any

import cnnkit.nn.functional as F
from cnnkit.nn.layers.conv import _pair
from cnnkit.nn.module import Module
from cnnkit.tensor import Tensor


def _check_rank(layer: Module, input: Tensor) -> None:  # noqa: A002
    if input.ndim not in (3, 4):
        raise layer._input_error(f"expected input of shape (N, C, H, W) or (C, H, W), got {input.shape}")


def _check_window(layer: Module, input: Tensor, kernel_size: Any, padding: Any, dilation: Any = 1) -> None:  # noqa: A002
    """The (dilated) window must fit in the padded input, else the output would be empty."""
    (kh, kw), (ph, pw), (dh, dw) = _pair(kernel_size), _pair(padding), _pair(dilation)
    height, width = input.shape[-2] + 2 * ph, input.shape[-1] + 2 * pw
    if dh * (kh - 1) + 1 > height or dw * (kw - 1) + 1 > width:
        raise layer._input_error(f"expected a padded input of at least ({dh * (kh - 1) + 1}, {dw * (kw - 1) + 1}) "
                                 f"pixels for the pooling window, got input shape {input.shape}")


def _batched(fn: Any, input: Tensor, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """Run a pooling functional on NCHW, adding and removing the batch axis for unbatched CHW input."""
    if input.ndim == 4:
        return fn(input, *args, **kwargs)
    out = fn(input.unsqueeze(0), *args, **kwargs)
    if isinstance(out, tuple):
        return tuple(o.squeeze(0) for o in out)
    return out.squeeze(0)


class MaxPool2d(Module):
    """Maximum over each kernel_size window (stride defaults to kernel_size); -inf padding, as PyTorch."""

    def __init__(self, kernel_size: int | tuple[int, int], stride: int | tuple[int, int] | None = None,
                 padding: int | tuple[int, int] = 0, dilation: int | tuple[int, int] = 1,
                 return_indices: bool = False, ceil_mode: bool = False) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None and stride != () else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")

    def forward(self, input: Tensor) -> Any:  # noqa: A002 - PyTorch's name
        _check_rank(self, input)
        if not self.ceil_mode:
            _check_window(self, input, self.kernel_size, self.padding, self.dilation)
        return _batched(F.max_pool2d, input, self.kernel_size, self.stride, self.padding, self.dilation,
                        ceil_mode=self.ceil_mode, return_indices=self.return_indices)


class AvgPool2d(Module):
    """Mean over each window; count_include_pad counts padded zeros in the divisor, divisor_override replaces it."""

    def __init__(self, kernel_size: int | tuple[int, int], stride: int | tuple[int, int] | None = None,
                 padding: int | tuple[int, int] = 0, ceil_mode: bool = False, count_include_pad: bool = True,
                 divisor_override: int | None = None) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None and stride != () else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        _check_rank(self, input)
        if not self.ceil_mode:
            _check_window(self, input, self.kernel_size, self.padding)
        return _batched(F.avg_pool2d, input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                        self.count_include_pad, self.divisor_override)


def _resolve_output_size(output_size: Any, input: Tensor) -> tuple[int, int]:  # noqa: A002
    """(oh, ow) from an int or a pair in which None means "the input's size along that dim"."""
    if output_size is None or isinstance(output_size, int):
        output_size = (output_size, output_size)
    oh, ow = output_size
    return (input.shape[-2] if oh is None else int(oh), input.shape[-1] if ow is None else int(ow))


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed output size, whatever the input size (None keeps that input dim)."""

    def __init__(self, output_size: int | tuple[int | None, int | None]) -> None:
        super().__init__()
        self.output_size = output_size

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        _check_rank(self, input)
        return _batched(F.adaptive_avg_pool2d, input, _resolve_output_size(self.output_size, input))


class AdaptiveMaxPool2d(Module):
    """Max pooling to a fixed output size; return_indices also returns the flat argmax per output pixel."""

    def __init__(self, output_size: int | tuple[int | None, int | None], return_indices: bool = False) -> None:
        super().__init__()
        self.output_size = output_size
        self.return_indices = return_indices

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"

    def forward(self, input: Tensor) -> Any:  # noqa: A002
        _check_rank(self, input)
        return _batched(F.adaptive_max_pool2d, input, _resolve_output_size(self.output_size, input),
                        self.return_indices)

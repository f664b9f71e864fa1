"""Convolution layers `Conv2d` and `ConvTranspose2d`: weights plus a call to `functional.conv2d` / `conv_transpose2d`.

Both take NCHW input (or unbatched CHW, as PyTorch) and are initialised as PyTorch's: weight from
kaiming_uniform_(a=√5), i.e. U(−1/√fan_in, 1/√fan_in), and bias from U(−1/√fan_in, 1/√fan_in).
"""

from __future__ import annotations

import math
from typing import Any

import cnnkit.nn.functional as F
from cnnkit import creation
from cnnkit.nn import init
from cnnkit.nn.module import Module
from cnnkit.nn.parameter import Parameter, register_weight_and_bias
from cnnkit.tensor import Tensor

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _pair(value: Any, name: str = "argument") -> tuple[int, int]:
    """(v, v) from an int, or a 2-tuple of ints as given."""
    if isinstance(value, int):
        return (value, value)
    pair = tuple(int(v) for v in value)
    if len(pair) != 2:
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
    return pair  # type: ignore[return-value]


def _reset_conv_parameters(weight: Parameter, bias: Parameter | None) -> None:
    """PyTorch's _ConvNd/Linear reset_parameters: kaiming_uniform_(a=√5) weight, U(±1/√fan_in) bias."""
    init.kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in, _ = init._calculate_fan_in_and_fan_out(weight)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        init.uniform_(bias, -bound, bound)


def _check_groups(layer: str, in_channels: int, out_channels: int, groups: int) -> None:
    if groups <= 0:
        raise ValueError(f"{layer}: groups must be a positive integer, got {groups}")
    if in_channels % groups != 0:
        raise ValueError(f"{layer}: in_channels must be divisible by groups, got {in_channels} and {groups}")
    if out_channels % groups != 0:
        raise ValueError(f"{layer}: out_channels must be divisible by groups, got {out_channels} and {groups}")


def _conv_extra_repr(layer: Any) -> str:
    """PyTorch's conv extra_repr: only non-default options are shown."""
    s = f"{layer.in_channels}, {layer.out_channels}, kernel_size={layer.kernel_size}, stride={layer.stride}"
    if layer.padding != (0, 0):
        s += f", padding={layer.padding}"
    if layer.dilation != (1, 1):
        s += f", dilation={layer.dilation}"
    if layer.output_padding != (0, 0):
        s += f", output_padding={layer.output_padding}"
    if layer.groups != 1:
        s += f", groups={layer.groups}"
    if layer.bias is None:
        s += ", bias=False"
    if layer.padding_mode != "zeros":
        s += f", padding_mode={layer.padding_mode}"
    return s


class Conv2d(Module):
    """2-D cross-correlation: out[n, f] = bias[f] + Σ_c weight[f, c] ⋆ input[n, c] (per group).

    `padding` may be an int, a pair, 'valid' (no padding) or 'same' (stride 1 only; an even effective
    kernel pads one more on the bottom/right, as PyTorch). `padding_mode` other than 'zeros' ('reflect',
    'replicate', 'circular') pads the input with `functional.pad` first, then convolves without padding.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, int],
                 stride: int | tuple[int, int] = 1, padding: str | int | tuple[int, int] = 0,
                 dilation: int | tuple[int, int] = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros") -> None:
        super().__init__()
        _check_groups("Conv2d", in_channels, out_channels, groups)
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"Conv2d: padding_mode must be one of {_PADDING_MODES}, got {padding_mode!r}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.stride = _pair(stride, "stride")
        self.dilation = _pair(dilation, "dilation")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"Conv2d: invalid padding string {padding!r}, should be one of ('valid', 'same')")
            if padding == "same" and self.stride != (1, 1):
                raise ValueError("Conv2d: padding='same' is not supported for strided convolutions")
            self.padding: str | tuple[int, int] = padding
        else:
            self.padding = _pair(padding, "padding")
        self.output_padding = (0, 0)
        self.groups = groups
        self.padding_mode = padding_mode
        register_weight_and_bias(self, creation.empty(out_channels, in_channels // groups, *self.kernel_size),
                                 creation.empty(out_channels) if bias else None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _reset_conv_parameters(self.weight, self.bias)

    def extra_repr(self) -> str:
        return _conv_extra_repr(self)

    def _pad_sides(self) -> tuple[int, int, int, int]:
        """(top, bottom, left, right) padding; 'same' splits d·(k−1) with the extra pixel at the end."""
        if self.padding == "valid":
            return (0, 0, 0, 0)
        if self.padding == "same":
            (dh, dw), (kh, kw) = self.dilation, self.kernel_size
            th, tw = dh * (kh - 1), dw * (kw - 1)
            return (th // 2, th - th // 2, tw // 2, tw - tw // 2)
        ph, pw = self.padding  # type: ignore[misc]
        return (ph, ph, pw, pw)

    def _check_input(self, input: Tensor, top: int, bottom: int, left: int, right: int) -> None:  # noqa: A002
        shape = input.shape
        if input.ndim not in (3, 4) or shape[-3] != self.in_channels:
            raise self._input_error(f"expected input of shape (N, {self.in_channels}, H, W), got {shape}")
        (dh, dw), (kh, kw) = self.dilation, self.kernel_size
        height, width = shape[-2] + top + bottom, shape[-1] + left + right
        if dh * (kh - 1) + 1 > height or dw * (kw - 1) + 1 > width:
            raise self._input_error(f"kernel ({dh * (kh - 1) + 1}, {dw * (kw - 1) + 1}) (dilated) is larger than "
                                    f"the padded input ({height}, {width}), input shape {shape}")

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002 - PyTorch's name
        top, bottom, left, right = self._pad_sides()
        self._check_input(input, top, bottom, left, right)
        if self.padding_mode == "zeros":  # the functional pads with zeros itself (and handles 'same'/'valid')
            return F.conv2d(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)
        x = input.unsqueeze(0) if input.ndim == 3 else input
        x = F.pad(x, (left, right, top, bottom), mode=self.padding_mode)
        out = F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)
        return out.squeeze(0) if input.ndim == 3 else out


class ConvTranspose2d(Module):
    """The gradient of Conv2d with respect to its input, used as a learnable upsampling.

    Output size per dim: (in − 1)·stride − 2·padding + dilation·(k − 1) + output_padding + 1; weight has
    shape (in_channels, out_channels / groups, kH, kW). `forward(input, output_size=None)` may ask for an
    output size, from which output_padding is derived, as in PyTorch.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, int],
                 stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0,
                 output_padding: int | tuple[int, int] = 0, groups: int = 1, bias: bool = True,
                 dilation: int | tuple[int, int] = 1, padding_mode: str = "zeros") -> None:
        super().__init__()
        _check_groups("ConvTranspose2d", in_channels, out_channels, groups)
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for ConvTranspose2d, got {padding_mode!r}')
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.stride = _pair(stride, "stride")
        self.padding = _pair(padding, "padding")
        self.dilation = _pair(dilation, "dilation")
        self.output_padding = _pair(output_padding, "output_padding")
        for op, s, d in zip(self.output_padding, self.stride, self.dilation, strict=True):
            if op >= s and op >= d:
                raise ValueError(f"ConvTranspose2d: output_padding must be smaller than either stride or dilation, "
                                 f"got output_padding={self.output_padding}, stride={self.stride}, "
                                 f"dilation={self.dilation}")
        self.groups = groups
        self.padding_mode = padding_mode
        register_weight_and_bias(self, creation.empty(in_channels, out_channels // groups, *self.kernel_size),
                                 creation.empty(out_channels) if bias else None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _reset_conv_parameters(self.weight, self.bias)

    def extra_repr(self) -> str:
        return _conv_extra_repr(self)

    def _output_padding(self, input: Tensor, output_size: Any) -> tuple[int, int]:  # noqa: A002
        """output_padding that yields output_size: it must lie in [min size, min size + stride − 1]."""
        if output_size is None:
            return self.output_padding
        size = tuple(int(s) for s in output_size)[-2:]
        if len(size) != 2:
            raise ValueError(f"{self._describe()}: output_size must have 2 or more elements, got {output_size}")
        result = []
        for i in range(2):
            dim = input.shape[-2 + i]
            smallest = ((dim - 1) * self.stride[i] - 2 * self.padding[i]
                        + self.dilation[i] * (self.kernel_size[i] - 1) + 1)
            if not smallest <= size[i] < smallest + self.stride[i]:
                raise ValueError(f"{self._describe()}: requested an output size of {size}, but valid sizes "
                                 f"for input {input.shape} range from ({smallest}) to "
                                 f"({smallest + self.stride[i] - 1}) in dim {i}")
            result.append(size[i] - smallest)
        return (result[0], result[1])

    def forward(self, input: Tensor, output_size: Any = None) -> Tensor:  # noqa: A002
        if input.ndim not in (3, 4) or input.shape[-3] != self.in_channels:
            raise self._input_error(f"expected input of shape (N, {self.in_channels}, H, W), got {input.shape}")
        output_padding = self._output_padding(input, output_size)
        x = input.unsqueeze(0) if input.ndim == 3 else input
        out = F.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding, output_padding,
                                 self.groups, self.dilation)
        return out.squeeze(0) if input.ndim == 3 else out

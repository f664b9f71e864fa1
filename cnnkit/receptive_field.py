"""`receptive_field(model, layer)`: which input pixels a unit of a layer can see, from the layers' geometry.

Walking the spatial layers in module order (`named_modules`) up to and including `layer`, each layer with
kernel k, stride s, padding p and dilation d (effective kernel k_eff = d·(k − 1) + 1) updates, per axis,

    size   r ← r + (k_eff − 1) · j        (how many input pixels one unit spans)
    jump   j ← j · s                      (input pixels between neighbouring units: the stride in input pixels)
    start  a ← a − p · j_before           (input coordinate of the first pixel of unit 0's field)

starting from r = 1, j = 1, a = 0 at the input. Unit (row, col) then sees input rows a + row·j … a + row·j + r − 1
(`ReceptiveField.box`); a negative start or a box past the edge reaches into the padding.

Counted: Conv2d, MaxPool2d, AvgPool2d and the padding layers (ZeroPad2d, ConstantPad2d, ReflectionPad2d,
ReplicationPad2d, which only move the start). Layers that keep the grid (activations, BatchNorm, dropout) are
passed over; a pooling layer's ceil_mode only adds units at the end and moves no field. A layer that changes the
grid in a way a box cannot follow (Linear, Flatten, adaptive pooling, Upsample, ConvTranspose2d) before or at
`layer` is refused with an error naming it.

The walk treats the layers as one chain in module order, which is exact for chain models (LeNet, AlexNet, VGG).
In a network with parallel branches (ResNet's strided 1×1 `downsample` shortcuts) every counted layer is taken
as in series, so the field comes out larger and the jump coarser than the true ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cnnkit import nn

_SPATIAL = (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)
_PADS = (nn.ZeroPad2d, nn.ConstantPad2d, nn.ReflectionPad2d, nn.ReplicationPad2d)
_GRID_BREAKERS = (
    nn.Linear,
    nn.Flatten,
    nn.AdaptiveAvgPool2d,
    nn.AdaptiveMaxPool2d,
    nn.Upsample,
    nn.ConvTranspose2d,
    nn.Unflatten,
)


@dataclass(frozen=True)
class ReceptiveField:
    """The receptive field of the units of one layer, per axis as (rows, cols)."""

    layer: str
    size: tuple[int, int]  # input pixels one unit spans
    jump: tuple[int, int]  # input pixels between neighbouring units (the layer's total stride)
    start: tuple[int, int]  # input coordinate of unit (0, 0)'s top-left pixel; negative: inside the padding

    @property
    def stride(self) -> tuple[int, int]:
        """The jump, under the name the layer tables use."""
        return self.jump

    def box(self, row: int, col: int) -> tuple[int, int, int, int]:
        """(top, left, bottom, right) in input pixels of unit (row, col), bottom and right exclusive; not clipped."""
        top = self.start[0] + row * self.jump[0]
        left = self.start[1] + col * self.jump[1]
        return top, left, top + self.size[0], left + self.size[1]


def receptive_field(model: nn.Module, layer: str) -> ReceptiveField:
    """The receptive field of the output units of `layer` (a name from `model.named_modules()`)."""
    chain = _layers_up_to(model, layer)
    size, jump, start = [1, 1], [1, 1], [0, 0]
    for name, module in chain:
        if isinstance(module, _GRID_BREAKERS):
            raise ValueError(
                f"receptive_field: layer {name!r} ({type(module).__name__}) comes before or at "
                f"{layer!r} and does not keep a pixel grid, so the units of {layer!r} have no box-shaped "
                "receptive field; choose a conv or pooling layer before it"
            )
        if isinstance(module, _PADS):
            left, _, top, _ = module.padding
            start = [start[0] - top * jump[0], start[1] - left * jump[1]]
        elif isinstance(module, _SPATIAL):
            kernel, stride, padding, dilation = _geometry(module)
            for axis in (0, 1):
                effective = dilation[axis] * (kernel[axis] - 1) + 1
                start[axis] -= padding[axis] * jump[axis]
                size[axis] += (effective - 1) * jump[axis]
                jump[axis] *= stride[axis]
    return ReceptiveField(layer, (size[0], size[1]), (jump[0], jump[1]), (start[0], start[1]))


def _layers_up_to(model: nn.Module, layer: str) -> list[tuple[str, nn.Module]]:
    """Leaf modules in module order, up to the last one inside `layer` (or `layer` itself when it is a leaf)."""
    modules = list(model.named_modules())
    names = [name for name, _ in modules]
    if layer not in names:
        valid = ", ".join(repr(n) for n in names if n)
        raise ValueError(f"receptive_field: {type(model).__name__} has no layer {layer!r}; its layers are: {valid}")
    inside = [i for i, name in enumerate(names) if name == layer or name.startswith(layer + ".") or layer == ""]
    return [(name, m) for name, m in modules[: inside[-1] + 1] if next(iter(m.children()), None) is None]


def _geometry(module: Any) -> tuple[tuple[int, int], ...]:
    """(kernel, stride, padding, dilation) pairs of a Conv2d or pooling layer; 'same' padding resolved."""
    kernel, stride = _pair(module.kernel_size), _pair(module.stride)
    dilation = _pair(getattr(module, "dilation", 1))
    padding = module.padding
    if padding == "valid":
        padding = 0
    elif padding == "same":  # top/left get the smaller half of d·(k − 1), as Conv2d pads
        padding = tuple(d * (k - 1) // 2 for d, k in zip(dilation, kernel, strict=True))
    return kernel, stride, _pair(padding), dilation


def _pair(value: Any) -> tuple[int, int]:
    if isinstance(value, int):
        return (value, value)
    first, second = (int(v) for v in value)
    return (first, second)

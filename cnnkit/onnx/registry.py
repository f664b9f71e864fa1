"""The importer's op table: ONNX op type → the cnnkit function that computes it, and the node context it gets.

Each `ops_*` module registers its ops with `@register("Conv", names=(...), static=(...))`. An op function
takes `(ctx, inputs)` — the node's attributes, opset and mode in `ctx`, its input Tensors (None for an
omitted optional input) — and returns one Tensor or a tuple with one Tensor per node output. It computes
with cnnkit's own differentiable ops, so an imported graph back-propagates.

Input slots listed in `static` carry values that shape the computation (a Reshape's shape, a Pad's pads, a
Resize's scales); an initializer there is stored as a buffer, never as a trainable Parameter. `buffers` lists
slots that hold state rather than weights (BatchNormalization's running statistics). `names` gives readable
names to the slots whose initializers a node owns (Conv's W and B become `weight` and `bias`). Ops whose output
shape comes from the file (ConstantOfShape, Expand, Tile, Reshape, Pad, Resize) check it with
`check_output_shape` before allocating.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cnnkit.tensor import Tensor

OpFunction = Callable[["NodeContext", list], Any]
MAX_OUTPUT_BYTES = 4 << 30  # one op's output; far beyond a CNN's activations, far below a hostile file's claims


class UnsupportedOnnxError(ValueError):
    """A node (or an attribute value of it) that cnnkit cannot compute; the message names op, node and opset."""


@dataclass(frozen=True)
class OpSpec:
    """How one ONNX op type is imported."""

    op_type: str
    fn: OpFunction
    names: tuple[str, ...] = ()  # readable names of input slots, by position ("" keeps the default)
    static: frozenset[int] = frozenset()
    buffers: frozenset[int] = frozenset()
    check: Callable[[NodeContext], None] | None = None  # refuses unsupported attributes when the graph is loaded

    def slot_name(self, index: int) -> str:
        if index < len(self.names) and self.names[index]:
            return self.names[index]
        return f"input_{index}"


REGISTRY: dict[str, OpSpec] = {}


def register(
    op_type: str,
    *,
    names: Sequence[str] = (),
    static: Sequence[int] = (),
    buffers: Sequence[int] = (),
    check: Callable[[NodeContext], None] | None = None,
) -> Callable[[OpFunction], OpFunction]:
    """Decorator adding an op function to REGISTRY under `op_type`."""

    def add(fn: OpFunction) -> OpFunction:
        REGISTRY[op_type] = OpSpec(op_type, fn, tuple(names), frozenset(static), frozenset(buffers), check)
        return fn

    return add


def supported_ops() -> list[str]:
    """Every ONNX op type the importer computes, sorted."""
    _load_op_modules()
    return sorted(REGISTRY)


def spec_for(op_type: str) -> OpSpec | None:
    _load_op_modules()
    return REGISTRY.get(op_type)


def _load_op_modules() -> None:
    # the op modules register themselves on import; imported here, not at the top, to avoid an import cycle
    from cnnkit.onnx import ops_math, ops_nn, ops_pool, ops_resize, ops_shape  # noqa: F401


@dataclass
class NodeContext:
    """What an op function knows about its node besides the inputs."""

    op_type: str
    name: str
    opset: int
    attrs: dict[str, Any] = field(default_factory=dict)
    num_outputs: int = 1
    training: bool = False  # the owning module's mode: BatchNormalization and Dropout follow it

    def attr(self, key: str, default: Any = None) -> Any:
        return self.attrs.get(key, default)

    def error(self, message: str) -> UnsupportedOnnxError:
        """An error naming the op, the node and the opset, then the problem."""
        return UnsupportedOnnxError(f"ONNX node {self.name!r} ({self.op_type}, opset {self.opset}): {message}")


def check_output_shape(ctx: NodeContext, shape: Sequence[int], itemsize: int) -> tuple[int, ...]:
    """The shape an op is about to allocate, refused (naming the node) when a dim is negative or the array would
    exceed MAX_OUTPUT_BYTES: a file's shape values are checked before NumPy is asked for the memory."""
    shape = tuple(int(n) for n in shape)
    if any(n < 0 for n in shape):
        raise ctx.error(f"output shape {list(shape)} has a negative size")
    size = math.prod(shape) * itemsize  # Python integers: no overflow
    if size > MAX_OUTPUT_BYTES:
        raise ctx.error(f"output shape {list(shape)} would take {size:,} bytes, more than the {MAX_OUTPUT_BYTES:,} "
                        "bytes one imported op may allocate")
    return shape


def values(t: Tensor | None, default: Any = None) -> np.ndarray | None:
    """A static input's values as an array (shapes, pads, scales...), or `default` when the input is omitted."""
    if t is None:
        return None if default is None else np.asarray(default)
    return np.asarray(t._data)


def int_list(t: Tensor | None, default: Sequence[int] | None = None) -> list[int] | None:
    """A static integer input as a list of Python ints."""
    array = values(t)
    if array is None:
        return None if default is None else list(default)
    return [int(v) for v in array.reshape(-1)]

"""`OnnxNode`: one ONNX graph node as a cnnkit module, holding the initializers only it reads.

An imported graph is a module whose children are its nodes, so `repr(model)`, `named_parameters()`,
`state_dict()` and `cnnkit.summary` see the network layer by layer. Each node's class is named after its
op type (a `Conv` node is an instance of a subclass `Conv` of OnnxNode), which is what repr and summary print.

A node owns the initializers that no other node reads: float weights as Parameters (named after their
slot, e.g. a Conv's `weight` and `bias`), running statistics and static values (shapes, pads, scales) as
buffers. `forward` takes the node's other inputs, in slot order, and returns its output Tensor, or a
tuple when the node has several outputs.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from typing import Any

import numpy as np

from cnnkit.nn.module import Module
from cnnkit.nn.parameter import Parameter
from cnnkit.onnx.registry import NodeContext, OpSpec
from cnnkit.tensor import Tensor

OWNED_PARAMETER, OWNED_BUFFER = "parameter", "buffer"


class OnnxNode(Module):
    """One ONNX node: its op function, attributes and opset, and the initializers it owns."""

    def __init__(
        self,
        spec: OpSpec,
        ctx: NodeContext,
        input_names: list[str],
        output_names: list[str],
        owned: dict[int, tuple[str, np.ndarray, str]],
    ) -> None:
        super().__init__()
        self.spec = spec
        self.ctx = ctx
        self.input_names = list(input_names)
        self.output_names = list(output_names)
        self.owned_slots: dict[int, str] = {}
        for slot, (attr, array, kind) in owned.items():
            tensor = Tensor(array, dtype=array.dtype)
            if kind == OWNED_PARAMETER:
                self.register_parameter(attr, Parameter(tensor))
            else:
                self.register_buffer(attr, tensor)
            self.owned_slots[slot] = attr
        # the slots fed at run time: present (non-empty name) and not owned
        self.external_slots = [i for i, name in enumerate(self.input_names) if name and i not in self.owned_slots]

    @property
    def node_name(self) -> str:
        return self.ctx.name

    @property
    def op_type(self) -> str:
        return self.ctx.op_type

    def forward(self, *args: Tensor | None) -> Tensor | tuple[Tensor, ...]:
        if len(args) != len(self.external_slots):
            raise TypeError(
                f"ONNX node {self.node_name!r} ({self.op_type}) takes {len(self.external_slots)} "
                f"inputs ({', '.join(self.input_names[i] for i in self.external_slots)}), got {len(args)}"
            )
        inputs: list[Tensor | None] = [None] * len(self.input_names)
        for slot, value in zip(self.external_slots, args, strict=True):
            inputs[slot] = value
        for slot, attr in self.owned_slots.items():
            inputs[slot] = getattr(self, attr)
        return self.spec.fn(replace(self.ctx, training=self.training), inputs)

    def extra_repr(self) -> str:
        return ", ".join(f"{key}={_short(value)}" for key, value in sorted(self.ctx.attrs.items()))


def _short(value: Any) -> str:
    """An attribute value for repr: arrays by shape and dtype unless tiny."""
    if isinstance(value, np.ndarray):
        if value.size <= 8:
            return repr(value.tolist())
        return f"<{value.dtype} array {list(value.shape)}>"
    if isinstance(value, str):
        return repr(value)
    return str(value)


@cache
def node_class(op_type: str) -> type[OnnxNode]:
    """The OnnxNode subclass named after `op_type` (so repr and summary print e.g. `Conv`)."""
    doc = f"An imported ONNX {op_type} node (see cnnkit.onnx.node.OnnxNode)."
    return type(op_type, (OnnxNode,), {"__doc__": doc, "__module__": __name__})

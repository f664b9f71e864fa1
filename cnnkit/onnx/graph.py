"""`GraphBuilder`: the ONNX graph being written by the exporter — names, nodes, initializers, inputs, outputs.

Every tensor of the traced forward pass gets a name the first time it is seen: graph inputs by the names
given to `export`, parameters and buffers by their state_dict names (as initializers), the outputs of
nodes by the node's name, and any other tensor (a constant made in `forward`) as a new initializer. Node
names follow the module that ran the op, e.g. `layer1.0.conv1/Conv`. `model_proto` assembles the
ModelProto; a dynamic axis is written as a named dimension (`dim_param`) on the inputs and outputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from cnnkit.onnx.dependency import require_onnx
from cnnkit.onnx.tensors import from_array, onnx_type
from cnnkit.tensor import Tensor


class GraphBuilder:
    """Accumulates nodes and initializers; `name(tensor)` names any tensor, making constants as needed."""

    def __init__(self, opset: int, state_names: dict[int, str]) -> None:
        self.opset = opset
        self.state_names = state_names  # id(parameter or buffer) → its state_dict name
        self.nodes: list[Any] = []
        self.initializers: dict[str, Any] = {}
        self.names: dict[int, str] = {}
        self._keep: list[Any] = []  # the named tensors, kept alive so that their ids stay unique
        self._used: set[str] = set()
        self.scope = ""  # the module the current op ran in

    # ----------------------------------------------------------------- naming
    def unique(self, base: str) -> str:
        name, k = base, 1
        while name in self._used:
            name, k = f"{base}_{k}", k + 1
        self._used.add(name)
        return name

    def bind(self, tensor: Tensor, name: str) -> None:
        self.names[id(tensor)] = name
        self._keep.append(tensor)

    def known(self, tensor: Any) -> bool:
        return isinstance(tensor, Tensor) and id(tensor) in self.names

    def name(self, value: Any, like: Tensor | None = None) -> str:
        """The graph name of a tensor, or of a new initializer holding a constant (a Python number takes the
        dtype of `like`, as cnnkit's ops do)."""
        if isinstance(value, Tensor) and id(value) in self.names:
            return self.names[id(value)]
        if isinstance(value, Tensor) and id(value) in self.state_names:
            name = self.state_names[id(value)]
            self._add_initializer(name, value._data)
            self.bind(value, name)
            return name
        array = value._data if isinstance(value, Tensor) else np.asarray(value)
        if like is not None and not isinstance(value, Tensor) and like.dtype.kind == "f":
            array = array.astype(like.dtype)
        elif array.dtype == np.float64 and not isinstance(value, Tensor):
            array = array.astype(np.float32)
        name = self.constant(array, "const")
        if isinstance(value, Tensor):
            self.bind(value, name)
        return name

    def constant(self, array: Any, hint: str) -> str:
        """A new initializer holding `array`."""
        name = self.unique(f"{self.scope}/{hint}" if self.scope else hint)
        self._add_initializer(name, np.asarray(array))
        return name

    def ints(self, values: Sequence[int], hint: str = "shape") -> str:
        return self.constant(np.asarray(list(values), dtype=np.int64), hint)

    def floats(self, values: Sequence[float], hint: str = "scales") -> str:
        return self.constant(np.asarray(list(values), dtype=np.float32), hint)

    def _add_initializer(self, name: str, array: np.ndarray) -> None:
        self._used.add(name)
        if name not in self.initializers:
            self.initializers[name] = from_array(np.asarray(array), name)

    # ----------------------------------------------------------------- nodes
    def node(self, op_type: str, inputs: Sequence[str], outputs: int = 1, **attrs: Any) -> list[str]:
        """Add a node; returns its output names. Attributes that are None are left out."""
        onnx = require_onnx()
        name = self.unique(f"{self.scope}/{op_type}" if self.scope else op_type)
        out_names = [self.unique(f"{name}:{k}") for k in range(outputs)]
        kept = {k: v for k, v in attrs.items() if v is not None}
        self.nodes.append(onnx.helper.make_node(op_type, list(inputs), out_names, name=name, **kept))
        return out_names

    def op(self, op_type: str, inputs: Sequence[str], **attrs: Any) -> str:
        """A one-output node; returns its output name."""
        return self.node(op_type, inputs, 1, **attrs)[0]

    # ----------------------------------------------------------------- the model
    def model_proto(
        self,
        inputs: list[tuple[str, Tensor]],
        outputs: list[tuple[str, Tensor]],
        dynamic: dict[str, dict[int, str]],
        producer: str,
    ) -> Any:
        onnx = require_onnx()
        graph = onnx.helper.make_graph(
            self.nodes,
            "cnnkit",
            [_value_info(name, t, dynamic.get(name, {})) for name, t in inputs],
            [_value_info(name, t, dynamic.get(name, {})) for name, t in outputs],
            initializer=list(self.initializers.values()),
        )
        model = onnx.helper.make_model(
            graph, producer_name=producer, opset_imports=[onnx.helper.make_opsetid("", self.opset)]
        )
        model.ir_version = min(model.ir_version, _ir_version_for(self.opset))
        return model


def _value_info(name: str, tensor: Tensor, dynamic: dict[int, str]) -> Any:
    onnx = require_onnx()
    dims = [dynamic.get(axis, size) for axis, size in enumerate(tensor.shape)]
    return onnx.helper.make_tensor_value_info(name, onnx_type(tensor.dtype), dims)


def _ir_version_for(opset: int) -> int:
    """The IR version that came with an opset (runtimes refuse a newer IR than they know)."""
    onnx = require_onnx()
    for entry in onnx.helper.VERSION_TABLE:  # (release, ir_version, ai.onnx opset, ...)
        if entry[2] == opset:
            return int(entry[1])
    return int(onnx.IR_VERSION)

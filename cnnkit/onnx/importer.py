"""`OnnxModel`: an ONNX graph turned into a cnnkit module built from cnnkit's own differentiable ops.

`build_model(model_proto)` checks every node against the op table (`registry`), decides where each
initializer lives and returns an `OnnxModel`:

- an initializer read by exactly one node slot is owned by that node's module (`node.py`): float weights
  become Parameters, running statistics and static values (shapes, pads, scales) buffers;
- an initializer read by several nodes (or returned as a graph output) is held by the model itself,
  under its name made into an identifier, and handed to each reader at run time.

`OnnxModel(*inputs)` runs the nodes in the file's order (ONNX requires a topological order; it is
checked when the graph is loaded) on tensors given in the graph's input order, drops each intermediate
after its last reader, and returns the graph's output (a tuple when there are several). The model starts
in eval mode, so the graph computes what it says; `.train()` makes BatchNormalization nodes use batch
statistics (updating their running statistics) and Dropout nodes drop, as the original layers would
while fine-tuning.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from cnnkit.nn.module import Module
from cnnkit.nn.parameter import Parameter
from cnnkit.onnx.dependency import require_onnx
from cnnkit.onnx.node import OWNED_BUFFER, OWNED_PARAMETER, OnnxNode, node_class
from cnnkit.onnx.registry import NodeContext, UnsupportedOnnxError, spec_for, supported_ops
from cnnkit.onnx.tensors import numpy_dtype, to_array, type_name
from cnnkit.tensor import Tensor

DEFAULT_DOMAINS = ("", "ai.onnx")
MIN_OPSET = 6  # the oldest default-domain opset whose op versions the op table implements


class OnnxModel(Module):
    """An imported ONNX graph: children are its nodes; call it with the graph's inputs in order."""

    def __init__(self, graph: Any, opset: int, source: str = "") -> None:
        super().__init__()
        self.opset = opset
        self.source = source
        self.graph_name = graph.name
        initializers = {t.name: to_array(t, _where(source)) for t in graph.initializer}
        _refuse_sparse(graph, source)
        self.input_specs = [_value_spec(v) for v in graph.input if v.name not in initializers]
        self.input_names = [spec[0] for spec in self.input_specs]
        self.output_names = [v.name for v in graph.output]
        readers = _readers(graph, initializers)
        self.shared: dict[str, str] = {}  # initializer name → attribute of this module
        self._steps: list[tuple[str, list[str], list[str]]] = []  # (child name, run-time inputs, outputs)
        for index, proto in enumerate(graph.node):
            self._add_node(index, proto, initializers, readers)
        for name, array in initializers.items():
            if name not in self.shared and (len(readers.get(name, ())) > 1 or name in self.output_names):
                self._add_shared(name, array, readers.get(name, []))
        self._check_order()
        self._last_use = _last_uses(self._steps, self.output_names)
        self.eval()

    # ----------------------------------------------------------------- building
    def _add_node(
        self, index: int, proto: Any, initializers: dict[str, np.ndarray], readers: dict[str, list[tuple[int, int]]]
    ) -> None:
        ctx = NodeContext(
            proto.op_type,
            proto.name or f"{proto.op_type}_{index}",
            self.opset,
            _attributes(proto, self.source),
            num_outputs=len(proto.output),
        )
        spec = spec_for(proto.op_type)
        if proto.domain not in DEFAULT_DOMAINS or spec is None:
            domain = f" of domain {proto.domain!r}" if proto.domain not in DEFAULT_DOMAINS else ""
            raise UnsupportedOnnxError(
                f"{_where(self.source)}ONNX node {ctx.name!r} has op type {proto.op_type!r}"
                f"{domain} (opset {self.opset}), which cnnkit does not support; "
                f"supported ops: {', '.join(supported_ops())}"
            )
        if spec.check is not None:
            spec.check(ctx)
        owned: dict[int, tuple[str, np.ndarray, str]] = {}
        for slot, name in enumerate(proto.input):
            if name in initializers and readers[name] == [(index, slot)] and name not in self.output_names:
                trainable = initializers[name].dtype.kind == "f" and slot not in spec.static | spec.buffers
                owned[slot] = (spec.slot_name(slot), initializers[name], OWNED_PARAMETER if trainable else OWNED_BUFFER)
        module = node_class(proto.op_type)(spec, ctx, list(proto.input), list(proto.output), owned)
        child = self._child_name(ctx.name)
        self.add_module(child, module)
        runtime = [module.input_names[i] for i in module.external_slots]
        self._steps.append((child, runtime, [o for o in proto.output]))

    def _child_name(self, node_name: str) -> str:
        base = _identifier(node_name)
        name, k = base, 1
        while name in self._modules or hasattr(self, name):
            name, k = f"{base}_{k}", k + 1
        return name

    def _add_shared(self, name: str, array: np.ndarray, readers: list[tuple[int, int]]) -> None:
        attr = self._child_name("init_" + name)
        tensor = Tensor(array, dtype=array.dtype)
        steps = [self._modules[self._steps[i][0]] for i, _ in readers]
        differentiable = any(
            slot not in node.spec.static | node.spec.buffers for node, (_, slot) in zip(steps, readers, strict=True)
        )
        if array.dtype.kind == "f" and differentiable:
            self.register_parameter(attr, Parameter(tensor))
        else:
            self.register_buffer(attr, tensor)
        self.shared[name] = attr

    def _check_order(self) -> None:
        known = set(self.input_names) | set(self.shared) | {""}
        for child, inputs, outputs in self._steps:
            for name in inputs:
                if name not in known:
                    raise ValueError(
                        f"{_where(self.source)}input {name!r} of ONNX node "
                        f"{self._modules[child].node_name!r} is neither a graph input, an initializer "
                        f"nor the output of an earlier node (ONNX graphs must be topologically sorted)"
                    )
            known.update(outputs)
        missing = [name for name in self.output_names if name not in known]
        if missing:
            raise ValueError(f"{_where(self.source)}graph outputs {missing} are not computed by any node")

    # ----------------------------------------------------------------- running
    def forward(self, *inputs: Any) -> Tensor | tuple[Tensor, ...]:
        if len(inputs) != len(self.input_names):
            expected = ", ".join(_describe_spec(spec) for spec in self.input_specs)
            raise TypeError(f"{self._label()}: expected {len(self.input_names)} inputs ({expected}), got {len(inputs)}")
        env: dict[str, Tensor | None] = {"": None}
        for name, value in zip(self.input_names, inputs, strict=True):
            env[name] = value if isinstance(value, Tensor) else Tensor(np.asarray(value), dtype=np.asarray(value).dtype)
        for name, attr in self.shared.items():
            env[name] = getattr(self, attr)
        for step, (child, names, outputs) in enumerate(self._steps):
            node: OnnxNode = self._modules[child]
            result = node(*(env[name] for name in names))
            results = result if isinstance(result, tuple) else (result,)
            for k, name in enumerate(outputs):
                if not name:
                    continue
                if k >= len(results) or results[k] is None:
                    raise UnsupportedOnnxError(
                        f"ONNX node {node.node_name!r} ({node.op_type}, opset {self.opset}): "
                        f"output {k} ({name!r}) is requested but not computed by cnnkit"
                    )
                env[name] = results[k]
            for name in self._last_use.get(step, ()):
                env.pop(name, None)
        outs = tuple(env[name] for name in self.output_names)
        return outs[0] if len(outs) == 1 else outs

    def _label(self) -> str:
        return f"OnnxModel({self.source or self.graph_name!r})"

    def extra_repr(self) -> str:
        inputs = ", ".join(_describe_spec(spec) for spec in self.input_specs)
        return f"inputs: {inputs}; outputs: {', '.join(self.output_names)}; opset {self.opset}"


def build_model(proto: Any, source: str = "") -> OnnxModel:
    """An OnnxModel from a loaded ModelProto; `source` (a file name) prefixes error messages."""
    opset = default_opset(proto, source)
    newest = require_onnx().defs.onnx_opset_version()
    if not MIN_OPSET <= opset <= newest:
        raise UnsupportedOnnxError(f"{_where(source)}the model uses opset {opset}; cnnkit imports opsets "
                                   f"{MIN_OPSET} to {newest} (the newest the installed onnx package defines)")
    return OnnxModel(proto.graph, opset, source)


def default_opset(proto: Any, source: str = "") -> int:
    """The model's opset of the default (ai.onnx) domain."""
    for entry in proto.opset_import:
        if entry.domain in DEFAULT_DOMAINS:
            return int(entry.version)
    if len(proto.opset_import) == 0:
        return 1  # IR version 1 models carry no opset import: the first opset
    raise UnsupportedOnnxError(
        f"{_where(source)}the model imports no default-domain (ai.onnx) opset, only "
        f"{[e.domain for e in proto.opset_import]}"
    )


# --------------------------------------------------------------------- helpers
def _where(source: str) -> str:
    return f"{source}: " if source else ""


def _identifier(name: str) -> str:
    """A module-attribute name from an ONNX name: non-word characters become '_', never a leading digit."""
    ident = re.sub(r"\W+", "_", name).strip("_") or "node"
    return f"n_{ident}" if ident[0].isdigit() else ident


def _attributes(proto: Any, source: str) -> dict[str, Any]:
    onnx = require_onnx()
    attrs = {}
    for attr in proto.attribute:
        if attr.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS):
            raise UnsupportedOnnxError(
                f"{_where(source)}ONNX node {proto.name!r} ({proto.op_type}) has a subgraph "
                f"attribute {attr.name!r}; cnnkit imports no control flow"
            )
        value = onnx.helper.get_attribute_value(attr)
        if isinstance(value, bytes):
            value = value.decode("utf-8")
        elif isinstance(value, onnx.TensorProto):
            value = to_array(value, _where(source))
        elif isinstance(value, list) and value and isinstance(value[0], bytes):
            value = [v.decode("utf-8") for v in value]
        attrs[attr.name] = value
    return attrs


def _refuse_sparse(graph: Any, source: str) -> None:
    if len(graph.sparse_initializer):
        raise UnsupportedOnnxError(f"{_where(source)}the graph has sparse initializers, which cnnkit does not read")


def _readers(graph: Any, initializers: dict[str, np.ndarray]) -> dict[str, list[tuple[int, int]]]:
    """Initializer name → every (node index, input slot) that reads it."""
    readers: dict[str, list[tuple[int, int]]] = {}
    for index, node in enumerate(graph.node):
        for slot, name in enumerate(node.input):
            if name in initializers:
                readers.setdefault(name, []).append((index, slot))
    return readers


def _last_uses(steps: list[tuple[str, list[str], list[str]]], outputs: list[str]) -> dict[int, list[str]]:
    """Step index → the values that no later step reads (dropped after that step to free memory)."""
    last: dict[str, int] = {}
    for step, (_, inputs, produced) in enumerate(steps):
        for name in list(inputs) + list(produced):
            last[name] = step
    drop: dict[int, list[str]] = {}
    for name, step in last.items():
        if name and name not in outputs:
            drop.setdefault(step, []).append(name)
    return drop


def _value_spec(value: Any) -> tuple[str, str, list[int | str]]:
    """(name, element type, dims) of a graph input; a dim is an int, a symbolic name, or '?'."""
    tensor_type = value.type.tensor_type
    try:
        dtype = str(numpy_dtype(tensor_type.elem_type))
    except TypeError:
        dtype = type_name(tensor_type.elem_type)
    dims: list[int | str] = []
    for dim in tensor_type.shape.dim:
        if dim.HasField("dim_value"):
            dims.append(int(dim.dim_value))
        else:
            dims.append(dim.dim_param or "?")
    return value.name, dtype, dims


def _describe_spec(spec: tuple[str, str, list[int | str]]) -> str:
    name, dtype, dims = spec
    return f"{name}: {dtype} [{', '.join(str(d) for d in dims)}]"

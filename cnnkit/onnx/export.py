"""`cnnkit.onnx.export`: write a cnnkit model as an ONNX file, called as `torch.onnx.export` is.

The model runs once on the example input, in eval mode and without gradients, under a `Tracer` (see
`trace.py`); each recorded call becomes ONNX nodes through the converters of `export_ops`/`export_shape`,
parameters and buffers become initializers under their state_dict names, and the graph is checked with
`onnx.checker` before it is written. The model's modes are put back afterwards.

`dynamic_axes` follows torch.onnx: {input or output name: {axis: "name"}} or {name: [axes]}; those axes get
a symbolic size in the graph. The converters write batch-agnostic shapes, so a graph exported with a
dynamic batch axis runs on any batch size.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

import cnnkit
from cnnkit.nn.module import Module
from cnnkit.onnx import export_shape  # noqa: F401 - registers the shape converters
from cnnkit.onnx.dependency import require_onnx
from cnnkit.onnx.export_ops import CONVERTERS
from cnnkit.onnx.graph import GraphBuilder
from cnnkit.onnx.trace import ExportError, Tracer
from cnnkit.serialization import atomic_write_bytes
from cnnkit.tensor import Tensor

MIN_OPSET = 11  # Resize's coordinate modes and Pad/Clip taking inputs arrived in opset 11


def export(
    model: Module,
    example_input: Any,
    path: str | os.PathLike,
    opset_version: int = 17,
    input_names: Sequence[str] | None = None,
    output_names: Sequence[str] | None = None,
    dynamic_axes: Mapping[str, Any] | None = None,
) -> Any:
    """Trace `model` on `example_input` (a Tensor, an array, or a tuple of them) and write ONNX to `path`.

    Returns the ModelProto that was written.
    """
    onnx = require_onnx()
    _check_opset(opset_version, onnx)
    if not isinstance(model, Module):
        raise TypeError(f"cnnkit.onnx.export: expected a cnnkit nn.Module, got {type(model).__name__}")
    inputs = _as_inputs(example_input)
    in_names = _names(input_names, len(inputs), "input")
    outputs, builder = _trace(model, inputs, in_names, opset_version)
    out_names = _names(output_names, len(outputs), "output")
    _name_outputs(builder, outputs, out_names, in_names)
    dynamic = _dynamic(dynamic_axes, in_names + out_names, inputs + outputs)
    proto = builder.model_proto(
        list(zip(in_names, inputs, strict=True)), list(zip(out_names, outputs, strict=True)), dynamic, producer="cnnkit"
    )
    onnx.checker.check_model(proto, full_check=True)
    atomic_write_bytes(Path(path), proto.SerializeToString())
    return proto


def _trace(model: Module, inputs: list[Tensor], in_names: list[str], opset: int) -> tuple[list[Tensor], GraphBuilder]:
    state = {id(t): name for name, t in model.state_dict(keep_vars=True).items()}
    builder = GraphBuilder(opset, state)
    for name, t in zip(in_names, inputs, strict=True):
        builder.bind(t, name)
        builder.unique(name)
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        with cnnkit.no_grad(), Tracer(model) as tracer:
            tracer.mark_inputs(inputs)
            result = model(*inputs)
        calls = tracer.calls
    finally:
        for m, training in modes:
            m.training = training
    for call in calls:
        convert = CONVERTERS.get(call.function)
        if convert is None:
            raise ExportError(
                f"cnnkit.onnx.export: {call.function} in module {call.module or '(model)'!r} has no ONNX converter"
            )
        builder.scope = call.module
        convert(builder, call)
    builder.scope = ""
    outputs = list(result) if isinstance(result, (tuple, list)) else [result]
    if not all(isinstance(t, Tensor) for t in outputs):
        raise ExportError(
            f"cnnkit.onnx.export: the model must return a Tensor or a tuple of Tensors, got {type(result).__name__}"
        )
    return outputs, builder


def _name_outputs(builder: GraphBuilder, outputs: list[Tensor], names: list[str], in_names: list[str]) -> None:
    """Rename the last node output of each graph output to its chosen name (an Identity where it cannot be)."""
    renamed: set[str] = set()
    for tensor, name in zip(outputs, names, strict=True):
        current = builder.name(tensor)
        producer = next((n for n in reversed(builder.nodes) if current in n.output), None)
        if producer is None or current in renamed or current in in_names:
            builder.node("Identity", [current])
            producer, current = builder.nodes[-1], builder.nodes[-1].output[0]
        for node in builder.nodes:  # every reader of the old name reads the new one
            node.input[:] = [name if i == current else i for i in node.input]
        producer.output[:] = [name if o == current else o for o in producer.output]
        renamed.add(name)


def _as_inputs(example: Any) -> list[Tensor]:
    items = list(example) if isinstance(example, (tuple, list)) else [example]
    tensors = []
    for item in items:
        if isinstance(item, Tensor):
            tensors.append(item)
        else:
            array = np.asarray(item)
            tensors.append(Tensor(array.astype(np.float32) if array.dtype == np.float64 else array))
    if not tensors:
        raise ValueError("cnnkit.onnx.export: expected an example input, got an empty tuple")
    return tensors


def _names(names: Sequence[str] | None, count: int, base: str) -> list[str]:
    if names is None:
        return [base] if count == 1 else [f"{base}_{k}" for k in range(count)]
    names = list(names)
    if len(names) != count:
        raise ValueError(f"cnnkit.onnx.export: expected {count} {base} names, got {len(names)}: {names}")
    return names


def _dynamic(spec: Mapping[str, Any] | None, names: list[str], tensors: list[Tensor]) -> dict[str, dict[int, str]]:
    """{name: {axis: symbolic name}} from torch.onnx's dynamic_axes forms."""
    if not spec:
        return {}
    ranks = dict(zip(names, (t.ndim for t in tensors), strict=True))
    result = {}
    for name, axes in spec.items():
        if name not in ranks:
            raise ValueError(
                f"cnnkit.onnx.export: dynamic_axes names {name!r}, which is not an input or output "
                f"name ({', '.join(names)})"
            )
        mapping = dict(axes) if isinstance(axes, Mapping) else {int(a): f"{name}_dim{int(a)}" for a in axes}
        for axis in mapping:
            if not 0 <= int(axis) < ranks[name]:
                raise ValueError(
                    f"cnnkit.onnx.export: dynamic axis {axis} of {name!r} is out of range for its {ranks[name]} dims"
                )
        result[name] = {int(a): str(v) for a, v in mapping.items()}
    return result


def _check_opset(opset: int, onnx: Any) -> None:
    newest = onnx.defs.onnx_opset_version()
    if not isinstance(opset, int) or not MIN_OPSET <= opset <= newest:
        raise ValueError(
            f"cnnkit.onnx.export: expected opset_version between {MIN_OPSET} and {newest} (the newest "
            f"the installed onnx package knows), got {opset!r}"
        )

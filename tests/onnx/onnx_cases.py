"""Helpers for the tests of cnnkit.onnx: ONNX's shipped test data, random weights for its model graphs, and
onnxruntime as a second opinion.

`light_with_random_weights` turns a `light_*` graph (whose weights are ConstantOfShape nodes filling 0.02,
which hides numeric errors) into the same graph with random initializers, scaled by what reads them:
He-normal conv weights, small biases, positive variances and scales.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import numpy_helper  # noqa: E402

DATA = Path(onnx.__file__).parent / "backend" / "test" / "data"
RTOL, ATOL = 1e-3, 1e-4


def as_array(value) -> np.ndarray:
    """A test-case value (array or TensorProto) as a NumPy array."""
    if isinstance(value, onnx.TensorProto):
        return numpy_helper.to_array(value)
    return np.asarray(value)


def read_case(case_dir: Path) -> tuple[Path, list[tuple[list[np.ndarray], list[np.ndarray]]]]:
    """A pytorch-converted / pytorch-operator case: its model file and (inputs, expected outputs) sets."""
    sets = []
    for data_set in sorted(case_dir.glob("test_data_set_*")):
        inputs = [numpy_helper.to_array(onnx.load_tensor(str(f))) for f in sorted(data_set.glob("input_*.pb"))]
        outputs = [numpy_helper.to_array(onnx.load_tensor(str(f))) for f in sorted(data_set.glob("output_*.pb"))]
        sets.append((inputs, outputs))
    return case_dir / "model.onnx", sets


def assert_outputs(got, expected: list, rtol: float = RTOL, atol: float = ATOL, what: str = "") -> None:
    """Every output has the expected shape and dtype and is within rtol/atol (NaN where NaN is expected)."""
    got = got if isinstance(got, tuple) else (got,)
    assert len(got) >= len(expected), f"{what}: {len(got)} outputs, expected {len(expected)}"
    for k, (g, e) in enumerate(zip(got, expected, strict=False)):
        g, e = np.asarray(g._data if hasattr(g, "_data") else g), as_array(e)
        assert g.shape == e.shape, f"{what} output {k}: shape {g.shape}, expected {e.shape}"
        assert g.dtype == e.dtype, f"{what} output {k}: dtype {g.dtype}, expected {e.dtype}"
        np.testing.assert_allclose(
            g.astype(np.float64),
            e.astype(np.float64),
            rtol=rtol,
            atol=atol,
            equal_nan=True,
            err_msg=f"{what} output {k}",
        )


def light_input(model) -> np.ndarray:
    """The input ONNX's runner feeds a light_* model: arange(n)/n in the input's shape."""
    initializers = {t.name for t in model.graph.initializer}
    first = next(i for i in model.graph.input if i.name not in initializers)
    dims = [d.dim_value or 1 for d in first.type.tensor_type.shape.dim]
    n = int(np.prod(dims))
    return (np.arange(n).reshape(dims) / n).astype(np.float32)


def _random_values(shape: tuple[int, ...], reader: tuple[str, int], rng: np.random.Generator) -> np.ndarray:
    op, slot = reader
    if op == "Conv" and slot == 1:  # He-normal: keeps activations O(1) through a deep ReLU net
        return rng.normal(0, np.sqrt(2.0 / np.prod(shape[1:])), shape)
    if op == "Gemm" and slot == 1:
        return rng.normal(0, np.sqrt(1.0 / min(shape)), shape)
    if op == "BatchNormalization" and slot == 4:
        return rng.uniform(0.5, 1.5, shape)
    if op in ("Conv", "Gemm", "BatchNormalization") and slot in (2, 3):
        return rng.uniform(-0.1, 0.1, shape)
    return rng.uniform(0.5, 1.5, shape)  # BN scales, and the Mul/Add constants of unfolded batch norms


def light_with_random_weights(model, seed: int = 0):
    """A copy of a light_* model whose ConstantOfShape weights are random initializers, returning the logits:
    the final Softmax is cut off (random deep nets saturate it, which would hide differences)."""
    model = onnx.ModelProto.FromString(model.SerializeToString())
    graph = model.graph
    last = graph.node[len(graph.node) - 1]
    if last.op_type == "Softmax" and last.output[0] == graph.output[0].name:
        graph.node.pop()
        del graph.output[:]
        graph.output.append(onnx.helper.make_tensor_value_info(last.input[0], onnx.TensorProto.FLOAT, ["n", "logits"]))
    inits = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    readers = {}
    for node in graph.node:
        for slot, name in enumerate(node.input):
            readers.setdefault(name, (node.op_type, slot))
    rng = np.random.default_rng(seed)
    kept = []
    for node in graph.node:
        if node.op_type == "ConstantOfShape" and node.input[0] in inits:
            shape = tuple(int(v) for v in inits[node.input[0]])
            values = _random_values(shape, readers.get(node.output[0], ("", 0)), rng).astype(np.float32)
            graph.initializer.append(numpy_helper.from_array(values, node.output[0]))
        else:
            kept.append(node)
    del graph.node[:]
    graph.node.extend(kept)
    # drop the now unread shape initializers, and list initializers apart from the inputs (IR version 4 on)
    read = {name for node in graph.node for name in node.input}
    weights = [t for t in graph.initializer if t.name in read]
    del graph.initializer[:]
    graph.initializer.extend(weights)
    inputs = [i for i in graph.input if i.name not in {t.name for t in weights} and i.name not in inits]
    del graph.input[:]
    graph.input.extend(inputs)
    model.ir_version = max(model.ir_version, 4)
    return model


def onnxruntime_outputs(model, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """onnxruntime's outputs for a ModelProto (one thread: the machine is shared)."""
    ort = pytest.importorskip("onnxruntime")
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    initializers = {t.name for t in model.graph.initializer}
    names = [i.name for i in model.graph.input if i.name not in initializers]
    return session.run(None, dict(zip(names, inputs, strict=True)))

"""cnnkit.onnx.load beyond ONNX's own cases: the forms older opsets give an op, checked against onnxruntime;
errors for what cnnkit does not compute; repr, summary, state_dict names; fine-tuning an imported graph."""

from __future__ import annotations

import numpy as np
import pytest

from tests.onnx.onnx_cases import onnxruntime_outputs

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

import cnnkit  # noqa: E402
import cnnkit.onnx  # noqa: E402
from cnnkit.summary import summary  # noqa: E402

F32 = TensorProto.FLOAT


def _model(nodes, inputs, outputs, opset, initializers=()):
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info(n, F32, s) for n, s in inputs],
        [helper.make_tensor_value_info(n, F32, None) for n in outputs],
        initializer=[numpy_helper.from_array(v, k) for k, v in initializers],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 7 if opset <= 13 else 8
    return model


def _ints(name, values):
    return (name, np.asarray(values, dtype=np.int64))


def _floats(name, values):
    return (name, np.asarray(values, dtype=np.float32))


X = np.random.default_rng(0).standard_normal((2, 3, 4, 5)).astype(np.float32)

# (id, nodes, initializers, opset): one input "x" of X's shape, one output "y"
VARIANTS = [
    ("softmax-11-flattens-at-axis", [helper.make_node("Softmax", ["x"], ["y"], axis=1)], [], 11),
    ("logsoftmax-11-default-axis", [helper.make_node("LogSoftmax", ["x"], ["y"])], [], 11),
    ("softmax-13-axis", [helper.make_node("Softmax", ["x"], ["y"], axis=1)], [], 13),
    ("pad-2-attributes", [helper.make_node("Pad", ["x"], ["y"], pads=[0, 0, 1, 2, 0, 0, 2, 1], value=1.5)], [], 7),
    (
        "pad-11-reflect-inputs",
        [helper.make_node("Pad", ["x", "p"], ["y"], mode="reflect")],
        [_ints("p", [0, 0, 1, 2, 0, 0, 2, 1])],
        11,
    ),
    (
        "pad-11-edge",
        [helper.make_node("Pad", ["x", "p"], ["y"], mode="edge")],
        [_ints("p", [0, 0, 2, 1, 0, 0, 1, 3])],
        11,
    ),
    (
        "slice-1-attributes",
        [helper.make_node("Slice", ["x"], ["y"], starts=[1, -4], ends=[3, 100], axes=[1, 3])],
        [],
        7,
    ),
    (
        "slice-10-steps",
        [helper.make_node("Slice", ["x", "s", "e", "a", "t"], ["y"])],
        [_ints("s", [-1, 0]), _ints("e", [-100, 5]), _ints("a", [3, 2]), _ints("t", [-2, 2])],
        10,
    ),
    (
        "upsample-9-nearest",
        [helper.make_node("Upsample", ["x", "s"], ["y"], mode="nearest")],
        [_floats("s", [1, 1, 2, 3])],
        9,
    ),
    (
        "resize-10-nearest-down",
        [helper.make_node("Resize", ["x", "s"], ["y"], mode="nearest")],
        [_floats("s", [1, 1, 0.5, 0.6])],
        10,
    ),
    (
        "resize-10-linear-up",
        [helper.make_node("Resize", ["x", "s"], ["y"], mode="linear")],
        [_floats("s", [1, 1, 2, 1.5])],
        10,
    ),
    (
        "resize-11-linear-asymmetric",
        [
            helper.make_node(
                "Resize", ["x", "r", "s"], ["y"], mode="linear", coordinate_transformation_mode="asymmetric"
            )
        ],
        [_floats("r", []), _floats("s", [1, 1, 1.5, 2])],
        11,
    ),
    (
        "resize-13-nearest-sizes",
        [
            helper.make_node(
                "Resize", ["x", "", "", "z"], ["y"], mode="nearest", coordinate_transformation_mode="half_pixel"
            )
        ],
        [_ints("z", [2, 3, 7, 9])],
        13,
    ),
    (
        "batchnorm-7-inference",
        [helper.make_node("BatchNormalization", ["x", "g", "b", "m", "v"], ["y"], epsilon=1e-3)],
        [
            _floats("g", [1.0, 2.0, 0.5]),
            _floats("b", [0.1, 0.0, -0.3]),
            _floats("m", [0.2, -0.1, 0.0]),
            _floats("v", [1.5, 0.5, 2.0]),
        ],
        7,
    ),
    (
        "batchnorm-9",
        [helper.make_node("BatchNormalization", ["x", "g", "b", "m", "v"], ["y"])],
        [
            _floats("g", [1.0, 2.0, 0.5]),
            _floats("b", [0.1, 0.0, -0.3]),
            _floats("m", [0.2, -0.1, 0.0]),
            _floats("v", [1.5, 0.5, 2.0]),
        ],
        9,
    ),
    ("clip-6-attributes", [helper.make_node("Clip", ["x"], ["y"], min=-0.5, max=0.7)], [], 7),
    ("clip-11-inputs", [helper.make_node("Clip", ["x", "lo", ""], ["y"])], [_floats("lo", 0.1)], 11),
    (
        "squeeze-11-unsqueeze-11",
        [helper.make_node("Unsqueeze", ["x"], ["u"], axes=[0, 3]), helper.make_node("Squeeze", ["u"], ["y"], axes=[0])],
        [],
        11,
    ),
    (
        "split-11-attribute",
        [
            helper.make_node("Split", ["x"], ["a", "b2"], axis=3, split=[2, 3]),
            helper.make_node("Mul", ["b2", "b2"], ["m"]),
            helper.make_node("ReduceSum", ["m"], ["y"], axes=[3], keepdims=1),
        ],
        [],
        11,
    ),
    ("reducemean-13-attribute", [helper.make_node("ReduceMean", ["x"], ["y"], axes=[1, 3], keepdims=0)], [], 13),
    ("dropout-10-inference", [helper.make_node("Dropout", ["x"], ["y"], ratio=0.3)], [], 10),
    (
        "maxpool-11-asymmetric-ceil",
        [
            helper.make_node(
                "MaxPool", ["x"], ["y"], kernel_shape=[3, 2], strides=[2, 2], pads=[1, 0, 2, 1], ceil_mode=1
            )
        ],
        [],
        11,
    ),
    (
        "averagepool-11-same-lower",
        [helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 1], auto_pad="SAME_LOWER")],
        [],
        11,
    ),
    (
        "conv-11-same-upper-strided",
        [helper.make_node("Conv", ["x", "w"], ["y"], auto_pad="SAME_UPPER", strides=[2, 2])],
        [("w", np.random.default_rng(1).standard_normal((4, 3, 3, 2)).astype(np.float32))],
        11,
    ),
    (
        "convtranspose-11-output-shape",
        [helper.make_node("ConvTranspose", ["x", "w"], ["y"], strides=[2, 2], output_shape=[9, 10])],
        [("w", np.random.default_rng(2).standard_normal((3, 2, 3, 3)).astype(np.float32))],
        11,
    ),
    (
        "gemm-7-transA",
        [
            helper.make_node("Flatten", ["x"], ["f"], axis=2),
            helper.make_node("Gemm", ["f", "w", "c"], ["y"], transA=1, alpha=0.5, beta=2.0),
        ],
        [
            ("w", np.random.default_rng(3).standard_normal((6, 4)).astype(np.float32)),
            _floats("c", [1.0, 2.0, 3.0, 4.0]),
        ],
        7,
    ),
    ("gelu-20-tanh", [helper.make_node("Gelu", ["x"], ["y"], approximate="tanh")], [], 20),
]


@pytest.mark.parametrize(("nodes", "inits", "opset"), [pytest.param(*v[1:], id=v[0]) for v in VARIANTS])
def test_opset_variants_match_onnxruntime(nodes, inits, opset) -> None:
    model = _model(nodes, [("x", list(X.shape))], ["y"], opset, inits)
    expected = onnxruntime_outputs(model, [X])[0]
    with cnnkit.no_grad():
        got = cnnkit.onnx.load(model, check=False)(X).numpy()  # outputs have no declared shape
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def test_unsupported_op_is_named_with_node_opset_and_the_supported_list() -> None:
    model = _model(
        [helper.make_node("Einsum", ["x", "x"], ["y"], name="mix", equation="ij,ij->i")], [("x", [2, 3])], ["y"], 13
    )
    with pytest.raises(cnnkit.onnx.UnsupportedOnnxError) as err:
        cnnkit.onnx.load(model, check=False)
    message = str(err.value)
    for part in ("'mix'", "'Einsum'", "opset 13", "supported ops:", "Conv", "Resize"):
        assert part in message


def test_unsupported_attribute_is_refused_at_load() -> None:
    model = _model(
        [helper.make_node("Resize", ["x", "", "s"], ["y"], name="up", mode="cubic")],
        [("x", [1, 1, 2, 2])],
        ["y"],
        13,
        [_floats("s", [1, 1, 2, 2])],
    )
    with pytest.raises(cnnkit.onnx.UnsupportedOnnxError, match=r"'up' \(Resize, opset 13\): mode 'cubic'"):
        cnnkit.onnx.load(model, check=False)


def test_load_errors_name_the_file(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="no such ONNX file"):
        cnnkit.onnx.load(tmp_path / "missing.onnx")
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x00not a model at all\xff" * 3)
    with pytest.raises(ValueError, match="junk.onnx"):
        cnnkit.onnx.load(junk)


def test_wrong_number_of_inputs_lists_the_graph_inputs() -> None:
    model = cnnkit.onnx.load(_model([helper.make_node("Relu", ["x"], ["y"])], [("x", [2, 3])], ["y"], 13), check=False)
    with pytest.raises(TypeError, match=r"expected 1 inputs \(x: float32 \[2, 3\]\), got 2"):
        model(np.zeros((2, 3), np.float32), np.zeros((2, 3), np.float32))


def _conv_bn_model():
    rng = np.random.default_rng(4)
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c", "g", "beta", "m", "v"], ["n"], name="bn1"),
        helper.make_node("Relu", ["n"], ["r"], name="relu"),
        helper.make_node("GlobalAveragePool", ["r"], ["p"], name="pool"),
        helper.make_node("Flatten", ["p"], ["f"], name="flat"),
        helper.make_node("Gemm", ["f", "fc_w", "fc_b"], ["y"], name="fc", transB=1),
    ]
    inits = [
        ("w", rng.standard_normal((4, 3, 3, 3)).astype(np.float32)),
        _floats("b", np.zeros(4)),
        _floats("g", np.ones(4)),
        _floats("beta", np.zeros(4)),
        _floats("m", rng.uniform(-1, 1, 4)),
        _floats("v", rng.uniform(0.5, 2, 4)),
        ("fc_w", rng.standard_normal((2, 4)).astype(np.float32)),
        _floats("fc_b", [0.5, -0.5]),
    ]
    return _model(nodes, [("x", ["n", 3, 8, 8])], ["y"], 13, inits)


def test_repr_state_dict_and_summary_show_the_nodes() -> None:
    model = cnnkit.onnx.load(_conv_bn_model(), check=False)
    text = repr(model)
    assert "(conv1): Conv(pads=[1, 1, 1, 1])" in text and "(fc): Gemm(transB=1)" in text
    state = model.state_dict()
    assert list(state) == [
        "conv1.weight",
        "conv1.bias",
        "bn1.weight",
        "bn1.bias",
        "bn1.running_mean",
        "bn1.running_var",
        "fc.weight",
        "fc.bias",
    ]
    assert [n for n, _ in model.named_parameters()] == [
        "conv1.weight",
        "conv1.bias",
        "bn1.weight",
        "bn1.bias",
        "fc.weight",
        "fc.bias",
    ]
    table = summary(model, (3, 8, 8), batch_size=2)
    assert [(r.name, r.layer_type, r.output_shape) for r in table.rows] == [
        ("conv1", "Conv", (2, 4, 8, 8)),
        ("bn1", "BatchNormalization", (2, 4, 8, 8)),
        ("relu", "Relu", (2, 4, 8, 8)),
        ("pool", "GlobalAveragePool", (2, 4, 1, 1)),
        ("flat", "Flatten", (2, 4)),
        ("fc", "Gemm", (2, 2)),
    ]
    assert table.total_params == 4 * 27 + 4 + 4 + 4 + 8 + 2


def test_imported_model_fine_tunes_with_batch_statistics_in_train_mode() -> None:
    model = cnnkit.onnx.load(_conv_bn_model(), check=False)
    assert not model.training  # loaded in eval mode: the graph as written
    x = cnnkit.tensor(np.random.default_rng(5).standard_normal((4, 3, 8, 8)).astype(np.float32))
    target = cnnkit.tensor(np.array([0, 1, 1, 0]))
    before_mean = model.bn1.running_mean.numpy().copy()
    optimizer = cnnkit.optim.SGD(model.parameters(), lr=0.1)
    model.train()
    losses = []
    for _ in range(5):
        loss = cnnkit.nn.functional.cross_entropy(model(x), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    assert model.conv1.weight.grad is not None and np.abs(model.conv1.weight.grad.numpy()).sum() > 0
    assert not np.allclose(model.bn1.running_mean.numpy(), before_mean)  # running statistics updated in place


def test_lrn_of_even_size_follows_the_onnx_formula() -> None:
    """onnxruntime refuses even sizes; the spec sums channels c − ⌊(size−1)/2⌋ … c + ⌈(size−1)/2⌉."""
    model = _model(
        [helper.make_node("LRN", ["x"], ["y"], size=4, alpha=0.01, beta=0.75, bias=2.0)],
        [("x", list(X.shape))],
        ["y"],
        13,
    )
    with cnnkit.no_grad():
        got = cnnkit.onnx.load(model, check=False)(X).numpy()
    squares = np.pad(X**2, ((0, 0), (1, 2), (0, 0), (0, 0)))  # 1 channel before, 2 after
    window = sum(squares[:, k : k + X.shape[1]] for k in range(4))
    np.testing.assert_allclose(got, X / (2.0 + 0.01 / 4 * window) ** 0.75, rtol=1e-5)

"""The exporter's op table: each traced cnnkit function (see `trace.py`) written as ONNX nodes.

A converter gets the graph builder and the recorded call (arguments by parameter name, the output) and
binds the call's output tensor to the name of the node output that computes it. Shapes are written so that
a dynamic batch axis keeps working: Flatten rather than a Reshape to fixed sizes, Reshape's `0` ("copy
this dim") for a leading dim that passes through, Resize by scales, Expand to 1 where a dim is kept.

Where PyTorch's and ONNX's operators agree, the mapping is direct (conv2d → Conv, max_pool2d → MaxPool,
batch_norm in eval → BatchNormalization, ...). Otherwise: gelu before opset 20 is written as its
formula; silu as x·σ(x); group_norm as InstanceNormalization over (N, G, −1) and a per-channel affine;
softmax along a dim other than the last before opset 13 between two Transposes; interpolate as Resize
with the coordinate rule that reproduces cnnkit's (asymmetric/floor for nearest, half_pixel/round up for
nearest-exact, pytorch_half_pixel or align_corners for bilinear). What has no ONNX equivalent (batch norm
in training mode, max_pool2d's indices, avg_pool2d's divisor_override, adaptive pooling to sizes that do not
divide the input, an even-sized LRN, circular padding before opset 19) raises an ExportError naming the op
and the module it ran in.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from cnnkit.onnx.graph import GraphBuilder
from cnnkit.onnx.tensors import onnx_type
from cnnkit.onnx.trace import Call, ExportError
from cnnkit.tensor import Tensor

Converter = Callable[[GraphBuilder, Call], None]
CONVERTERS: dict[str, Converter] = {}


def converter(*names: str) -> Callable[[Converter], Converter]:
    def add(fn: Converter) -> Converter:
        for name in names:
            CONVERTERS[name] = fn
        return fn

    return add


def fail(call: Call, message: str) -> ExportError:
    return ExportError(
        f"cnnkit.onnx.export: {call.function} in module {call.module or '(model)'!r} ({call.module_type}): {message}"
    )


def _pair(value: Any) -> tuple[int, int]:
    items = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    return int(items[0]), int(items[-1])


def _set(b: GraphBuilder, call: Call, name: str) -> None:
    b.bind(call.output, name)


def _x(b: GraphBuilder, call: Call, key: str = "input") -> str:
    return b.name(call.args[key])


def _need_4d(call: Call, x: Tensor) -> None:
    if x.ndim != 4:
        raise fail(call, f"expected a batched (N, C, H, W) input, got shape {x.shape}")


def _axes_input(b: GraphBuilder, inputs: list[str], axes: list[int], attr_before: int, op: str, **attrs: Any) -> str:
    """A node taking `axes` as an input from opset `attr_before` on, as an attribute before."""
    if b.opset >= attr_before:
        return b.op(op, inputs + [b.ints(axes, "axes")], **attrs)
    return b.op(op, inputs, axes=list(axes), **attrs)


# --------------------------------------------------------------------- convolution and pooling
@converter("conv2d")
def conv2d(b: GraphBuilder, call: Call) -> None:
    a = call.args
    x, w = a["input"], a["weight"]
    _need_4d(call, x)
    kernel = (w.shape[2], w.shape[3])
    dilation = _pair(a["dilation"])
    if isinstance(a["padding"], str):
        total = [0, 0] if a["padding"] == "valid" else [d * (k - 1) for k, d in zip(kernel, dilation, strict=True)]
        pads = [total[0] // 2, total[1] // 2, total[0] - total[0] // 2, total[1] - total[1] // 2]
    else:
        ph, pw = _pair(a["padding"])
        pads = [ph, pw, ph, pw]
    inputs = [b.name(x), b.name(w)] + ([b.name(a["bias"])] if a["bias"] is not None else [])
    _set(
        b,
        call,
        b.op(
            "Conv",
            inputs,
            kernel_shape=list(kernel),
            strides=list(_pair(a["stride"])),
            pads=pads,
            dilations=list(dilation),
            group=int(a["groups"]),
        ),
    )


@converter("conv_transpose2d")
def conv_transpose2d(b: GraphBuilder, call: Call) -> None:
    a = call.args
    x, w = a["input"], a["weight"]
    _need_4d(call, x)
    ph, pw = _pair(a["padding"])
    inputs = [b.name(x), b.name(w)] + ([b.name(a["bias"])] if a["bias"] is not None else [])
    _set(
        b,
        call,
        b.op(
            "ConvTranspose",
            inputs,
            kernel_shape=[w.shape[2], w.shape[3]],
            strides=list(_pair(a["stride"])),
            pads=[ph, pw, ph, pw],
            dilations=list(_pair(a["dilation"])),
            output_padding=list(_pair(a["output_padding"])),
            group=int(a["groups"]),
        ),
    )


def _pool_args(call: Call) -> tuple[list[int], list[int], list[int]]:
    a = call.args
    kernel = list(_pair(a["kernel_size"]))
    stride = a["stride"]
    strides = kernel if stride is None or (isinstance(stride, (tuple, list)) and not stride) else list(_pair(stride))
    ph, pw = _pair(a["padding"])
    return kernel, strides, [ph, pw, ph, pw]


@converter("max_pool2d")
def max_pool2d(b: GraphBuilder, call: Call) -> None:
    a = call.args
    _need_4d(call, a["input"])
    if a["return_indices"]:
        raise fail(call, "return_indices=True has no ONNX equivalent (MaxPool's indices count over the whole tensor)")
    kernel, strides, pads = _pool_args(call)
    dilations = list(_pair(a["dilation"]))
    _set(
        b,
        call,
        b.op(
            "MaxPool",
            [_x(b, call)],
            kernel_shape=kernel,
            strides=strides,
            pads=pads,
            dilations=dilations if dilations != [1, 1] else None,
            ceil_mode=int(bool(a["ceil_mode"])),
        ),
    )


@converter("avg_pool2d")
def avg_pool2d(b: GraphBuilder, call: Call) -> None:
    a = call.args
    _need_4d(call, a["input"])
    if a["divisor_override"] is not None:
        raise fail(call, "divisor_override has no ONNX equivalent")
    kernel, strides, pads = _pool_args(call)
    _set(
        b,
        call,
        b.op(
            "AveragePool",
            [_x(b, call)],
            kernel_shape=kernel,
            strides=strides,
            pads=pads,
            ceil_mode=int(bool(a["ceil_mode"])),
            count_include_pad=int(bool(a["count_include_pad"])),
        ),
    )


def _adaptive(b: GraphBuilder, call: Call, global_op: str, window_op: str) -> None:
    x, out = call.args["input"], call.output
    if isinstance(out, tuple):
        raise fail(call, "return_indices=True has no ONNX equivalent")
    _need_4d(call, x)
    (h, w), (oh, ow) = x.shape[2:], out.shape[2:]
    if (oh, ow) == (1, 1):
        _set(b, call, b.op(global_op, [b.name(x)]))
    elif h % oh == 0 and w % ow == 0:  # equal bins: a plain pooling window
        kernel = [h // oh, w // ow]
        _set(b, call, b.op(window_op, [b.name(x)], kernel_shape=kernel, strides=kernel))
    elif global_op == "GlobalAveragePool":  # unequal bins: the bin means are A_h · x · A_wᵀ
        a_w = b.constant(_bin_means(w, ow, x.dtype).T, "bins_w")
        a_h = b.constant(_bin_means(h, oh, x.dtype), "bins_h")
        _set(b, call, b.op("MatMul", [a_h, b.op("MatMul", [b.name(x), a_w])]))
    else:
        raise fail(
            call, f"adaptive max pooling from {(h, w)} to {(oh, ow)} has unequal bins, which ONNX cannot express"
        )


def _bin_means(n: int, out: int, dtype: np.dtype) -> np.ndarray:
    """(out × n): row i averages PyTorch's adaptive bin ⌊i·n/out⌋ … ⌈(i+1)·n/out⌉ − 1."""
    matrix = np.zeros((out, n), dtype=np.float64)
    for i in range(out):  # out rows of a small constant matrix, built once at export
        start, end = (i * n) // out, -(-(i + 1) * n // out)
        matrix[i, start:end] = 1.0 / (end - start)
    return matrix.astype(dtype)


converter("adaptive_avg_pool2d")(lambda b, call: _adaptive(b, call, "GlobalAveragePool", "AveragePool"))
converter("adaptive_max_pool2d")(lambda b, call: _adaptive(b, call, "GlobalMaxPool", "MaxPool"))


# --------------------------------------------------------------------- normalisation
def _ones_or(b: GraphBuilder, t: Tensor | None, size: int, fill: float, like: Tensor) -> str:
    return b.name(t) if t is not None else b.constant(np.full(size, fill, dtype=like.dtype), "const")


@converter("batch_norm")
def batch_norm(b: GraphBuilder, call: Call) -> None:
    a = call.args
    x = a["input"]
    if a["training"]:
        raise fail(call, "batch norm in training mode (batch statistics) cannot be exported; call model.eval()")
    c = x.shape[1]
    inputs = [
        b.name(x),
        _ones_or(b, a["weight"], c, 1.0, x),
        _ones_or(b, a["bias"], c, 0.0, x),
        b.name(a["running_mean"]),
        b.name(a["running_var"]),
    ]
    _set(b, call, b.op("BatchNormalization", inputs, epsilon=float(a["eps"])))


@converter("local_response_norm")
def local_response_norm(b: GraphBuilder, call: Call) -> None:
    a = call.args
    if int(a["size"]) % 2 == 0:
        raise fail(call, f"an even LRN size ({a['size']}) centres the window differently in ONNX")
    _set(
        b,
        call,
        b.op(
            "LRN",
            [_x(b, call)],
            size=int(a["size"]),
            alpha=float(a["alpha"]),
            beta=float(a["beta"]),
            bias=float(a["k"]),
        ),
    )


@converter("group_norm")
def group_norm(b: GraphBuilder, call: Call) -> None:
    """InstanceNormalization normalises each of (N, G, C/G·spatial)'s G rows; then γ·x̂ + β per channel."""
    a = call.args
    x, groups = a["input"], int(a["num_groups"])
    shape = list(x.shape)
    grouped = b.op("Reshape", [b.name(x), b.ints([0, groups, -1])])
    ones, zeros = np.ones(groups, dtype=x.dtype), np.zeros(groups, dtype=x.dtype)
    normed = b.op(
        "InstanceNormalization",
        [grouped, b.constant(ones, "ones"), b.constant(zeros, "zeros")],
        epsilon=float(a["eps"]),
    )
    y = b.op("Reshape", [normed, b.ints([0] + shape[1:])])
    per_channel = [shape[1]] + [1] * (x.ndim - 2)
    if a["weight"] is not None:
        y = b.op("Mul", [y, b.op("Reshape", [b.name(a["weight"]), b.ints(per_channel)])])
    if a["bias"] is not None:
        y = b.op("Add", [y, b.op("Reshape", [b.name(a["bias"]), b.ints(per_channel)])])
    _set(b, call, y)


@converter("layer_norm")
def layer_norm(b: GraphBuilder, call: Call) -> None:
    """LayerNormalization from opset 17; before, its formula (x − μ)/√(σ² + ε)·γ + β over the trailing dims."""
    a = call.args
    x = a["input"]
    dims = (a["normalized_shape"],) if isinstance(a["normalized_shape"], int) else tuple(a["normalized_shape"])
    if b.opset >= 17:
        scale = b.name(a["weight"]) if a["weight"] is not None else b.constant(np.ones(dims, dtype=x.dtype), "ones")
        inputs = [b.name(x), scale] + ([b.name(a["bias"])] if a["bias"] is not None else [])
        _set(b, call, b.op("LayerNormalization", inputs, axis=-len(dims), epsilon=float(a["eps"])))
        return
    axes = list(range(x.ndim - len(dims), x.ndim))
    centred = b.op("Sub", [b.name(x), _axes_input(b, [b.name(x)], axes, 18, "ReduceMean", keepdims=1)])
    variance = _axes_input(b, [b.op("Mul", [centred, centred])], axes, 18, "ReduceMean", keepdims=1)
    eps = b.constant(np.asarray(a["eps"], dtype=x.dtype), "eps")
    y = b.op("Div", [centred, b.op("Sqrt", [b.op("Add", [variance, eps])])])
    if a["weight"] is not None:
        y = b.op("Mul", [y, b.name(a["weight"])])
    if a["bias"] is not None:
        y = b.op("Add", [y, b.name(a["bias"])])
    _set(b, call, y)


# --------------------------------------------------------------------- products
@converter("matmul")
def matmul(b: GraphBuilder, call: Call) -> None:
    _set(b, call, b.op("MatMul", [b.name(call.args["a"]), b.name(call.args["b"])]))


@converter("linear")
def linear(b: GraphBuilder, call: Call) -> None:
    a = call.args
    x, w, bias = a["x"], a["weight"], a["bias"]
    if x.ndim == 2:
        inputs = [b.name(x), b.name(w)] + ([b.name(bias)] if bias is not None else [])
        _set(b, call, b.op("Gemm", inputs, transB=1))
        return
    y = b.op("MatMul", [b.name(x), b.op("Transpose", [b.name(w)], perm=[1, 0])])
    _set(b, call, b.op("Add", [y, b.name(bias)]) if bias is not None else y)


# --------------------------------------------------------------------- activations
def _simple(name: str, op_type: str, **fixed: Any) -> None:
    converter(name)(lambda b, call: _set(b, call, b.op(op_type, [_x(b, call)], **fixed)))


_simple("relu", "Relu")
converter("leaky_relu")(
    lambda b, call: _set(b, call, b.op("LeakyRelu", [_x(b, call)], alpha=float(call.args["negative_slope"])))
)
converter("elu")(lambda b, call: _set(b, call, b.op("Elu", [_x(b, call)], alpha=float(call.args["alpha"]))))


@converter("silu")
def silu(b: GraphBuilder, call: Call) -> None:
    x = _x(b, call)
    _set(b, call, b.op("Mul", [x, b.op("Sigmoid", [x])]))


@converter("gelu")
def gelu(b: GraphBuilder, call: Call) -> None:
    x_t = call.args["input"]
    x, approximate = b.name(x_t), call.args["approximate"]
    if b.opset >= 20:
        _set(b, call, b.op("Gelu", [x], approximate=approximate))
        return

    def c(v: float) -> str:
        return b.constant(np.asarray(v, dtype=x_t.dtype), "const")

    if approximate == "tanh":  # ½x(1 + tanh(√(2/π)(x + 0.044715x³)))
        cube = b.op("Mul", [b.op("Mul", [x, x]), x])
        inner = b.op("Mul", [b.op("Add", [x, b.op("Mul", [cube, c(0.044715)])]), c(math.sqrt(2 / math.pi))])
        core = b.op("Tanh", [inner])
    else:  # ½x(1 + erf(x/√2))
        core = b.op("Erf", [b.op("Div", [x, c(math.sqrt(2.0))])])
    _set(b, call, b.op("Mul", [b.op("Mul", [x, c(0.5)]), b.op("Add", [core, c(1.0)])]))


@converter("softplus")
def softplus(b: GraphBuilder, call: Call) -> None:
    x_t, beta = call.args["input"], float(call.args["beta"])
    x = b.name(x_t)
    if beta == 1.0:  # ONNX has no threshold: log(1 + eˣ) − x < 2e-9 past cnnkit's cut-off of 20
        _set(b, call, b.op("Softplus", [x]))
        return
    beta_c = b.constant(np.asarray(beta, dtype=x_t.dtype), "beta")
    _set(b, call, b.op("Div", [b.op("Softplus", [b.op("Mul", [x, beta_c])]), beta_c]))


def _clip(b: GraphBuilder, x: str, like: Tensor, low: float | None, high: float | None) -> str:
    def bound(v: float | None) -> str:
        return "" if v is None else b.constant(np.asarray(v, dtype=like.dtype), "bound")

    inputs = [x, bound(low), bound(high)]
    while inputs[-1] == "":
        inputs.pop()
    return b.op("Clip", inputs)


converter("hardtanh")(
    lambda b, call: _set(
        b, call, _clip(b, _x(b, call), call.args["input"], float(call.args["min_val"]), float(call.args["max_val"]))
    )
)
converter("relu6")(lambda b, call: _set(b, call, _clip(b, _x(b, call), call.args["input"], 0.0, 6.0)))
converter("clamp")(
    lambda b, call: _set(b, call, _clip(b, b.name(call.args["a"]), call.args["a"], call.args["min"], call.args["max"]))
)


def _softmax(op_type: str) -> Converter:
    def convert(b: GraphBuilder, call: Call) -> None:
        x_t, dim = call.args["input"], int(call.args["dim"])
        axis = dim % max(x_t.ndim, 1)
        if b.opset >= 13 or axis == x_t.ndim - 1:  # before 13 ONNX flattens at axis: the same only for the last
            _set(b, call, b.op(op_type, [b.name(x_t)], axis=axis))
            return
        perm = list(range(x_t.ndim))
        perm[axis], perm[-1] = perm[-1], perm[axis]
        moved = b.op("Transpose", [b.name(x_t)], perm=perm)
        _set(b, call, b.op("Transpose", [b.op(op_type, [moved], axis=x_t.ndim - 1)], perm=perm))

    return convert


converter("softmax")(_softmax("Softmax"))
converter("log_softmax")(_softmax("LogSoftmax"))


@converter("dropout", "dropout2d")
def dropout(b: GraphBuilder, call: Call) -> None:
    if call.output is not call.args["input"]:
        raise fail(call, "dropout in training mode cannot be exported; call model.eval()")


# --------------------------------------------------------------------- element-wise
def _operand(b: GraphBuilder, value: Any, out: Tensor) -> str:
    """An operand in the output's dtype: a constant for a number, a Cast for a tensor of another dtype."""
    if isinstance(value, Tensor) and b.known(value) and value.dtype != out.dtype:
        return b.op("Cast", [b.name(value)], to=onnx_type(out.dtype))
    if isinstance(value, Tensor) and not b.known(value) and value.dtype != out.dtype:
        return b.constant(value._data.astype(out.dtype), "const")
    return b.name(value, like=out) if not isinstance(value, Tensor) else b.name(value)


def _binary(name: str, op_type: str) -> None:
    def convert(b: GraphBuilder, call: Call) -> None:
        out = call.output
        _set(b, call, b.op(op_type, [_operand(b, call.args["a"], out), _operand(b, call.args["b"], out)]))

    converter(name)(convert)


for _name, _op in (("add", "Add"), ("sub", "Sub"), ("mul", "Mul"), ("div", "Div"), ("maximum", "Max")):
    _binary(_name, _op)


@converter("pow")
def pow_(b: GraphBuilder, call: Call) -> None:
    out = call.output
    _set(b, call, b.op("Pow", [_operand(b, call.args["a"], out), _operand(b, call.args["b"], out)]))


for _name, _op in (
    ("neg", "Neg"),
    ("exp", "Exp"),
    ("log", "Log"),
    ("sqrt", "Sqrt"),
    ("abs", "Abs"),
    ("sigmoid", "Sigmoid"),
    ("tanh", "Tanh"),
):
    converter(_name)(lambda b, call, _op=_op: _set(b, call, b.op(_op, [b.name(call.args["a"])])))


@converter("cast")
def cast(b: GraphBuilder, call: Call) -> None:
    a = call.args["a"]
    if call.output is a:
        return
    _set(b, call, b.op("Cast", [b.name(a)], to=onnx_type(call.output.dtype)))


# --------------------------------------------------------------------- reductions
def _reduction(name: str, op_type: str, axes_input_since: int) -> None:
    def convert(b: GraphBuilder, call: Call) -> None:
        x, dim, keep = call.args["x"], call.args["dim"], int(bool(call.args["keepdim"]))
        axes = (
            list(range(x.ndim))
            if dim is None
            else [int(d) % x.ndim for d in (dim if isinstance(dim, (list, tuple)) else (dim,))]
        )
        _set(b, call, _axes_input(b, [b.name(x)], axes, axes_input_since, op_type, keepdims=keep))

    converter(name)(convert)


_reduction("sum", "ReduceSum", 13)
_reduction("mean", "ReduceMean", 18)

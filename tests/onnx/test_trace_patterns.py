"""The tracer sees an op whatever reference it is called through: a closure variable, functools.partial, a dict
of ops, a method alias on a module, an alias in another module; each export checked with onnxruntime."""

from __future__ import annotations

import dis
import functools
import importlib
import sys

import numpy as np
import pytest

from tests.onnx.onnx_cases import onnxruntime_outputs

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
import cnnkit  # noqa: E402
import cnnkit.nn.functional as F  # noqa: E402
import cnnkit.onnx  # noqa: E402
from cnnkit import nn  # noqa: E402
from cnnkit.onnx.trace import TRACED  # noqa: E402
from cnnkit.tensor import Tensor  # noqa: E402


def closure_model() -> nn.Module:
    cat = cnnkit.cat  # captured by the builder: never a module attribute

    class Closure(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(2, 3, 3, padding=1)

        def forward(self, x: Tensor) -> Tensor:
            return cat([self.conv(x), x], dim=1)

    return Closure()


class Partial(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.join = functools.partial(cnnkit.cat, dim=1)
        self.conv = nn.Conv2d(2, 3, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        return self.join([x, self.conv(x)])


OPS = {"join": cnnkit.cat, "act": F.relu, "squash": cnnkit.sigmoid}


class DictOfOps(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 2, 1)

    def forward(self, x: Tensor) -> Tensor:
        return OPS["join"]([OPS["act"](self.conv(x)), OPS["squash"](x)], 1)


class MethodAlias(nn.Module):
    join = staticmethod(cnnkit.cat)  # an op stored as a method on the module's class

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 2, 3, padding=1)
        self.flip = cnnkit.ops.shape.permute  # and one on the instance

    def forward(self, x: Tensor) -> Tensor:
        h = self.join((self.conv(x), x * 0.5), dim=1)
        return self.flip(h, (0, 1, 3, 2))


@pytest.mark.parametrize("build", [closure_model, Partial, DictOfOps, MethodAlias],
                         ids=["closure", "partial", "dict", "method-alias"])
def test_every_reference_to_an_op_exports(build, tmp_path) -> None:
    cnnkit.manual_seed(0)
    model = build()
    x = cnnkit.randn(2, 2, 5, 4)
    proto = cnnkit.onnx.export(model, x, tmp_path / "m.onnx", dynamic_axes={"input": [0]})
    assert "Concat" in {n.op_type for n in proto.graph.node}
    for batch in (2, 3):
        xb = cnnkit.randn(batch, 2, 5, 4)
        with cnnkit.no_grad():
            expected = model(xb).numpy()
        np.testing.assert_allclose(onnxruntime_outputs(proto, [xb.numpy()])[0], expected, rtol=1e-5, atol=1e-6)


def test_the_recorder_is_cleared_after_an_export_and_after_a_failed_one(tmp_path) -> None:
    class Var(nn.Module):
        def forward(self, x: Tensor) -> Tensor:
            return x.var(dim=1)

    tensor_module = sys.modules["cnnkit.tensor"]  # `cnnkit.tensor` the attribute is the function
    cnnkit.onnx.export(Partial(), cnnkit.randn(1, 2, 3, 3), tmp_path / "a.onnx")
    assert tensor_module.recorder is None
    with pytest.raises(cnnkit.onnx.ExportError, match="the op 'Var'"):
        cnnkit.onnx.export(Var(), cnnkit.randn(1, 2, 3, 3), tmp_path / "b.onnx")
    assert tensor_module.recorder is None


# The tracer reads a call's arguments from its frame when the call's first op is recorded, so a traced function
# must not give a parameter another meaning before then. These rebind one only to normalise it.
# (groups: int(groups); a, b: the operands as tensors of one dtype.)
NORMALISING = {"conv2d": {"stride", "dilation", "groups"},
               "conv_transpose2d": {"stride", "output_padding", "dilation", "groups"},
               "local_response_norm": {"k"}, "permute": {"dims"}, "cat": {"tensors"}, "stack": {"tensors"},
               "add": {"a", "b"}, "sub": {"a", "b"}, "mul": {"a", "b"}, "div": {"a", "b"}}


def test_traced_functions_rebind_parameters_only_to_normalise_them() -> None:
    rebinding = {}
    for module_name, names in TRACED.items():
        module = importlib.import_module(module_name)
        for name in names:
            code = getattr(module, name).__code__
            count = code.co_argcount + code.co_kwonlyargcount + bool(code.co_flags & 4) + bool(code.co_flags & 8)
            stored = {i.argval for i in dis.get_instructions(code) if i.opname in ("STORE_FAST", "DELETE_FAST")}
            if stored & set(code.co_varnames[:count]):
                rebinding[name] = stored & set(code.co_varnames[:count])
    assert rebinding == NORMALISING, "a traced function rebinds a parameter: check the tracer reads it right"

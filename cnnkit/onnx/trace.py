"""Recording what a model computes: the tracer behind `cnnkit.onnx.export`.

Every op passes through `cnnkit.tensor.record`, however it was reached: `cnnkit.cat`, a closure variable
`cat = cnnkit.cat`, `functools.partial(cnnkit.cat, dim=1)`, a dict of ops, a method alias stored on a module.
While a model runs under a `Tracer`, `cnnkit.tensor.recorder` is set, and each recorded op is attributed to the
outermost running function listed in `TRACED` (found by walking the Python stack for those functions' code
objects), whose arguments the exporter needs (a Permute's dims, a Cat's axis, an interpolation's mode):

- the first op recorded inside a new outermost call notes a `Call`: the function, its arguments read from its
  frame (bound to parameter names, defaults filled in), and the module it ran in; later ops recorded inside the
  same call (a softmax's exp, sum and div) update the call's output, so the call's output is its last op's;
- an op recorded outside every listed function, on a tensor computed from the input, is one the exporter does
  not know: the trace stops with an error naming the op and the module;
- forward pre-hooks and hooks on every submodule keep the stack of running modules, for names and errors;
- reading a traced tensor's values in Python (comparisons, `item()`, `bool()`, `numpy()`) outside an op is
  refused: the graph could not follow a data-dependent decision and would silently bake in this input's answer.

The arguments are read when the call's first op is recorded, so a listed function must not rebind a parameter
to something of another meaning before then (normalising one, `stride = _int_pair(stride)`, is fine; the tests
keep the list of functions that do). Everything is put back when the `with` block ends, even after an error.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from types import CodeType, FrameType
from typing import Any

from cnnkit.nn.module import Module
from cnnkit.tensor import Tensor

TRACED = {
    "cnnkit.ops.conv": ("conv2d", "conv_transpose2d"),
    "cnnkit.ops.pool": ("max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "adaptive_max_pool2d"),
    "cnnkit.ops.norm": ("batch_norm", "local_response_norm", "group_norm", "layer_norm"),
    "cnnkit.ops.matmul": ("matmul", "linear"),
    "cnnkit.ops.activation": (
        "relu",
        "leaky_relu",
        "elu",
        "gelu",
        "silu",
        "softplus",
        "hardtanh",
        "relu6",
        "softmax",
        "log_softmax",
        "dropout",
        "dropout2d",
    ),
    "cnnkit.ops.elementwise": (
        "add",
        "sub",
        "mul",
        "div",
        "pow",
        "neg",
        "exp",
        "log",
        "sqrt",
        "abs",
        "sigmoid",
        "tanh",
        "clamp",
        "maximum",
        "cast",
    ),
    "cnnkit.ops.shape": (
        "reshape",
        "flatten",
        "permute",
        "squeeze",
        "unsqueeze",
        "expand",
        "repeat",
        "getitem",
        "cat",
        "stack",
        "clone",
    ),
    "cnnkit.ops.reduce": ("sum", "mean"),
    "cnnkit.ops.pad": ("pad",),
    "cnnkit.ops.resample": ("interpolate",),
}
_READS = (
    "__lt__",
    "__le__",
    "__gt__",
    "__ge__",
    "__eq__",
    "__ne__",
    "__bool__",
    "__float__",
    "__int__",
    "__index__",
    "item",
    "tolist",
    "numpy",
)


class ExportError(ValueError):
    """The model does something the ONNX exporter cannot write; the message names the op and the module."""


@dataclass
class Call:
    """One outermost call of a traced function during the forward pass."""

    function: str  # e.g. "conv2d"
    args: dict[str, Any]  # bound to the function's parameter names, defaults filled in
    output: Any
    module: str  # qualified name of the innermost running module ("" for the model itself)
    module_type: str


@dataclass
class Tracer:
    """Context manager recording the traced calls of one forward pass of `model`."""

    model: Module
    calls: list[Call] = field(default_factory=list)
    traced: dict[int, Tensor] = field(default_factory=dict)  # id → tensor computed from the inputs
    _functions: dict[CodeType, tuple[str, inspect.Signature]] = field(default_factory=dict)
    _open: tuple[FrameType, Call] | None = None  # the call whose ops are being recorded
    _stack: list[tuple[str, str]] = field(default_factory=list)
    _undo: list[Callable[[], None]] = field(default_factory=list)

    def __enter__(self) -> Tracer:
        try:
            self._hook_modules()
            self._patch_functions()
            self._patch_reads()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        while self._undo:
            self._undo.pop()()
        self._open = None  # drop the last call's frame (and the arrays its locals hold)

    def mark_inputs(self, tensors: list[Tensor]) -> None:
        for t in tensors:
            self.traced[id(t)] = t

    @property
    def where(self) -> tuple[str, str]:
        return self._stack[-1] if self._stack else ("", type(self.model).__name__)

    # ----------------------------------------------------------------- module stack
    def _hook_modules(self) -> None:
        for name, module in self.model.named_modules():
            pre = module.register_forward_pre_hook(self._enter_module(name))
            post = module.register_forward_hook(self._leave_module)
            self._undo += [pre.remove, post.remove]

    def _enter_module(self, name: str) -> Callable[[Module, tuple], None]:
        def hook(module: Module, args: tuple) -> None:
            self._stack.append((name, type(module).__name__))

        return hook

    def _leave_module(self, module: Module, args: tuple, output: Any) -> None:
        self._stack.pop()

    # ----------------------------------------------------------------- ops, seen where they are recorded
    def _patch_functions(self) -> None:
        tensor_module = sys.modules["cnnkit.tensor"]  # the module: `cnnkit.tensor` the attribute is a function
        self._functions = {}
        for module_name, names in TRACED.items():
            module = sys.modules.get(module_name) or importlib.import_module(module_name)
            for name in names:
                function = getattr(module, name)
                self._functions[function.__code__] = (name, inspect.signature(function))
        previous = tensor_module.recorder
        tensor_module.recorder = self._on_record
        self._undo.append(_restorer_attr(tensor_module, "recorder", previous))

    def _outermost_op(self) -> FrameType | None:
        """The outermost frame on the stack running one of the TRACED functions."""
        found, frame = None, sys._getframe(1)
        while frame is not None:
            if frame.f_code in self._functions:
                found = frame
            frame = frame.f_back
        return found

    def _on_record(self, output: Tensor, inputs: Any, op: str) -> None:
        frame = self._outermost_op()
        if frame is None:
            if any(id(t) in self.traced for t in inputs):
                module, module_type = self.where
                raise ExportError(
                    f"cnnkit.onnx.export: the op {op!r} in module {module or '(model)'!r} "
                    f"({module_type}) has no ONNX export; the exporter writes the functions "
                    f"{', '.join(exportable())}"
                )
            return
        if self._open is not None and self._open[0] is frame:  # another op inside the same call
            call = self._open[1]
            call.output = output
        else:
            name, signature = self._functions[frame.f_code]
            local = frame.f_locals
            args = {p: local[p] for p in signature.parameters if p in local}
            module, module_type = self.where
            call = Call(name, args, output, module, module_type)
            self.calls.append(call)
            self._open = (frame, call)
        self.traced[id(output)] = output

    def _inside_op(self) -> bool:
        return self._outermost_op() is not None

    # ----------------------------------------------------------------- data-dependent reads
    def _patch_reads(self) -> None:
        for name in _READS:
            original = getattr(Tensor, name)
            setattr(Tensor, name, self._refuse_read(name, original))
            self._undo.append(_restorer_attr(Tensor, name, original))

    def _refuse_read(self, name: str, original: Callable) -> Callable:
        tracer = self

        def read(t: Tensor, *args: Any) -> Any:
            if id(t) in tracer.traced and not tracer._inside_op():
                module, module_type = tracer.where
                raise ExportError(
                    f"cnnkit.onnx.export: module {module or '(model)'!r} ({module_type}) reads the "
                    f"values of a tensor computed from the input (Tensor.{name}); an ONNX graph cannot "
                    f"follow a decision taken on this input's values"
                )
            return original(t, *args)

        return read


def exportable() -> list[str]:
    """The traced function names, sorted."""
    return sorted({name for names in TRACED.values() for name in names})


def _restorer_attr(owner: type, name: str, value: Any) -> Callable[[], None]:
    def restore() -> None:
        setattr(owner, name, value)

    return restore

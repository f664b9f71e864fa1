"""Recording what a model computes: the tracer behind `cnnkit.onnx.export`.

`cnnkit.tensor.record(data, inputs, backward, name)` sees every op, but not its arguments (a Permute's
dims, a Cat's axis, an interpolation's mode), and an ONNX node needs them. So while a model runs under a
`Tracer`:

- the public functions of `cnnkit.ops` listed in `TRACED` are replaced, wherever a module holds them (the
  ops modules themselves, `cnnkit.nn.functional`, `cnnkit`, model code that imported them by name), by
  wrappers that note each outermost call — function, arguments bound to parameter names, output, and the
  module it ran in — and run the original; calls made inside a noted call are its own business;
- `record` is replaced too, as a safety net: an op recorded outside every noted call is one the exporter
  does not know, and the trace stops with an error naming the op and the module;
- forward pre-hooks and hooks on every submodule keep the stack of running modules, for names and errors;
- reading a traced tensor's values in Python (comparisons, `item()`, `bool()`, `numpy()`) is refused: the
  graph could not follow a data-dependent decision and would silently bake in this input's answer.

Everything is put back when the `with` block ends, even after an error.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
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
    depth: int = 0
    traced: dict[int, Tensor] = field(default_factory=dict)  # id → tensor computed from the inputs
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

    # ----------------------------------------------------------------- functions
    def _patch_functions(self) -> None:
        wrappers: dict[int, Callable] = {}
        for module_name, names in TRACED.items():
            module = sys.modules.get(module_name) or __import__(module_name, fromlist=["_"])
            for name in names:
                original = getattr(module, name)
                wrappers[id(original)] = self._wrap(name, original)
        original_record = importlib.import_module("cnnkit.tensor").record  # `cnnkit.tensor` is also a function
        wrappers[id(original_record)] = self._guard_record(original_record)
        for module in list(sys.modules.values()):
            namespace = getattr(module, "__dict__", None)
            if not isinstance(namespace, dict) or getattr(module, "__name__", "").startswith("cnnkit.onnx"):
                continue
            for key, value in list(namespace.items()):
                if callable(value) and id(value) in wrappers:
                    namespace[key] = wrappers[id(value)]
                    self._undo.append(_restorer(namespace, key, value))

    def _wrap(self, name: str, original: Callable) -> Callable:
        signature = inspect.signature(original)
        tracer = self

        def traced(*args: Any, **kwargs: Any) -> Any:
            if tracer.depth:
                return original(*args, **kwargs)
            tracer.depth += 1
            try:
                output = original(*args, **kwargs)
            finally:
                tracer.depth -= 1
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            module, module_type = tracer.where
            tracer.calls.append(Call(name, dict(bound.arguments), output, module, module_type))
            for out in output if isinstance(output, (tuple, list)) else (output,):
                if isinstance(out, Tensor):
                    tracer.traced[id(out)] = out
            return output

        traced.__wrapped__ = original
        return traced

    def _guard_record(self, original: Callable) -> Callable:
        tracer = self

        def guarded(data: Any, inputs: Any, backward: Any, name: str) -> Tensor:
            if not tracer.depth and any(id(t) in tracer.traced for t in inputs):
                module, module_type = tracer.where
                raise ExportError(
                    f"cnnkit.onnx.export: the op {name!r} in module {module or '(model)'!r} "
                    f"({module_type}) has no ONNX export; the exporter writes the functions "
                    f"{', '.join(exportable())}"
                )
            return original(data, inputs, backward, name)

        return guarded

    # ----------------------------------------------------------------- data-dependent reads
    def _patch_reads(self) -> None:
        for name in _READS:
            original = getattr(Tensor, name)
            setattr(Tensor, name, self._refuse_read(name, original))
            self._undo.append(_restorer_attr(Tensor, name, original))

    def _refuse_read(self, name: str, original: Callable) -> Callable:
        tracer = self

        def read(t: Tensor, *args: Any) -> Any:
            if id(t) in tracer.traced and not tracer.depth:
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


def _restorer(namespace: dict, key: str, value: Any) -> Callable[[], None]:
    def restore() -> None:
        namespace[key] = value

    return restore


def _restorer_attr(owner: type, name: str, value: Any) -> Callable[[], None]:
    def restore() -> None:
        setattr(owner, name, value)

    return restore

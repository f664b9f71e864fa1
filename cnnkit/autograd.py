"""Reverse-mode automatic differentiation: grad mode, graph nodes and the backward walk.

Every differentiable op records a `Node` on the tensor it returns: the op's input tensors, the graph vertex
of each (its Node, or the leaf itself) and a closure that maps the gradient of the output to one gradient per
input (or None). `run_backward` orders the vertices topologically without recursion (so a 1,000-layer net is
fine), then applies the chain rule from the output back to the leaves, summing gradients that meet at a vertex.

In-place safety: each tensor has a version counter that every in-place write bumps (shared with its views);
a Node remembers the versions its inputs and output had, and backward refuses, with PyTorch's error, to read
a value that was overwritten since (`check_saved_versions`). How in-place ops rebase the graph: `inplace.py`.
"""

from __future__ import annotations

import itertools
import threading
import weakref
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from cnnkit.tensor import Tensor

BackwardFn = Callable[[np.ndarray], Sequence[np.ndarray | None]]

_state = threading.local()


def is_grad_enabled() -> bool:
    """True unless inside `no_grad()`: only then do ops record a graph."""
    return getattr(_state, "enabled", True)


def set_grad_enabled(mode: bool) -> None:
    _state.enabled = bool(mode)


class _GradMode:
    """Context manager (and decorator) that sets grad mode and restores it on exit."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.previous: list[bool] = []

    def __enter__(self) -> None:
        self.previous.append(is_grad_enabled())
        set_grad_enabled(self.enabled)

    def __exit__(self, *exc: Any) -> None:
        set_grad_enabled(self.previous.pop())

    def __call__(self, fn: Callable) -> Callable:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with _GradMode(self.enabled):
                return fn(*args, **kwargs)

        wrapper.__name__ = getattr(fn, "__name__", "wrapper")
        wrapper.__doc__ = fn.__doc__
        return wrapper


def no_grad() -> _GradMode:
    """`with cnnkit.no_grad():` — ops inside record no graph (inference, optimiser updates)."""
    return _GradMode(False)


def enable_grad() -> _GradMode:
    return _GradMode(True)


class VersionCounter:
    """How many in-place writes a tensor's memory has had; one counter is shared by a tensor, its views and
    its `detach()`, because they share the memory."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0


class Node:
    """One recorded op: its name, its input tensors, its backward closure, and where each input's gradient goes.

    `edges[i]` is the graph vertex of input i when the op ran: that input's own Node, or the input itself when
    it is a leaf that requires grad, or None. An edge names the *value* that went in, so a later in-place write
    to the input, which gives the input a new Node, does not redirect this op's gradient.
    `counters`/`versions` are the version counters of the inputs and of the output, and their values when the
    op ran; `output` is the output's array. Backward compares the counters (see `check_saved_versions`).
    """

    __slots__ = ("name", "inputs", "backward", "edges", "counters", "versions", "output", "retained")

    def __init__(self, name: str, inputs: tuple[Tensor, ...], backward: BackwardFn,
                 edges: tuple[Any, ...] | None = None, output: np.ndarray | None = None,
                 output_counter: VersionCounter | None = None) -> None:
        self.name = name
        self.inputs = inputs
        self.backward: BackwardFn | None = backward
        self.edges = tuple(vertex(t) for t in inputs) if edges is None else edges
        counters = tuple(t._vc for t in inputs)
        if output_counter is not None:
            counters += (output_counter,)
        self.counters = counters
        self.versions = tuple(c.value for c in counters)
        self.output = output
        self.retained: Tensor | None = None  # the tensor whose `.grad` this node's gradient fills (retain_grad)

    def __repr__(self) -> str:
        return f"<{self.name}Backward>"


def vertex(t: Tensor) -> Any:
    """The graph vertex a gradient for t's current value goes to: its Node, itself if a leaf needing grad, or None."""
    node = t._node
    if node is not None:
        return node
    return t if t.requires_grad else None


# ------------------------------------------------------------------------------------------ saved-value checks
# An op's backward reads whatever its closure holds: arrays (an input, the output, or something derived from
# them) and input tensors (read through `._data` when backward runs). If an in-place write bumped the version
# of an input or of the output since the op ran, and the closure holds memory that overlaps that tensor's,
# the gradient would be computed from overwritten values: backward raises instead. A held Tensor counts as
# read (its data may be), so an op that needs only an input's shape keeps the shape, not the tensor.

def holds_memory_of(obj: Any, array: np.ndarray, depth: int = 0, seen: set[int] | None = None) -> bool:
    """True when obj (a closure, a tuple, an object's attributes, ...) holds an array overlapping `array`."""
    if isinstance(obj, np.ndarray):
        return obj.size > 0 and np.may_share_memory(obj, array)
    if depth > 5 or obj is None or isinstance(obj, (int, float, str, bool, type)):
        return False
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return False
    seen.add(id(obj))
    data = getattr(obj, "_data", None) if hasattr(type(obj), "_vc") else None
    if isinstance(data, np.ndarray):  # a Tensor
        return holds_memory_of(data, array, depth + 1, seen)
    if isinstance(obj, (tuple, list, set, frozenset)):
        return any(holds_memory_of(item, array, depth + 1, seen) for item in obj)
    if isinstance(obj, dict):
        return any(holds_memory_of(item, array, depth + 1, seen) for item in obj.values())
    parts: list[Any] = []
    if hasattr(obj, "__func__"):  # a bound method: its object and its function
        parts += [obj.__self__, obj.__func__]
    elif callable(obj) and hasattr(obj, "__code__"):
        parts += [cell.cell_contents for cell in (obj.__closure__ or ()) if _has_contents(cell)]
        parts += list(obj.__defaults__ or ()) + list((obj.__kwdefaults__ or {}).values())
    elif hasattr(obj, "__dict__") and not isinstance(obj, type) and type(obj).__module__ != "builtins":
        parts += list(vars(obj).values())  # e.g. a Function's ctx, or a module whose weights backward reads
    return any(holds_memory_of(part, array, depth + 1, seen) for part in parts)


def _has_contents(cell: Any) -> bool:
    try:
        cell.cell_contents  # noqa: B018 - an empty cell raises
    except ValueError:
        return False
    return True


_TYPE_NAMES = {"float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor", "int64": "LongTensor",
               "int32": "IntTensor", "int16": "ShortTensor", "int8": "CharTensor", "uint8": "ByteTensor",
               "bool": "BoolTensor"}


def tensor_type_name(array: np.ndarray) -> str:
    """PyTorch's name for a CPU tensor of this dtype and shape, as its error messages print it."""
    name = _TYPE_NAMES.get(str(array.dtype), f"{array.dtype}Tensor")
    return f"[{name} [{', '.join(str(n) for n in array.shape)}]]"


def check_saved_versions(node: Node) -> None:
    """Raise if an in-place write changed a value this node's backward still reads (PyTorch's error)."""
    for i, (counter, version) in enumerate(zip(node.counters, node.versions, strict=True)):
        if counter.value == version:
            continue
        is_output = i == len(node.inputs)
        array = node.output if is_output else node.inputs[i]._data
        if array is None or not holds_memory_of(node.backward, array):
            continue
        if is_output:
            origin = f", which is output 0 of {node.name}Backward,"
        else:
            producer = node.edges[i]
            origin = f", which is output 0 of {producer.name}Backward," if isinstance(producer, Node) else ""
        raise RuntimeError(
            "one of the variables needed for gradient computation has been modified by an inplace operation: "
            f"{tensor_type_name(array)}{origin} is at version {counter.value}; expected version {version} "
            f"instead (needed by {node.name}Backward). Hint: replace the in-place operation by its "
            "out-of-place form (x.add_(y) by x = x + y, x[i] = v by a torch.where or a cat), or clone() the "
            "tensor before writing into it."
        )


def _topological_order(roots: Sequence[Any]) -> list[Any]:
    """Graph vertices (Nodes and leaf tensors), each after every vertex it was computed from (iterative DFS)."""
    order: list[Any] = []
    visited: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False) for root in reversed(roots)]
    while stack:
        item, expanded = stack.pop()
        if expanded:
            order.append(item)
            continue
        if id(item) in visited:
            continue
        visited.add(id(item))
        stack.append((item, True))
        if type(item) is Node:
            # Inputs pushed last-first, so the first input's subgraph is walked first: in the reversed order
            # each op's leaf inputs (its weight and bias) then come right after the op, and their gradients
            # are final while backward goes on (data-parallel training communicates them meanwhile).
            for parent in reversed(item.edges):
                if parent is not None and id(parent) not in visited:
                    stack.append((parent, False))
    return order


# Post-accumulate-grad hooks of leaf tensors: id(tensor) → {handle id: hook}. Kept here rather than on the
# Tensor (which has fixed __slots__); an entry goes away with its tensor.
_post_accumulate_hooks: dict[int, dict[int, Callable[[Tensor], None]]] = {}
_hook_ids = itertools.count()


class HookHandle:
    """Returned by `Tensor.register_post_accumulate_grad_hook`; `.remove()` unregisters the hook."""

    def __init__(self, hooks: dict[int, Callable], key: int) -> None:
        self._hooks, self.id = hooks, key

    def remove(self) -> None:
        self._hooks.pop(self.id, None)


def register_post_accumulate_grad_hook(tensor: Tensor, hook: Callable[[Tensor], None]) -> HookHandle:
    """Call `hook(tensor)` each time backward has accumulated a gradient into this leaf's `.grad` (PyTorch's
    `Tensor.register_post_accumulate_grad_hook`); data-parallel training starts communication from it."""
    if tensor._node is not None:
        raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
    key = id(tensor)
    if key not in _post_accumulate_hooks:
        _post_accumulate_hooks[key] = {}
        weakref.finalize(tensor, _post_accumulate_hooks.pop, key, None)
    hooks = _post_accumulate_hooks[key]
    handle = HookHandle(hooks, next(_hook_ids))
    hooks[handle.id] = hook
    return handle


def _run_post_accumulate_hooks(tensor: Tensor) -> None:
    for hook in list(_post_accumulate_hooks.get(id(tensor), {}).values()):
        hook(tensor)


def _accumulate(grads: dict[int, np.ndarray], key: int, grad: np.ndarray) -> None:
    # A fresh sum rather than `+=`: the stored array may be shared with another tensor's gradient.
    previous = grads.get(key)
    grads[key] = grad if previous is None else previous + grad


def run_backward(roots: Sequence[Tensor] | Tensor, gradients: Sequence[np.ndarray] | np.ndarray,
                 retain_graph: bool = False, inputs: Sequence[Tensor] | None = None) -> list[np.ndarray | None]:
    """Back-propagate each root's gradient (dL/droot) through the graph.

    Without `inputs`: accumulate into `.grad` of every leaf that requires grad (and of retained non-leaves).
    With `inputs`: touch no `.grad`; return the gradient reaching each input's value (None where none does).
    """
    if not isinstance(roots, (list, tuple)):
        roots, gradients = (roots,), (gradients,)
    root_vertices = [vertex(r) for r in roots]
    grads: dict[int, np.ndarray] = {}
    for root_vertex, gradient in zip(root_vertices, gradients, strict=True):
        if root_vertex is not None:
            _accumulate(grads, id(root_vertex), gradient)
    wanted: dict[int, list[int]] = {}
    for i, t in enumerate(inputs or ()):
        wanted.setdefault(id(vertex(t)), []).append(i)
    captured: list[np.ndarray | None] = [None] * (0 if inputs is None else len(inputs))
    accumulate = inputs is None
    order = _topological_order([v for v in root_vertices if v is not None])
    for item in reversed(order):
        grad = grads.pop(id(item), None)
        if grad is None:
            continue
        for i in wanted.get(id(item), ()):
            captured[i] = grad
        if type(item) is not Node:  # a leaf
            if accumulate:
                item._accumulate_grad(grad)
                if _post_accumulate_hooks:
                    _run_post_accumulate_hooks(item)
            continue
        _backward_node(item, grad, grads, accumulate)
        if not retain_graph:
            item.backward = None  # frees the arrays the closure saved for backward
    return captured


def _backward_node(node: Node, grad: np.ndarray, grads: dict[int, np.ndarray], accumulate: bool) -> None:
    """Apply one node's backward and pass each input's gradient on to that input's vertex."""
    if accumulate and node.retained is not None:
        node.retained._accumulate_grad(grad)
    if node.backward is None:
        raise RuntimeError(
            f"backward through {node.name} a second time: its saved values were freed after the "
            "first backward; pass retain_graph=True to the first call to keep them"
        )
    check_saved_versions(node)
    input_grads = node.backward(grad)
    if len(input_grads) != len(node.inputs):
        raise RuntimeError(f"{node.name} backward returned {len(input_grads)} gradients "
                           f"for {len(node.inputs)} inputs")
    for parent, edge, parent_grad in zip(node.inputs, node.edges, input_grads, strict=True):
        if parent_grad is None or edge is None:
            continue
        if parent_grad.shape != parent.shape:
            raise RuntimeError(f"{node.name} backward produced a gradient of shape "
                               f"{parent_grad.shape} for an input of shape {parent.shape}")
        if parent_grad.dtype != parent.dtype:
            parent_grad = parent_grad.astype(parent.dtype)
        _accumulate(grads, id(edge), parent_grad)


_LAZY = {"Function": "cnnkit.function", "FunctionCtx": "cnnkit.function", "grad": "cnnkit.function",
         "Variable": "cnnkit.function"}


def __getattr__(name: str) -> Any:
    """`cnnkit.autograd.Function`, `.grad`, `.Variable`: they need the Tensor, which needs this module first."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'cnnkit.autograd' has no attribute {name!r}")

"""Reverse-mode automatic differentiation: grad mode, graph nodes and the backward walk.

Every differentiable op records a `Node` on the tensor it returns: the op's input tensors and a
closure that maps the gradient of the output to one gradient per input (or None). `run_backward`
orders the graph topologically without recursion (so a 1,000-layer net is fine), then applies the
chain rule from the output back to the leaves, summing gradients that meet at a tensor.
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


class Node:
    """One recorded op: its name, its input tensors and its backward closure."""

    __slots__ = ("name", "inputs", "backward")

    def __init__(self, name: str, inputs: tuple[Tensor, ...], backward: BackwardFn) -> None:
        self.name = name
        self.inputs = inputs
        self.backward: BackwardFn | None = backward

    def __repr__(self) -> str:
        return f"<{self.name}Backward>"


def _topological_order(root: Tensor) -> list[Tensor]:
    """Tensors that need a gradient, each after every tensor it was computed from (iterative DFS)."""
    order: list[Tensor] = []
    visited: set[int] = set()
    stack: list[tuple[Tensor, bool]] = [(root, False)]
    while stack:
        tensor, expanded = stack.pop()
        if expanded:
            order.append(tensor)
            continue
        if id(tensor) in visited:
            continue
        visited.add(id(tensor))
        stack.append((tensor, True))
        node = tensor._node
        if node is not None:
            # Inputs pushed last-first, so the first input's subgraph is walked first: in the reversed order
            # each op's leaf inputs (its weight and bias) then come right after the op, and their gradients
            # are final while backward goes on (data-parallel training communicates them meanwhile).
            for parent in reversed(node.inputs):
                if parent.requires_grad and id(parent) not in visited:
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


def run_backward(root: Tensor, gradient: np.ndarray, retain_graph: bool = False) -> None:
    """Back-propagate `gradient` (dL/droot) to every leaf that requires grad, accumulating `.grad`."""
    order = _topological_order(root)
    grads: dict[int, np.ndarray] = {id(root): gradient}
    for tensor in reversed(order):
        grad = grads.pop(id(tensor), None)
        if grad is None:
            continue
        if grad.dtype != tensor.dtype:
            grad = grad.astype(tensor.dtype)
        node = tensor._node
        if node is None or tensor._retains_grad:
            tensor._accumulate_grad(grad)
        if node is None:
            if _post_accumulate_hooks:
                _run_post_accumulate_hooks(tensor)
            continue
        if node.backward is None:
            raise RuntimeError(
                f"backward through {node.name} a second time: its saved values were freed after the "
                "first backward; pass retain_graph=True to the first call to keep them"
            )
        input_grads = node.backward(grad)
        if len(input_grads) != len(node.inputs):
            raise RuntimeError(f"{node.name} backward returned {len(input_grads)} gradients "
                               f"for {len(node.inputs)} inputs")
        for parent, parent_grad in zip(node.inputs, input_grads, strict=True):
            if parent_grad is not None and parent.requires_grad:
                if parent_grad.shape != parent.shape:
                    raise RuntimeError(f"{node.name} backward produced a gradient of shape "
                                       f"{parent_grad.shape} for an input of shape {parent.shape}")
                _accumulate(grads, id(parent), parent_grad)
        if not retain_graph:
            node.backward = None  # frees the arrays the closure saved for backward

"""`cnnkit.autograd.Function` (custom ops with a hand-written backward), `cnnkit.autograd.grad`, and `Variable`.

A Function's `forward(ctx, *args)` runs without recording; `apply` then records one Node per output tensor.
Each Node calls the user's `backward(ctx, *grad_outputs)` with its own output's gradient and zeros for the
others (PyTorch materialises missing gradients as zeros too); by linearity the gradients the Nodes pass on
add up to the Function's. Tensors given to `ctx.save_for_backward` are checked for in-place writes when
`ctx.saved_tensors` is read, with PyTorch's error.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from cnnkit.autograd import no_grad, run_backward, tensor_type_name
from cnnkit.tensor import Tensor, record


class FunctionCtx:
    """What `forward` hands to `backward`: saved tensors, `needs_input_grad`, and any attribute set on it."""

    def __init__(self, needs_input_grad: tuple[bool, ...]) -> None:
        self.needs_input_grad = needs_input_grad
        self._saved: tuple[Any, ...] = ()
        self._saved_versions: tuple[int, ...] = ()
        self._non_differentiable: set[int] = set()
        self.materialize_grads = True

    def save_for_backward(self, *tensors: Any) -> None:
        for t in tensors:
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"save_for_backward can only save tensors or None, got {type(t).__name__}")
        self._saved = tensors
        self._saved_versions = tuple(-1 if t is None else t._vc.value for t in tensors)

    @property
    def saved_tensors(self) -> tuple[Any, ...]:
        for t, version in zip(self._saved, self._saved_versions, strict=True):
            if t is not None and t._vc.value != version:
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified by an inplace "
                    f"operation: {tensor_type_name(t._data)} is at version {t._vc.value}; expected version "
                    f"{version} instead (a tensor given to ctx.save_for_backward)"
                )
        return self._saved

    def mark_non_differentiable(self, *outputs: Tensor) -> None:
        self._non_differentiable.update(id(t) for t in outputs)

    def mark_dirty(self, *tensors: Tensor) -> None:
        raise NotImplementedError("Function: in-place forward (ctx.mark_dirty) is not supported; return a new "
                                  "tensor from forward instead")

    def set_materialize_grads(self, value: bool) -> None:
        self.materialize_grads = bool(value)


class Function:
    """A differentiable op written by hand, as `torch.autograd.Function`:

        class Square(Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x * x

            @staticmethod
            def backward(ctx, grad):
                (x,) = ctx.saved_tensors
                return 2 * x * grad

        y = Square.apply(x)

    `backward` returns one gradient (a tensor, or None) per argument of `forward`.
    """

    @staticmethod
    def forward(ctx: FunctionCtx, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("a Function subclass must define forward(ctx, ...)")

    @staticmethod
    def backward(ctx: FunctionCtx, *grad_outputs: Any) -> Any:
        raise NotImplementedError("a Function subclass must define backward(ctx, *grad_outputs)")

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        from cnnkit.autograd import is_grad_enabled

        ctx = FunctionCtx(tuple(isinstance(a, Tensor) and a.requires_grad for a in args))
        with no_grad():
            result = cls.forward(ctx, *args, **kwargs)
        if not (is_grad_enabled() and any(ctx.needs_input_grad)):
            return result
        outputs = result if isinstance(result, tuple) else (result,)
        tensor_args = [(i, a) for i, a in enumerate(args) if isinstance(a, Tensor)]
        wrapped = tuple(_wrap_output(cls, ctx, outputs, k, tensor_args, len(args)) for k in range(len(outputs)))
        return wrapped if isinstance(result, tuple) else wrapped[0]


def _wrap_output(cls: type, ctx: FunctionCtx, outputs: tuple, k: int, tensor_args: list, n_args: int) -> Any:
    """Output k recorded as a Node whose backward calls the Function's backward."""
    out = outputs[k]
    if not isinstance(out, Tensor) or id(out) in ctx._non_differentiable or out.dtype.kind != "f":
        return out
    shapes = [o.shape if isinstance(o, Tensor) else None for o in outputs]
    dtypes = [o.dtype if isinstance(o, Tensor) else None for o in outputs]
    name = cls.__name__

    def backward(g: np.ndarray):
        grads = []
        for j, (shape, dtype) in enumerate(zip(shapes, dtypes, strict=True)):
            if j == k:
                grads.append(Tensor(g, dtype=g.dtype))
            elif shape is None or not ctx.materialize_grads:
                grads.append(None)
            else:
                grads.append(Tensor(np.zeros(shape, dtype=dtype), dtype=dtype))
        with no_grad():
            returned = cls.backward(ctx, *grads)
        returned = returned if isinstance(returned, tuple) else (returned,)
        if len(returned) != n_args:
            raise RuntimeError(f"function {name}Backward returned an incorrect number of gradients "
                               f"(expected {n_args}, got {len(returned)})")
        result = []
        for i, arg in tensor_args:
            grad = returned[i]
            if grad is None or not arg.requires_grad:
                result.append(None)
                continue
            array = grad._data if isinstance(grad, Tensor) else np.asarray(grad)
            if array.shape != arg.shape:
                try:
                    array = np.broadcast_to(array, arg.shape).copy()
                except ValueError:
                    raise RuntimeError(f"function {name}Backward returned an invalid gradient at index {i} - "
                                       f"got {list(array.shape)} but expected shape compatible with "
                                       f"{list(arg.shape)}") from None
            result.append(array)
        return tuple(result)

    # The output's own array, so that ops on it see the Function's node; a fresh copy if it is an input's.
    data = out._data
    inputs = [a for _, a in tensor_args]
    if any(np.may_share_memory(data, a._data) for a in inputs):
        data = data.copy()
    return record(data, inputs, backward, name)


def grad(outputs: Tensor | Sequence[Tensor], inputs: Tensor | Sequence[Tensor],
         grad_outputs: Any = None, retain_graph: bool | None = None, create_graph: bool = False,
         only_inputs: bool = True, allow_unused: bool | None = None, is_grads_batched: bool = False,
         materialize_grads: bool = False) -> tuple[Tensor | None, ...]:
    """The gradients of `outputs` with respect to `inputs`, as `torch.autograd.grad`; no `.grad` is touched."""
    if create_graph:
        raise NotImplementedError("cnnkit.autograd.grad(create_graph=True): gradients of gradients (higher-order "
                                  "derivatives) are not supported; backward computes first-order gradients only")
    if is_grads_batched:
        raise NotImplementedError("cnnkit.autograd.grad(is_grads_batched=True) is not supported")
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None or isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs] * len(outputs) if grad_outputs is None else [grad_outputs]
    for t in inputs:
        if not t.requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    arrays = []
    for out, g in zip(outputs, list(grad_outputs), strict=True):
        if not out.requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")
        if g is None:
            if out._data.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            arrays.append(np.ones_like(out._data))
        else:
            arrays.append(np.asarray(g._data if isinstance(g, Tensor) else g, dtype=out.dtype))
    for out in outputs:
        out.grad_fn  # noqa: B018 - brings a stale view's graph up to date
    found = run_backward(outputs, arrays, retain_graph=bool(retain_graph), inputs=inputs)
    result: list[Tensor | None] = []
    for t, g in zip(inputs, found, strict=True):
        if g is None:
            if not (allow_unused or materialize_grads):
                raise RuntimeError("One of the differentiated Tensors appears to not have been used in the graph. "
                                   "Set allow_unused=True if this is the desired behavior.")
            result.append(Tensor(np.zeros(t.shape, dtype=t.dtype), dtype=t.dtype) if materialize_grads else None)
        else:
            result.append(Tensor(np.array(g, dtype=t.dtype), dtype=t.dtype))
    return tuple(result)


def Variable(data: Any, requires_grad: bool = False, volatile: bool = False) -> Tensor:  # noqa: N802
    """Deprecated, as in PyTorch: a Variable is a Tensor. Returns `data` (with `requires_grad` set if asked)."""
    warnings.warn("cnnkit.autograd.Variable is deprecated: use tensors directly (cnnkit.tensor(..., "
                  "requires_grad=True))", DeprecationWarning, stacklevel=2)
    t = data if isinstance(data, Tensor) else Tensor(data)
    return t.requires_grad_(True) if requires_grad else t

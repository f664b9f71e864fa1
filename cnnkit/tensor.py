"""The Tensor: a NumPy array plus what reverse-mode autodiff needs (requires_grad, grad, the op that made it).

Arithmetic, shape and reduction methods are thin calls into `cnnkit.ops`, where each op's forward
and backward live side by side. `record` is how an op attaches itself to the graph.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from cnnkit.autograd import (
    BackwardFn,
    HookHandle,
    Node,
    is_grad_enabled,
    register_post_accumulate_grad_hook,
    run_backward,
)

DEFAULT_FLOAT = np.dtype(np.float32)


def _to_array(data: Any, dtype: Any = None) -> np.ndarray:
    """NumPy array from data (no copy when possible); float64 becomes float32 unless a dtype is given."""
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None:
        return np.asarray(data, dtype=np.dtype(dtype))
    array = np.asarray(data)
    if array.dtype == np.float64:
        array = array.astype(DEFAULT_FLOAT)
    return array


class Tensor:
    """An n-dimensional array that can record the ops applied to it and back-propagate through them."""

    __slots__ = ("data", "requires_grad", "grad", "_node", "_retains_grad", "__weakref__")
    __array_priority__ = 1000  # so `ndarray + Tensor` defers to Tensor.__radd__

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None) -> None:
        """Wrap data without copying when possible; float64 becomes float32 unless `dtype` is given."""
        self.data: np.ndarray = _to_array(data, dtype)
        if requires_grad and self.data.dtype.kind != "f":
            raise RuntimeError(f"only floating-point tensors can require gradients, got dtype {self.data.dtype}")
        self.requires_grad: bool = bool(requires_grad)
        self.grad: Tensor | None = None
        self._node: Node | None = None
        self._retains_grad = False

    # ----------------------------------------------------------------- basic properties
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def is_leaf(self) -> bool:
        return self._node is None

    @property
    def grad_fn(self) -> Node | None:
        return self._node

    @property
    def T(self) -> Tensor:
        return self.permute(*reversed(range(self.ndim)))

    def size(self, dim: int | None = None) -> tuple[int, ...] | int:
        return self.shape if dim is None else self.shape[dim]

    def dim(self) -> int:
        return self.ndim

    def numel(self) -> int:
        return int(self.data.size)

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __repr__(self) -> str:
        body = np.array2string(self.data, precision=4, separator=", ", prefix="tensor(")
        extras = ""
        if self.dtype not in (DEFAULT_FLOAT, np.dtype(np.int64), np.dtype(bool)):
            extras += f", dtype={self.dtype}"
        if self._node is not None:
            extras += f", grad_fn=<{self._node.name}Backward>"
        elif self.requires_grad:
            extras += ", requires_grad=True"
        return f"tensor({body}{extras})"

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        return self.data if dtype is None else self.data.astype(dtype)

    def __bool__(self) -> bool:
        return bool(self.data)

    def __float__(self) -> float:
        return float(self.data)

    def __int__(self) -> int:
        return int(self.data)

    def __index__(self) -> int:
        return int(self.data)

    def __hash__(self) -> int:
        return id(self)

    # ----------------------------------------------------------------- autograd
    def backward(self, gradient: Any = None, retain_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) · gradient into `.grad` of every leaf that requires grad."""
        if not self.requires_grad:
            raise RuntimeError("backward() on a tensor that does not require grad and has no grad_fn")
        if gradient is None:
            if self.data.size != 1:
                raise RuntimeError(f"backward() without a gradient needs a scalar output, got shape {self.shape}")
            grad = np.ones_like(self.data)
        else:
            grad = _to_array(gradient, self.dtype)
            if grad.shape != self.shape:
                raise RuntimeError(f"backward(): gradient of shape {grad.shape} for a tensor of shape {self.shape}")
        run_backward(self, grad, retain_graph=retain_graph)

    def _accumulate_grad(self, grad: np.ndarray) -> None:
        if self.grad is None:
            self.grad = Tensor(np.array(grad, dtype=self.dtype, copy=True), dtype=self.dtype)
        else:
            self.grad.data += grad

    def register_post_accumulate_grad_hook(self, hook: Callable[[Tensor], None]) -> HookHandle:
        """`hook(self)` runs after backward accumulates into this leaf's `.grad`; returns a handle with `.remove()`."""
        return register_post_accumulate_grad_hook(self, hook)

    def retain_grad(self) -> None:
        """Keep `.grad` on this non-leaf tensor after backward (leaves always keep theirs)."""
        self._retains_grad = True

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if requires_grad and self.dtype.kind != "f":
            raise RuntimeError(f"only floating-point tensors can require gradients, got dtype {self.dtype}")
        self.requires_grad = requires_grad
        return self

    def detach(self) -> Tensor:
        """The same data (shared, not copied), cut from the graph."""
        return Tensor(self.data, dtype=self.dtype)

    def numpy(self) -> np.ndarray:
        return self.data

    def item(self) -> float | int | bool:
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self.shape}")
        return self.data.reshape(()).item()

    def tolist(self) -> Any:
        return self.data.tolist()

    def clone(self) -> Tensor:
        return _ops().shape.clone(self)

    # ----------------------------------------------------------------- in-place updates (no graph)
    def _check_inplace(self) -> None:
        if is_grad_enabled() and self.requires_grad and self.is_leaf:
            raise RuntimeError("an in-place change of a leaf that requires grad; wrap it in cnnkit.no_grad()")

    def zero_(self) -> Tensor:
        self._check_inplace()
        self.data[...] = 0
        return self

    def fill_(self, value: float) -> Tensor:
        self._check_inplace()
        self.data[...] = value
        return self

    def copy_(self, source: Any) -> Tensor:
        self._check_inplace()
        self.data[...] = _to_array(source, self.dtype)
        return self

    def __setitem__(self, index: Any, value: Any) -> None:
        self._check_inplace()
        self.data[_plain_index(index)] = value.data if isinstance(value, Tensor) else value

    # ----------------------------------------------------------------- dtype conversion
    def to(self, dtype: Any) -> Tensor:
        if isinstance(dtype, str) and dtype in ("cpu",):
            return self
        return _ops().elementwise.cast(self, np.dtype(dtype))

    def float(self) -> Tensor:
        return self.to(np.float32)

    def double(self) -> Tensor:
        return self.to(np.float64)

    def long(self) -> Tensor:
        return self.to(np.int64)

    def int(self) -> Tensor:
        return self.to(np.int32)

    def bool(self) -> Tensor:
        return self.to(np.bool_)

    def cpu(self) -> Tensor:
        return self

    def contiguous(self) -> Tensor:
        return self

    # ----------------------------------------------------------------- arithmetic
    def __add__(self, other: Any) -> Tensor:
        return _ops().elementwise.add(self, other)

    def __radd__(self, other: Any) -> Tensor:
        return _ops().elementwise.add(other, self)

    def __sub__(self, other: Any) -> Tensor:
        return _ops().elementwise.sub(self, other)

    def __rsub__(self, other: Any) -> Tensor:
        return _ops().elementwise.sub(other, self)

    def __mul__(self, other: Any) -> Tensor:
        return _ops().elementwise.mul(self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return _ops().elementwise.mul(other, self)

    def __truediv__(self, other: Any) -> Tensor:
        return _ops().elementwise.div(self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        return _ops().elementwise.div(other, self)

    def __pow__(self, other: Any) -> Tensor:
        return _ops().elementwise.pow(self, other)

    def __rpow__(self, other: Any) -> Tensor:
        return _ops().elementwise.pow(other, self)

    def __neg__(self) -> Tensor:
        return _ops().elementwise.neg(self)

    def __matmul__(self, other: Any) -> Tensor:
        return _ops().matmul.matmul(self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return _ops().matmul.matmul(other, self)

    def __abs__(self) -> Tensor:
        return _ops().elementwise.abs(self)

    # comparisons give bool tensors with no gradient, as in PyTorch
    def __lt__(self, other: Any) -> Tensor:
        return Tensor(self.data < _raw(other))

    def __le__(self, other: Any) -> Tensor:
        return Tensor(self.data <= _raw(other))

    def __gt__(self, other: Any) -> Tensor:
        return Tensor(self.data > _raw(other))

    def __ge__(self, other: Any) -> Tensor:
        return Tensor(self.data >= _raw(other))

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return Tensor(self.data == _raw(other))

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return Tensor(self.data != _raw(other))

    def add(self, other: Any) -> Tensor:
        return self + other

    def sub(self, other: Any) -> Tensor:
        return self - other

    def mul(self, other: Any) -> Tensor:
        return self * other

    def div(self, other: Any) -> Tensor:
        return self / other

    def matmul(self, other: Any) -> Tensor:
        return self @ other

    def exp(self) -> Tensor:
        return _ops().elementwise.exp(self)

    def log(self) -> Tensor:
        return _ops().elementwise.log(self)

    def sqrt(self) -> Tensor:
        return _ops().elementwise.sqrt(self)

    def abs(self) -> Tensor:
        return _ops().elementwise.abs(self)

    def clamp(self, min: float | None = None, max: float | None = None) -> Tensor:  # noqa: A002
        return _ops().elementwise.clamp(self, min, max)

    clip = clamp

    def relu(self) -> Tensor:
        from cnnkit.nn import functional

        return functional.relu(self)

    def sigmoid(self) -> Tensor:
        return _ops().elementwise.sigmoid(self)

    def tanh(self) -> Tensor:
        return _ops().elementwise.tanh(self)

    # ----------------------------------------------------------------- reductions
    def sum(self, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
        return _ops().reduce.sum(self, dim, keepdim)

    def mean(self, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
        return _ops().reduce.mean(self, dim, keepdim)

    def var(self, dim: int | Sequence[int] | None = None, unbiased: bool = True, keepdim: bool = False,
            correction: int | None = None) -> Tensor:
        return _ops().reduce.var(self, dim, unbiased, keepdim, correction)

    def std(self, dim: int | Sequence[int] | None = None, unbiased: bool = True, keepdim: bool = False) -> Tensor:
        return self.var(dim, unbiased, keepdim).sqrt()

    def max(self, dim: int | None = None, keepdim: bool = False) -> Any:
        return _ops().reduce.max(self, dim, keepdim)

    def min(self, dim: int | None = None, keepdim: bool = False) -> Any:
        return _ops().reduce.min(self, dim, keepdim)

    def argmax(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return _ops().reduce.argmax(self, dim, keepdim)

    def argmin(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return _ops().reduce.argmin(self, dim, keepdim)

    def softmax(self, dim: int) -> Tensor:
        from cnnkit.nn import functional

        return functional.softmax(self, dim)

    def log_softmax(self, dim: int) -> Tensor:
        from cnnkit.nn import functional

        return functional.log_softmax(self, dim)

    # ----------------------------------------------------------------- shape
    def reshape(self, *shape: Any) -> Tensor:
        return _ops().shape.reshape(self, _shape_args(shape))

    def view(self, *shape: Any) -> Tensor:
        return _ops().shape.reshape(self, _shape_args(shape))

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        return _ops().shape.flatten(self, start_dim, end_dim)

    def unflatten(self, dim: int, sizes: Sequence[int]) -> Tensor:
        dim = dim % self.ndim
        return self.reshape(self.shape[:dim] + tuple(sizes) + self.shape[dim + 1 :])

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        axes = list(range(self.ndim))
        axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
        return _ops().shape.permute(self, tuple(axes))

    def permute(self, *dims: Any) -> Tensor:
        return _ops().shape.permute(self, _shape_args(dims))

    def squeeze(self, dim: int | None = None) -> Tensor:
        return _ops().shape.squeeze(self, dim)

    def unsqueeze(self, dim: int) -> Tensor:
        return _ops().shape.unsqueeze(self, dim)

    def expand(self, *sizes: Any) -> Tensor:
        return _ops().shape.expand(self, _shape_args(sizes))

    def repeat(self, *repeats: Any) -> Tensor:
        return _ops().shape.repeat(self, _shape_args(repeats))

    def __getitem__(self, index: Any) -> Tensor:
        return _ops().shape.getitem(self, index)

    def chunk(self, chunks: int, dim: int = 0) -> list[Tensor]:
        return _ops().shape.chunk(self, chunks, dim)

    def split(self, split_size: int | Sequence[int], dim: int = 0) -> list[Tensor]:
        return _ops().shape.split(self, split_size, dim)


def _shape_args(args: tuple) -> tuple[int, ...]:
    """Accept both `t.reshape(2, 3)` and `t.reshape((2, 3))`, as PyTorch does."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return tuple(int(a) for a in args[0])
    return tuple(int(a) for a in args)


def _raw(value: Any) -> Any:
    return value.data if isinstance(value, Tensor) else value


def _plain_index(index: Any) -> Any:
    """An index with any Tensors replaced by their arrays."""
    if isinstance(index, tuple):
        return tuple(_raw(i) for i in index)
    return _raw(index)


def _ops():  # the ops import Tensor, so they are imported on first use
    import cnnkit.ops as ops

    return ops


# Every op passes through `record`, so this is where a tracer sees every op, whatever reference it was called
# through: when set (by `cnnkit.onnx`'s Tracer, for one forward pass), called as recorder(output, inputs, name).
recorder: Callable[[Tensor, Sequence[Tensor], str], None] | None = None


def record(data: np.ndarray, inputs: Sequence[Tensor], backward: BackwardFn, name: str) -> Tensor:
    """Wrap an op's output array as a Tensor and, when any input needs a gradient, record the op.

    `backward(grad_out)` must return one gradient array (or None) per input, each with its input's shape.
    """
    out = Tensor.__new__(Tensor)
    out.data = data
    out.grad = None
    out._retains_grad = False
    needs_grad = is_grad_enabled() and any(t.requires_grad for t in inputs)
    out.requires_grad = needs_grad
    out._node = Node(name, tuple(inputs), backward) if needs_grad else None
    if recorder is not None:
        recorder(out, inputs, name)
    return out


def as_tensor(value: Any, like: Tensor | None = None) -> Tensor:
    """A Tensor from a Tensor, array or scalar; Python scalars take `like`'s dtype so float32 stays float32."""
    if isinstance(value, Tensor):
        return value
    if like is not None and np.isscalar(value) and like.dtype.kind == "f":
        return Tensor(value, dtype=like.dtype)
    return Tensor(value)


def tensor(data: Any, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    """A new tensor holding a copy of data: float32 for floating-point data unless dtype says otherwise."""
    array = np.array(_to_array(data, dtype), copy=True)
    return Tensor(array, requires_grad=requires_grad, dtype=array.dtype)

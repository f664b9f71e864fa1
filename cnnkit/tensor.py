"""The Tensor: a NumPy array plus what reverse-mode autodiff needs (requires_grad, grad, the op that made it).

Arithmetic, shape and reduction methods are thin calls into `cnnkit.ops`, where each op's forward
and backward live side by side. `record` is how an op attaches itself to the graph.

The array is `_data` (cnnkit's own code reads it); `.data` is PyTorch's: a tensor sharing the memory, cut from
the graph. Every tensor has a version counter (`_vc`), bumped by each in-place write; a view (an op output whose
array shares the input's memory, found by `record`) keeps its base in `_base` and shares the base's counter.
The in-place methods (`add_`, `t[i] = v`, ...) are in `cnnkit.inplace`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from cnnkit.autograd import (
    BackwardFn,
    HookHandle,
    Node,
    VersionCounter,
    is_grad_enabled,
    register_post_accumulate_grad_hook,
    run_backward,
)

DEFAULT_FLOAT = np.dtype(np.float32)


def _to_array(data: Any, dtype: Any = None) -> np.ndarray:
    """NumPy array from data (no copy when possible); float64 becomes float32 unless a dtype is given."""
    if isinstance(data, Tensor):
        data = data._data
    if dtype is not None:
        return np.asarray(data, dtype=np.dtype(dtype))
    array = np.asarray(data)
    if array.dtype == np.float64:
        array = array.astype(DEFAULT_FLOAT)
    return array


class Tensor:
    """An n-dimensional array that can record the ops applied to it and back-propagate through them."""

    __slots__ = ("_data", "requires_grad", "grad", "_node", "_retains_grad", "_vc", "_base", "_view_version",
                 "__weakref__")
    __array_priority__ = 1000  # so `ndarray + Tensor` defers to Tensor.__radd__

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None) -> None:
        """Wrap data without copying when possible; float64 becomes float32 unless `dtype` is given."""
        self._data: np.ndarray = _to_array(data, dtype)
        if requires_grad and self._data.dtype.kind != "f":
            raise RuntimeError(f"only floating-point tensors can require gradients, got dtype {self._data.dtype}")
        self.requires_grad: bool = bool(requires_grad)
        self.grad: Tensor | None = None
        self._node: Node | None = None
        self._retains_grad = False
        self._vc = VersionCounter()
        self._base: Tensor | None = None  # for a view: the tensor owning the memory
        self._view_version = 0  # the counter's value when this view's graph was last set

    # ----------------------------------------------------------------- basic properties
    @property
    def shape(self) -> tuple[int, ...]:
        return self._data.shape

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def grad_fn(self) -> Node | None:
        if self._base is not None and self._view_version != self._vc.value and is_grad_enabled():
            refresh_view(self)
        return self._node

    @property
    def data(self) -> Tensor:
        """This tensor's values as a new tensor sharing the memory, cut from the graph and from version checks."""
        return Tensor(self._data, dtype=self._data.dtype)

    @data.setter
    def data(self, value: Any) -> None:
        self._data = value._data if isinstance(value, Tensor) else np.asarray(value)

    @property
    def _version(self) -> int:
        """How many in-place writes this tensor's memory has had (PyTorch's `t._version`)."""
        return self._vc.value

    @property
    def device(self) -> Any:
        from cnnkit.device import CPU

        return CPU

    @property
    def is_cuda(self) -> bool:
        return False

    @property
    def is_cpu(self) -> bool:
        return True

    @property
    def is_xpu(self) -> bool:
        return False

    @property
    def is_mps(self) -> bool:
        return False

    @property
    def T(self) -> Tensor:
        return self.permute(*reversed(range(self.ndim)))

    def size(self, dim: int | None = None) -> tuple[int, ...] | int:
        return self.shape if dim is None else self.shape[dim]

    def dim(self) -> int:
        return self.ndim

    def numel(self) -> int:
        return int(self._data.size)

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __repr__(self) -> str:
        body = np.array2string(self._data, precision=4, separator=", ", prefix="tensor(")
        extras = ""
        if self.dtype not in (DEFAULT_FLOAT, np.dtype(np.int64), np.dtype(bool)):
            extras += f", dtype={self.dtype}"
        if self._node is not None:
            extras += f", grad_fn=<{self._node.name}Backward>"
        elif self.requires_grad:
            extras += ", requires_grad=True"
        return f"tensor({body}{extras})"

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        return self._data if dtype is None else self._data.astype(dtype)

    def __bool__(self) -> bool:
        return bool(self._data)

    def __float__(self) -> float:
        return float(self._data)

    def __int__(self) -> int:
        return int(self._data)

    def __index__(self) -> int:
        return int(self._data)

    def __hash__(self) -> int:
        return id(self)

    # ----------------------------------------------------------------- autograd
    def backward(self, gradient: Any = None, retain_graph: bool | None = None, create_graph: bool = False,
                 inputs: Any = None) -> None:
        """Accumulate d(self)/d(leaf) · gradient into `.grad` of every leaf that requires grad (of `inputs` only,
        when given)."""
        if create_graph:
            raise NotImplementedError("backward(create_graph=True): gradients of gradients (higher-order "
                                      "derivatives) are not supported")
        retain_graph = bool(retain_graph)
        if not self.requires_grad:
            raise RuntimeError("backward() on a tensor that does not require grad and has no grad_fn")
        if gradient is None:
            if self._data.size != 1:
                raise RuntimeError(f"backward() without a gradient needs a scalar output, got shape {self.shape}")
            grad = np.ones_like(self._data)
        else:
            grad = _to_array(gradient, self.dtype)
            if grad.shape != self.shape:
                raise RuntimeError(f"backward(): gradient of shape {grad.shape} for a tensor of shape {self.shape}")
        if self._base is not None:
            self.grad_fn  # noqa: B018 - brings a stale view's graph up to date
        if inputs is None:
            run_backward(self, grad, retain_graph=retain_graph)
            return
        inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
        for t, g in zip(inputs, run_backward(self, grad, retain_graph, inputs=inputs), strict=True):
            if g is not None:
                t._accumulate_grad(g.astype(t.dtype, copy=False))

    def _accumulate_grad(self, grad: np.ndarray) -> None:
        if self.grad is None:
            self.grad = Tensor(np.array(grad, dtype=self.dtype, copy=True), dtype=self.dtype)
        else:
            self.grad._data += grad

    def register_post_accumulate_grad_hook(self, hook: Callable[[Tensor], None]) -> HookHandle:
        """`hook(self)` runs after backward accumulates into this leaf's `.grad`; returns a handle with `.remove()`."""
        return register_post_accumulate_grad_hook(self, hook)

    def retain_grad(self) -> None:
        """Keep `.grad` on this non-leaf tensor after backward (leaves always keep theirs)."""
        self._retains_grad = True
        node = self.grad_fn
        if node is not None:
            node.retained = self

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if requires_grad and self.dtype.kind != "f":
            raise RuntimeError(f"only floating-point tensors can require gradients, got dtype {self.dtype}")
        self.requires_grad = requires_grad
        return self

    def detach(self) -> Tensor:
        """The same data (shared, not copied), cut from the graph; in-place writes to either count for both."""
        out = Tensor(self._data, dtype=self.dtype)
        out._vc = self._vc
        return out

    def detach_(self) -> Tensor:
        if self._base is not None:
            raise RuntimeError("detach_(): cannot detach a view in place; use detach()")
        self._node, self.requires_grad = None, False
        return self

    def numpy(self) -> np.ndarray:
        return self._data

    def item(self) -> float | int | bool:
        if self._data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self.shape}")
        return self._data.reshape(()).item()

    def tolist(self) -> Any:
        return self._data.tolist()

    def clone(self) -> Tensor:
        return _ops().shape.clone(self)

    # ----------------------------------------------------------------- in-place ops (cnnkit.inplace)
    def __setitem__(self, index: Any, value: Any) -> None:
        _inplace().setitem(self, index, value)

    def copy_(self, src: Any, non_blocking: bool = False) -> Tensor:
        return _inplace().copy_(self, src)

    def fill_(self, value: Any) -> Tensor:
        return _inplace().copy_(self, value)

    def zero_(self) -> Tensor:
        return _inplace().copy_(self, 0)

    def add_(self, other: Any, alpha: float = 1) -> Tensor:
        return _inplace().apply(self, lambda s: s + (other if alpha == 1 else _scaled(other, alpha)), "add_")

    def sub_(self, other: Any, alpha: float = 1) -> Tensor:
        return _inplace().apply(self, lambda s: s - (other if alpha == 1 else _scaled(other, alpha)), "sub_")

    def mul_(self, other: Any) -> Tensor:
        return _inplace().apply(self, lambda s: s * other, "mul_")

    def div_(self, other: Any) -> Tensor:
        return _inplace().apply(self, lambda s: s / other, "div_")

    def pow_(self, exponent: Any) -> Tensor:
        return _inplace().apply(self, lambda s: s**exponent, "pow_")

    def clamp_(self, min: float | None = None, max: float | None = None) -> Tensor:  # noqa: A002
        return _inplace().apply(self, lambda s: s.clamp(min, max), "clamp_")

    clip_ = clamp_

    def sqrt_(self) -> Tensor:
        return _inplace().apply(self, lambda s: s.sqrt(), "sqrt_")

    def neg_(self) -> Tensor:
        return _inplace().apply(self, lambda s: -s, "neg_")

    def abs_(self) -> Tensor:
        return _inplace().apply(self, lambda s: s.abs(), "abs_")

    def exp_(self) -> Tensor:
        return _inplace().apply(self, lambda s: s.exp(), "exp_")

    def log_(self) -> Tensor:
        return _inplace().apply(self, lambda s: s.log(), "log_")

    def sigmoid_(self) -> Tensor:
        return _inplace().apply(self, lambda s: s.sigmoid(), "sigmoid_")

    def tanh_(self) -> Tensor:
        return _inplace().apply(self, lambda s: s.tanh(), "tanh_")

    def relu_(self) -> Tensor:
        return _inplace().apply(self, lambda s: s.relu(), "relu_")

    def addcmul_(self, tensor1: Any, tensor2: Any, value: float = 1) -> Tensor:
        """self += value · tensor1 · tensor2."""
        return _inplace().apply(self, lambda s: s + _scaled(as_tensor(tensor1, self) * tensor2, value), "addcmul_")

    def addcdiv_(self, tensor1: Any, tensor2: Any, value: float = 1) -> Tensor:
        """self += value · tensor1 / tensor2."""
        return _inplace().apply(self, lambda s: s + _scaled(as_tensor(tensor1, self) / tensor2, value), "addcdiv_")

    def masked_fill_(self, mask: Any, value: Any) -> Tensor:
        return _inplace().apply(self, lambda s: s.masked_fill(mask, value), "masked_fill_")

    def normal_(self, mean: float = 0.0, std: float = 1.0, generator: Any = None) -> Tensor:
        return _inplace().copy_(self, _inplace().random_like(self, "normal", mean, std, generator))

    def uniform_(self, a: float = 0.0, b: float = 1.0, generator: Any = None) -> Tensor:  # PyTorch: from, to
        return _inplace().copy_(self, _inplace().random_like(self, "uniform", a, b, generator))

    def bernoulli_(self, p: Any = 0.5, generator: Any = None) -> Tensor:
        return _inplace().copy_(self, _inplace().random_like(self, "bernoulli", p, None, generator))

    def __iadd__(self, other: Any) -> Tensor:
        return self.add_(other)

    def __isub__(self, other: Any) -> Tensor:
        return self.sub_(other)

    def __imul__(self, other: Any) -> Tensor:
        return self.mul_(other)

    def __itruediv__(self, other: Any) -> Tensor:
        return self.div_(other)

    def masked_fill(self, mask: Any, value: Any) -> Tensor:
        """A copy with `value` where mask is True; the gradient flows where it is False (and to a tensor value)."""
        return _ops().elementwise.where(mask, value, self)

    # ----------------------------------------------------------------- dtype and device conversion
    def to(self, *args: Any, **kwargs: Any) -> Tensor:
        """`to(dtype)`, `to(device)`, `to(device, dtype)`, `to(other)`, `to(device=..., dtype=..., copy=...)`."""
        from cnnkit.device import parse_to_args

        dtype, copy = parse_to_args("Tensor.to", args, kwargs, self)
        out = self if dtype is None else _ops().elementwise.cast(self, np.dtype(dtype))
        return out.clone() if copy and out is self else out

    def type(self, dtype: Any = None) -> Any:
        if dtype is None:
            from cnnkit.autograd import tensor_type_name

            return "torch." + tensor_type_name(self._data)[1:].split(" ")[0]
        return self.to(dtype)

    def type_as(self, other: Tensor) -> Tensor:
        return self.to(other.dtype)

    def float(self) -> Tensor:
        return self.to(np.float32)

    def double(self) -> Tensor:
        return self.to(np.float64)

    def half(self) -> Tensor:
        return self.to(np.float16)

    def long(self) -> Tensor:
        return self.to(np.int64)

    def int(self) -> Tensor:
        return self.to(np.int32)

    def bool(self) -> Tensor:
        return self.to(np.bool_)

    def cpu(self) -> Tensor:
        return self

    def cuda(self, device: Any = None, non_blocking: bool = False) -> Tensor:
        from cnnkit.device import device as make_device

        make_device("cuda" if device is None else device)  # raises: there is no GPU here
        return self

    def pin_memory(self) -> Tensor:
        return self  # nothing to pin on the CPU

    def is_pinned(self) -> bool:
        return False

    def contiguous(self, memory_format: Any = None) -> Tensor:
        """This tensor: cnnkit's layout is internal, so every memory format gives the same values."""
        from cnnkit.memory_format import check_memory_format

        check_memory_format(memory_format, "contiguous")
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
        return Tensor(self._data < _raw(other))

    def __le__(self, other: Any) -> Tensor:
        return Tensor(self._data <= _raw(other))

    def __gt__(self, other: Any) -> Tensor:
        return Tensor(self._data > _raw(other))

    def __ge__(self, other: Any) -> Tensor:
        return Tensor(self._data >= _raw(other))

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return Tensor(self._data == _raw(other))

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return Tensor(self._data != _raw(other))

    def eq(self, other: Any) -> Tensor:
        return self == other

    def ne(self, other: Any) -> Tensor:
        return self != other

    def lt(self, other: Any) -> Tensor:
        return self < other

    def le(self, other: Any) -> Tensor:
        return self <= other

    def gt(self, other: Any) -> Tensor:
        return self > other

    def ge(self, other: Any) -> Tensor:
        return self >= other

    def equal(self, other: Tensor) -> bool:
        """True when both have the same shape and the same values (torch.equal)."""
        return self.shape == other.shape and bool(np.array_equal(self._data, _raw(other)))

    def add(self, other: Any, alpha: float = 1) -> Tensor:
        return self + (other if alpha == 1 else _scaled(other, alpha))

    def sub(self, other: Any, alpha: float = 1) -> Tensor:
        return self - (other if alpha == 1 else _scaled(other, alpha))

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

    def sign(self) -> Tensor:
        return _ops().elementwise.sign(self)

    def neg(self) -> Tensor:
        return -self

    def pow(self, exponent: Any) -> Tensor:
        return self**exponent

    def maximum(self, other: Any) -> Tensor:
        return _ops().elementwise.maximum(self, other)

    def minimum(self, other: Any) -> Tensor:
        return _ops().elementwise.minimum(self, other)

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

    def max(self, dim: Any = None, keepdim: bool = False) -> Any:
        """The largest value; with `dim`, (values, indices); with a tensor, the element-wise maximum."""
        if isinstance(dim, Tensor):
            return _ops().elementwise.maximum(self, dim)
        return _ops().reduce.max(self, dim, keepdim)

    def min(self, dim: Any = None, keepdim: bool = False) -> Any:
        if isinstance(dim, Tensor):
            return _ops().elementwise.minimum(self, dim)
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

    def view_as(self, other: Tensor) -> Tensor:
        return self.view(other.shape)

    def reshape_as(self, other: Tensor) -> Tensor:
        return self.reshape(other.shape)

    def expand_as(self, other: Tensor) -> Tensor:
        return self.expand(other.shape)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        return _ops().shape.flatten(self, start_dim, end_dim)

    def unflatten(self, dim: int, sizes: Sequence[int]) -> Tensor:
        dim = dim % self.ndim
        return self.reshape(self.shape[:dim] + tuple(sizes) + self.shape[dim + 1 :])

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        axes = list(range(self.ndim))
        axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
        return _ops().shape.permute(self, tuple(axes))

    def t(self) -> Tensor:
        """The transpose of a matrix (a 0-d or 1-d tensor is returned as it is), as a view."""
        if self.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {self.ndim}D")
        return self.permute(*reversed(range(self.ndim)))

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
    return value._data if isinstance(value, Tensor) else value


def _plain_index(index: Any) -> Any:
    """An index with any Tensors replaced by their arrays."""
    if isinstance(index, tuple):
        return tuple(_raw(i) for i in index)
    return _raw(index)


def _scaled(value: Any, alpha: float) -> Any:
    return value * alpha


def _ops():  # the ops import Tensor, so they are imported on first use
    import cnnkit.ops as ops

    return ops


def _inplace():
    import cnnkit.inplace as inplace

    return inplace


# Every op passes through `record`, so this is where a tracer sees every op, whatever reference it was called
# through: when set (by `cnnkit.onnx`'s Tracer, for one forward pass), called as recorder(output, inputs, name).
recorder: Callable[[Tensor, Sequence[Tensor], str], None] | None = None


def record(data: np.ndarray, inputs: Sequence[Tensor], backward: BackwardFn, name: str) -> Tensor:
    """Wrap an op's output array as a Tensor and, when any input needs a gradient, record the op.

    `backward(grad_out)` must return one gradient array (or None) per input, each with its input's shape.
    An output whose array shares an input's memory is a view of it: it shares the input's version counter,
    so that an in-place write through either is seen by both.
    """
    out = Tensor.__new__(Tensor)
    out._data = data
    out.grad = None
    out._retains_grad = False
    out._base = None
    out._vc = None
    if getattr(data, "base", None) is not None:  # a NumPy view: of one of the inputs?
        for t in inputs:
            if np.may_share_memory(data, t._data):
                out._base = t if t._base is None else t._base
                out._vc = t._vc
                break
    if out._vc is None:
        out._vc = VersionCounter()
    out._view_version = out._vc.value
    needs_grad = False
    if is_grad_enabled():
        for t in inputs:
            if t._base is not None and t._view_version != t._vc.value:
                refresh_view(t)
            needs_grad = needs_grad or t.requires_grad
    out.requires_grad = needs_grad
    out._node = Node(name, tuple(inputs), backward, output=data, output_counter=out._vc) if needs_grad else None
    if recorder is not None:
        recorder(out, inputs, name)
    return out


def refresh_view(view: Tensor) -> None:
    """Bring a view's graph up to date after an in-place write to its base (or to another view of it).

    The view's values are now those of the base's region, so its gradient goes to the base's current value:
    a scatter of the view's gradient into a base-shaped zero array (PyTorch's AsStridedBackward).
    """
    from cnnkit.inplace import view_positions

    base = view._base
    view._view_version = view._vc.value
    if base._node is None and not base.requires_grad:
        return  # the base has no graph: neither has the view
    positions = view_positions(view._data, base._data)
    size, shape = base._data.size, base.shape

    def backward(g: np.ndarray):
        grad = np.bincount(positions.ravel(), weights=g.ravel(), minlength=size)  # sums repeats (expand)
        return (grad.astype(g.dtype, copy=False).reshape(shape),)

    view._node = Node("AsStrided", (base,), backward)
    view.requires_grad = True
def as_tensor(value: Any, like: Tensor | None = None) -> Tensor:
    """A Tensor from a Tensor, array or scalar; Python scalars take `like`'s dtype so float32 stays float32."""
    if isinstance(value, Tensor):
        return value
    if like is not None and np.isscalar(value) and like.dtype.kind == "f":
        return Tensor(value, dtype=like.dtype)
    return Tensor(value)


def tensor(data: Any, requires_grad: bool = False, dtype: Any = None, device: Any = None,
           pin_memory: bool = False) -> Tensor:
    """A new tensor holding a copy of data, as `torch.tensor`: a NumPy array or a tensor keeps its dtype
    (float64 included); Python numbers and lists give float32 (the default dtype) or int64."""
    from cnnkit.device import check_device

    check_device(device)
    if dtype is None and isinstance(data, Tensor):
        dtype = data.dtype
    elif dtype is None and isinstance(data, (np.ndarray, np.generic)):
        dtype = data.dtype
    array = np.array(_to_array(data, dtype), copy=True)
    return Tensor(array, requires_grad=requires_grad, dtype=array.dtype)

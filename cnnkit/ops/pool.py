"""Pooling: max_pool2d, avg_pool2d, adaptive_avg_pool2d and adaptive_max_pool2d with PyTorch's semantics.

Average pooling is separable: a 2-D window is a 1-D window along W (the "columns" pass, giving
t of shape (N, C, H, OW)) followed by a 1-D window along H. Each 1-D pass is a short loop over the
kernel taps, and each tap is one strided slice of the whole batch, so there are no Python loops over
batch, channels or pixels. Padding and ceil_mode never copy the input: a tap only touches the output
positions whose input position lies inside the input (`_Tap.lo:_Tap.hi`), which is the same as padding
with 0 and clipping windows that run past the padded edge.

Max pooling runs the compiled loops of `pool_kernels` on the same window geometry: the forward keeps each
window's argmax, and the gradient goes to the FIRST maximum of each window in row-major order (PyTorch CPU,
strict `>`; NaN wins). Measured on Fashion-VGG's 2×2 pools, the separable NumPy form needed a column pass, a
row pass and then tap-by-tap masks to find the first maximum again in backward (eight passes over memory);
the loops read the input once forward and write the gradient once backward.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from cnnkit.autograd import is_grad_enabled
from cnnkit.ops import pool_kernels as kernels
from cnnkit.ops.compiled import numpy_suffices
from cnnkit.tensor import Tensor, as_tensor, record

IntPair = int | Sequence[int]


class _Tap(NamedTuple):
    """One kernel tap along one axis: outputs lo..hi−1 read the input positions `src` (a strided slice)."""

    lo: int
    hi: int
    src: slice


class _Axis(NamedTuple):
    """The window geometry along one spatial axis."""

    n: int  # input size
    out: int  # output size
    taps: tuple[_Tap, ...]


# ---------------------------------------------------------------------------------------- argument checks


def _pair(op: str, name: str, value: IntPair) -> tuple[int, int]:
    """An int or a 1- or 2-sequence of ints as (h, w), as PyTorch accepts them."""
    if isinstance(value, (int, np.integer)):
        return int(value), int(value)
    values = tuple(value)
    if len(values) in (1, 2) and all(isinstance(v, (int, np.integer)) for v in values):
        return (int(values[0]), int(values[-1]))
    raise ValueError(f"{op}: {name} must be an int or a pair of ints, got {value!r}")


def _as_4d(op: str, x: Tensor) -> tuple[np.ndarray, bool]:
    """The input as (N, C, H, W) and whether it was an unbatched (C, H, W) tensor."""
    if x.ndim not in (3, 4):
        raise ValueError(f"{op}: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape {x.shape}")
    data = x._data if x.ndim == 4 else x._data[None]
    if 0 in data.shape[1:]:
        raise ValueError(f"{op}: expected non-zero channels, height and width, got input of shape {x.shape}")
    return data, x.ndim == 3


def _check_float(op: str, x: Tensor) -> None:
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating-point input, got dtype {x.dtype}")


def _window_args(op: str, kernel_size: IntPair, stride: IntPair | None, padding: IntPair,
                 dilation: IntPair) -> tuple[tuple[int, int], ...]:
    """Validated (kernel, stride, padding, dilation) pairs; stride defaults to the kernel size."""
    kernel = _pair(op, "kernel_size", kernel_size)
    no_stride = stride is None or (not isinstance(stride, (int, np.integer)) and len(stride) == 0)
    strides = kernel if no_stride else _pair(op, "stride", stride)
    pads = _pair(op, "padding", padding)
    dilations = _pair(op, "dilation", dilation)
    if min(kernel) <= 0:
        raise ValueError(f"{op}: expected kernel_size > 0, got {kernel}")
    if min(strides) <= 0:
        raise ValueError(f"{op}: expected stride > 0, got {strides}")
    if min(dilations) <= 0:
        raise ValueError(f"{op}: expected dilation > 0, got {dilations}")
    if min(pads) < 0:
        raise ValueError(f"{op}: expected padding >= 0, got {pads}")
    if pads[0] > kernel[0] // 2 or pads[1] > kernel[1] // 2:
        raise ValueError(f"{op}: expected padding at most half the kernel size {kernel}, i.e. at most "
                         f"{(kernel[0] // 2, kernel[1] // 2)}, got padding {pads}")
    return kernel, strides, pads, dilations


def _out_size(n: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """PyTorch's pooling output size: ⌊(n + 2p − d(k−1) − 1)/s⌋ + 1, or ⌈·⌉ + 1 in ceil_mode, where the last
    window must then start inside the input or the left padding."""
    span = n + 2 * p - d * (k - 1) - 1
    out = (span + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return out


def _axis(n: int, k: int, s: int, p: int, d: int, out: int) -> _Axis:
    """The taps of a 1-D window: tap j of output o reads input position o·s − p + j·d if it lies in [0, n)."""
    taps = []
    for j in range(k):
        offset = j * d - p
        lo = max(0, -(offset // s))  # first o with o·s + offset ≥ 0
        hi = min(out, (n - 1 - offset) // s + 1)  # one past the last o with o·s + offset ≤ n − 1
        if hi > lo:
            taps.append(_Tap(lo, hi, slice(lo * s + offset, (hi - 1) * s + offset + 1, s)))
    return _Axis(n, out, tuple(taps))


def _geometry(op: str, shape: tuple[int, ...], kernel: tuple[int, int], strides: tuple[int, int],
              pads: tuple[int, int], dilations: tuple[int, int], ceil_mode: bool) -> tuple[_Axis, _Axis]:
    """Both axes' taps, or a clear error when the (dilated) kernel does not fit the padded input."""
    h, w = shape[-2:]
    out = tuple(_out_size(n, k, s, p, d, ceil_mode)
                for n, k, s, p, d in zip((h, w), kernel, strides, pads, dilations, strict=True))
    if min(out) < 1:
        span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilations, strict=True))
        raise ValueError(f"{op}: expected the kernel {kernel} (spanning {span} with dilation {dilations}) to fit "
                         f"the padded input {(h + 2 * pads[0], w + 2 * pads[1])}, got input of shape {shape} "
                         f"with padding {pads}: the output would be {out}")
    axes = (_axis(h, kernel[0], strides[0], pads[0], dilations[0], out[0]),
            _axis(w, kernel[1], strides[1], pads[1], dilations[1], out[1]))
    for name, geo in zip("HW", axes, strict=True):
        covered = np.zeros(geo.out, dtype=bool)
        for tap in geo.taps:
            covered[tap.lo:tap.hi] = True
        if not covered.all():  # PyTorch returns garbage indices here (and can crash in ceil_mode)
            raise ValueError(f"{op}: expected every window to overlap the input, got windows along {name} that lie "
                             f"entirely in the padding (input {shape}, kernel {kernel}, dilation {dilations}, "
                             f"padding {pads})")
    return axes


# ---------------------------------------------------------------------------------------- 1-D window passes


def _at(axis: int, index: slice) -> tuple[slice, ...]:
    """An index tuple selecting `index` along `axis` (2 = H, 3 = W) of a 4-D array."""
    return (slice(None),) * axis + (index,)


def _lowest(dtype: np.dtype) -> float | int:
    return -np.inf if dtype.kind == "f" else np.iinfo(dtype).min


def _reduce_taps(a: np.ndarray, geo: _Axis, axis: int, ufunc: np.ufunc, identity: float | int) -> np.ndarray:
    """out[o] = ufunc over the taps of window o along axis (np.maximum → max, np.add → sum)."""
    full = [t for t in geo.taps if t.lo == 0 and t.hi == geo.out]
    rest = [t for t in geo.taps if not (t.lo == 0 and t.hi == geo.out)]
    if len(full) >= 2:  # start from the first two whole taps: saves a copy
        out = ufunc(a[_at(axis, full[0].src)], a[_at(axis, full[1].src)])
        full = full[2:]
    elif full:
        out = a[_at(axis, full[0].src)].copy()
        full = full[1:]
    else:  # every tap is clipped somewhere: start from the identity (−inf or 0), as padding would
        shape = a.shape[:axis] + (geo.out,) + a.shape[axis + 1:]
        out = np.full(shape, identity, dtype=a.dtype)
    for tap in full + rest:
        view = out[_at(axis, slice(tap.lo, tap.hi))]
        ufunc(view, a[_at(axis, tap.src)], out=view)
    return out


class _TapWriter:
    """Accumulates per-tap gradient contributions into dL/dinput along one axis, writing memory once where it can.

    Input positions split into `stride` phases (position mod stride); a tap's positions all lie in one phase.
    The first tap to reach a phase writes its slice directly (`out=`) and zeroes the rest of that phase;
    later taps add into it. So there is no full zero fill and no read-modify-write for the first tap.
    """

    def __init__(self, shape: tuple[int, ...], dtype: np.dtype, axis: int, stride: int) -> None:
        self.grad = np.empty(shape, dtype)
        self.axis, self.stride = axis, stride
        self.started: set[int] = set()

    def target(self, tap: _Tap) -> tuple[np.ndarray, bool]:
        """The gradient slice this tap writes, and whether it is the first write into its phase."""
        view = self.grad[_at(self.axis, tap.src)]
        phase = tap.src.start % self.stride
        if phase in self.started:
            return view, False
        self.started.add(phase)
        whole = self.grad[_at(self.axis, slice(phase, None, self.stride))]
        first = tap.src.start // self.stride
        whole[_at(self.axis, slice(0, first))] = 0
        whole[_at(self.axis, slice(first + tap.hi - tap.lo, None))] = 0
        return view, True

    def finish(self) -> np.ndarray:
        for phase in set(range(self.stride)) - self.started:  # positions no window reads get no gradient
            self.grad[_at(self.axis, slice(phase, None, self.stride))] = 0
        return self.grad


def _spread(g: np.ndarray, geo: _Axis, axis: int, stride: int) -> np.ndarray:
    """Adjoint of a window sum along axis: every tap position gets its window's gradient."""
    shape = g.shape[:axis] + (geo.n,) + g.shape[axis + 1:]
    writer = _TapWriter(shape, g.dtype, axis, stride)
    for tap in geo.taps:
        target, first = writer.target(tap)
        if first:
            target[...] = g[_at(axis, slice(tap.lo, tap.hi))]
        else:
            target += g[_at(axis, slice(tap.lo, tap.hi))]
    return writer.finish()


def _restore(a: np.ndarray, unbatched: bool) -> np.ndarray:
    return a[0] if unbatched else a


# ---------------------------------------------------------------------------------------- max pooling


def _is_plain_2x2(kernel: tuple[int, int], strides: tuple[int, int], pads: tuple[int, int],
                  dilations: tuple[int, int], size: tuple[int, int], out: tuple[int, ...]) -> bool:
    """Whether the unrolled 2×2 loop applies: kernel 2, stride 2, no padding or dilation, and no partial window
    (ceil_mode on an odd size adds one). Measured on 128×32×28×28 (one thread, CPU time): 3.4 ms forward, the
    general loop 9–11 ms; the general loop pays per output row and tap."""
    return (kernel == strides == (2, 2) and pads == (0, 0) and dilations == (1, 1)
            and tuple(out) == (size[0] // 2, size[1] // 2))


def max_pool2d(input: Tensor, kernel_size: IntPair, stride: IntPair | None = None, padding: IntPair = 0,  # noqa: A002
               dilation: IntPair = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """Max over each (dilated) kH×kW window; padding counts as −inf. Input (N, C, H, W) or (C, H, W).

    With return_indices, also the int64 flat index h·W + w of each window's first maximum in its input plane.
    """
    op = "max_pool2d"
    x = as_tensor(input)
    data, unbatched = _as_4d(op, x)
    kernel, strides, pads, dilations = _window_args(op, kernel_size, stride, padding, dilation)
    rows, cols = _geometry(op, x.shape, kernel, strides, pads, dilations, ceil_mode)
    plain = _is_plain_2x2(kernel, strides, pads, dilations, data.shape[2:], (rows.out, cols.out))
    if plain and not return_indices and numpy_suffices(data.size, x.requires_grad and is_grad_enabled()):
        n, c, h, w = data.shape  # the 2×2 windows as two axes of their own; np.max keeps NaN, as PyTorch does
        y = data[:, :, : h // 2 * 2, : w // 2 * 2].reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))
        return record(_restore(y, unbatched), (x,), None, "MaxPool2d")
    # float16 runs as float32: a maximum is exact in either
    work = np.ascontiguousarray(data, dtype=np.float32 if data.dtype == np.float16 else data.dtype)
    n, c, h, w = work.shape
    y = np.empty((n, c, rows.out, cols.out), work.dtype)
    arg = np.empty(y.shape, np.int32)  # flat position h·W + w of each window's first maximum
    if y.size and _is_plain_2x2(kernel, strides, pads, dilations, (h, w), y.shape[2:]):
        kernels.max2x2_forward(work, y, arg)
    elif y.size:
        kernels.max_forward(work, kernel[0], kernel[1], strides[0], strides[1], pads[0], pads[1], dilations[0],
                            dilations[1], work.dtype.type(_lowest(work.dtype)), y, arg)

    def backward(g: np.ndarray):
        g4 = g if not unbatched else g[None]
        gx = np.empty((n, c, h * w), g.dtype)
        if gx.size:
            kernels.max_backward(np.ascontiguousarray(g4).reshape(n, c, -1), arg.reshape(n, c, -1), gx)
        return (_restore(gx.reshape(n, c, h, w), unbatched),)

    out = record(_restore(y.astype(data.dtype, copy=False), unbatched), (x,), backward, "MaxPool2d")
    if not return_indices:
        return out
    return out, Tensor(_restore(arg.astype(np.int64), unbatched))


# ---------------------------------------------------------------------------------------- average pooling


def _window_counts(n: int, out: int, k: int, s: int, p: int, include_pad: bool) -> np.ndarray:
    """Cells per window along one axis: clipped at the padded edge, and at the input edge unless include_pad."""
    start = np.arange(out) * s - p
    end = np.minimum(start + k, n + p)
    if include_pad:
        return end - start
    return np.minimum(end, n) - np.maximum(start, 0)


def avg_pool2d(input: Tensor, kernel_size: IntPair, stride: IntPair | None = None, padding: IntPair = 0,  # noqa: A002
               ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None) -> Tensor:
    """Mean over each kH×kW window (padding counts as 0). Input (N, C, H, W) or (C, H, W).

    Divisor, as PyTorch: divisor_override if given; else the window's cells inside the padded input
    (count_include_pad=True) or inside the input itself (False). Windows are clipped at the padded edge.
    """
    op = "avg_pool2d"
    x = as_tensor(input)
    _check_float(op, x)
    data, unbatched = _as_4d(op, x)
    kernel, strides, pads, _ = _window_args(op, kernel_size, stride, padding, 1)
    if divisor_override is not None and int(divisor_override) == 0:
        raise ValueError(f"{op}: expected a non-zero divisor_override, got {divisor_override}")
    rows, cols = _geometry(op, x.shape, kernel, strides, pads, (1, 1), ceil_mode)
    if data.dtype in _KERNEL_DTYPES and _is_plain_2x2(kernel, strides, pads, (1, 1), data.shape[2:],
                                                      (rows.out, cols.out)) \
            and not numpy_suffices(data.size, x.requires_grad and is_grad_enabled()):
        return _avg_pool_2x2(x, data, unbatched, 4 if divisor_override is None else int(divisor_override))
    if divisor_override is not None:
        divisor = np.asarray(divisor_override, dtype=data.dtype)
    else:
        count_h = _window_counts(rows.n, rows.out, kernel[0], strides[0], pads[0], count_include_pad)
        count_w = _window_counts(cols.n, cols.out, kernel[1], strides[1], pads[1], count_include_pad)
        divisor = np.outer(count_h, count_w).astype(data.dtype)
    y = _reduce_taps(_reduce_taps(data, cols, 3, np.add, 0), rows, 2, np.add, 0)
    y /= divisor  # y = Σ window / divisor

    def backward(g: np.ndarray):
        g4 = g if not unbatched else g[None]
        gy = g4 / divisor  # dL/dx[i] = Σ over windows holding i of g / divisor
        return (_restore(_spread(_spread(gy, rows, 2, strides[0]), cols, 3, strides[1]), unbatched),)

    return record(_restore(y, unbatched), (x,), backward, "AvgPool2d")


_KERNEL_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _avg_pool_2x2(x: Tensor, data: np.ndarray, unbatched: bool, divisor: int) -> Tensor:
    """avg_pool2d on plain 2×2/2 windows by the compiled loops: one read and one write each way (the separable
    NumPy form makes four passes forward and a divide plus two spreads backward). Every window holds 4 cells,
    so the divisor is 4 unless overridden."""
    work = np.ascontiguousarray(data)
    n, c, h, w = work.shape
    d = work.dtype.type(divisor)
    y = np.empty((n, c, h // 2, w // 2), work.dtype)
    if y.size:
        kernels.avg2x2_forward(work, d, y)

    def backward(g: np.ndarray):
        g4 = np.ascontiguousarray(g if not unbatched else g[None])
        dx = np.zeros((n, c, h, w), g.dtype) if not g4.size else np.empty((n, c, h, w), g.dtype)
        if g4.size:
            kernels.avg2x2_backward(g4, g4.dtype.type(divisor), dx)
        return (_restore(dx, unbatched),)

    return record(_restore(y, unbatched), (x,), backward, "AvgPool2d")


# ---------------------------------------------------------------------------------------- adaptive pooling


def _adaptive_size(op: str, output_size: int | None | Sequence[int | None], shape: tuple[int, ...]) -> tuple[int, int]:
    """(OH, OW) from an int, a pair, or a pair with None meaning "keep the input size"."""
    if output_size is None or isinstance(output_size, (int, np.integer)):
        sizes = (output_size, output_size)
    else:
        sizes = tuple(output_size)
        if len(sizes) != 2:
            raise ValueError(f"{op}: expected output_size as an int or a pair, got {output_size!r}")
    result = tuple(n if s is None else s for s, n in zip(sizes, shape[-2:], strict=True))
    if not all(isinstance(s, (int, np.integer)) and s >= 0 for s in result):
        raise ValueError(f"{op}: expected output_size of non-negative ints or None, got {output_size!r}")
    return int(result[0]), int(result[1])


def _bins(n: int, out: int) -> tuple[np.ndarray, np.ndarray]:
    """PyTorch's adaptive bins: start = ⌊i·n/out⌋, end = ⌈(i+1)·n/out⌉."""
    i = np.arange(out)
    return (i * n) // out, -((-(i + 1) * n) // out)


def _bin_average_matrix(n: int, out: int, dtype: np.dtype) -> np.ndarray:
    """A (out × n) matrix with 1/len(bin) on each bin, so that the bin means along an axis are A·x."""
    start, end = _bins(n, out)
    cells = np.arange(n)
    inside = (cells >= start[:, None]) & (cells < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


def adaptive_avg_pool2d(input: Tensor, output_size: int | None | Sequence[int | None]) -> Tensor:  # noqa: A002
    """Mean over PyTorch's adaptive bins. Output size 1 is a plain mean; sizes dividing the input are an
    ordinary avg_pool2d; otherwise y = A_h · x · A_wᵀ with per-axis bin-average matrices."""
    op = "adaptive_avg_pool2d"
    x = as_tensor(input)
    _check_float(op, x)
    data, unbatched = _as_4d(op, x)
    out_h, out_w = _adaptive_size(op, output_size, x.shape)
    h, w = data.shape[2:]
    if (out_h, out_w) == (1, 1):
        return x.mean(dim=(-2, -1), keepdim=True)
    if out_h and out_w and h % out_h == 0 and w % out_w == 0:
        return avg_pool2d(x, (h // out_h, w // out_w))
    a_h = _bin_average_matrix(h, out_h, data.dtype)
    a_w = _bin_average_matrix(w, out_w, data.dtype)
    y = np.matmul(a_h, data @ a_w.T)

    def backward(g: np.ndarray):  # dL/dx = A_hᵀ · G · A_w
        g4 = g if not unbatched else g[None]
        return (_restore(np.matmul(a_h.T, g4 @ a_w), unbatched),)

    return record(_restore(y, unbatched), (x,), backward, "AdaptiveAvgPool2d")


def _adaptive_max_general(data: np.ndarray, out_h: int, out_w: int) -> tuple[np.ndarray, np.ndarray]:
    """Max and flat argmax over adaptive bins, looping over the (few) offsets inside a bin.

    Offset (i, j) of output (oh, ow) reads row min(start_h + i, end_h − 1), column likewise: a short bin
    repeats its last cell, which changes neither the max nor the first argmax. Strict `>` (plus NaN, as
    PyTorch) keeps the first maximum in row-major order.
    """
    h, w = data.shape[2:]
    start_h, end_h = _bins(h, out_h)
    start_w, end_w = _bins(w, out_w)
    y = index = None
    for i in range(int((end_h - start_h).max())):
        r = np.minimum(start_h + i, end_h - 1)[:, None]
        for j in range(int((end_w - start_w).max())):
            c = np.minimum(start_w + j, end_w - 1)[None, :]
            tap = data[:, :, r, c]
            flat = np.broadcast_to(r * w + c, tap.shape)
            if y is None:
                y, index = tap, flat.copy()
                continue
            better = (tap > y) | np.isnan(tap)
            y = np.where(better, tap, y)
            index = np.where(better, flat, index)
    return y, index


def adaptive_max_pool2d(input: Tensor, output_size: int | None | Sequence[int | None],  # noqa: A002
                        return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """Max over PyTorch's adaptive bins; the gradient goes to the first maximum (row-major) of each bin."""
    op = "adaptive_max_pool2d"
    x = as_tensor(input)
    data, unbatched = _as_4d(op, x)
    out_h, out_w = _adaptive_size(op, output_size, x.shape)
    n, c, h, w = data.shape
    if out_h and out_w and h % out_h == 0 and w % out_w == 0 and (out_h, out_w) != (1, 1):
        return max_pool2d(x, (h // out_h, w // out_w), return_indices=return_indices)
    if out_h == 0 or out_w == 0:
        y, index = np.zeros((n, c, out_h, out_w), data.dtype), np.zeros((n, c, out_h, out_w), np.int64)
    elif (out_h, out_w) == (1, 1):  # a plain max over the plane; argmax gives the first maximum
        index = data.reshape(n, c, h * w).argmax(axis=2)[..., None, None]
        y = np.take_along_axis(data.reshape(n, c, h * w), index[..., 0], axis=2)[..., None]
    else:
        y, index = _adaptive_max_general(data, out_h, out_w)

    def backward(g: np.ndarray):  # dL/dx[argmax] = Σ g over the bins whose max it is (bins may overlap)
        g4 = g if not unbatched else g[None]
        planes = np.arange(n * c, dtype=np.int64).reshape(n, c, 1, 1) * (h * w)
        grad = np.bincount((planes + index).ravel(), weights=g4.ravel(), minlength=n * c * h * w)
        return (_restore(grad.astype(data.dtype).reshape(data.shape), unbatched),)

    out = record(_restore(y, unbatched), (x,), backward, "AdaptiveMaxPool2d")
    return (out, Tensor(_restore(index, unbatched))) if return_indices else out

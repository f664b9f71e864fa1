"""Normalisation ops, each forward beside its closed-form backward: batch, group, layer and local response norm.

Layouts, chosen so that every pass is one call over contiguous memory:
- batch norm views its input as (N, C, S) (S = product of the spatial dims, 1 for 2-D input) and runs the
  compiled loops of `norm_kernels`: per-channel sums over N and S in float64, three passes over memory forward
  and five backward, on every core. It saves only x and two (C,) vectors for backward.
- group and layer norm view their input as rows (R, M), one row per normalised group, and reduce along rows.
- local response norm sums squares over a window of neighbouring channels with one slice-add per window offset.

Every normalisation shares one backward: with x̂ = (x − μ)·inv_std over M values and dx̂ = dL/dx̂,
    dx = inv_std/M · (M·dx̂ − Σdx̂ − x̂·Σ(dx̂·x̂)).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cnnkit.autograd import is_grad_enabled
from cnnkit.ops import norm_kernels as kernels
from cnnkit.ops.compiled import numpy_suffices
from cnnkit.tensor import Tensor, record

# Per-channel vectors broadcast against (N, C, S) arrays. With short rows NumPy's broadcast inner loop runs S
# elements at a time (measured 2.1 ms vs 1.5 ms at S = 256 for a 2M-element multiply), so below this S the
# vector is repeated into a full (C, S) row, which NumPy coalesces with C into one long inner loop.
_EXPAND_BELOW = 1024


# --------------------------------------------------------------------------------------------- shared helpers
def _check_float_input(op: str, x: Tensor, min_ndim: int, layout: str) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected input to be a cnnkit Tensor, got {type(x).__name__}")
    if x.ndim < min_ndim:
        raise ValueError(f"{op}: expected input of shape {layout} ({min_ndim} or more dimensions), "
                         f"got shape {x.shape}")
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating-point input, got dtype {x.dtype}")


def _check_vector(op: str, name: str, t: Tensor | None, shape: tuple[int, ...], what: str, x: Tensor) -> None:
    """A per-channel (or per-element) tensor must have exactly the expected shape."""
    if t is None:
        return
    if not isinstance(t, Tensor):
        raise TypeError(f"{op}: expected {name} to be a cnnkit Tensor or None, got {type(t).__name__}")
    if tuple(t.shape) != shape:
        raise ValueError(f"{op}: expected {name} of shape {shape} ({what} of input of shape {x.shape}), "
                         f"got {tuple(t.shape)}")


def _vec(t: Tensor, dtype: np.dtype) -> np.ndarray:
    """A parameter's values in the input's dtype (no copy when they already match)."""
    return t._data.reshape(-1).astype(dtype, copy=False)


def _per_channel(v: np.ndarray, spatial: int) -> np.ndarray:
    """A (C,) vector shaped to broadcast against an (N, C, S) array (see _EXPAND_BELOW)."""
    if spatial < _EXPAND_BELOW:
        return np.repeat(v, spatial).reshape(-1, spatial)
    return v[:, None]


def _channel_sum(a: np.ndarray) -> np.ndarray:
    """Σ_{n,s} a[n, c, s] → (C,). A ones-vector product sums over N in one BLAS pass (4× faster than
    `a.sum(axis=(0, 2))`, measured), then the small (C, S) remainder is summed along its rows."""
    n, c, s = a.shape
    over_n = np.ones(n, dtype=a.dtype) @ a.reshape(n, c * s)
    return over_n if s == 1 else over_n.reshape(c, s).sum(axis=1)


def _channel_dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Σ_{n,s} a·b per channel of two (N, C, S) arrays → (C,), without materialising the product."""
    return np.einsum("ncs,ncs->c", a, b)


def _rows_normalise(rows: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """x̂ and inv_std of each row of an (R, M) array; two passes (mean, then Σ(x − μ)²) for accuracy."""
    m = rows.shape[1]
    mean = rows.sum(axis=1) / m
    xhat = rows - mean[:, None]
    var = np.einsum("ij,ij->i", xhat, xhat) / m  # biased variance
    inv_std = 1 / np.sqrt(var + eps)
    xhat *= inv_std[:, None]
    return xhat, inv_std


def _rows_backward(dxhat: np.ndarray, xhat: np.ndarray, inv_std: np.ndarray) -> np.ndarray:
    """dx of each row from dx̂: dx = inv_std · (dx̂ − Σdx̂/M − x̂·Σ(dx̂·x̂)/M)."""
    m = xhat.shape[1]
    mean_dxhat = dxhat.sum(axis=1) / m
    mean_dxhat_xhat = np.einsum("ij,ij->i", dxhat, xhat) / m
    dx = xhat * mean_dxhat_xhat[:, None]
    dx += mean_dxhat[:, None]
    np.subtract(dxhat, dx, out=dx)
    dx *= inv_std[:, None]
    return dx


def _inputs_and_grads(x: Tensor, weight: Tensor | None, bias: Tensor | None):
    """The op's input tuple, and a function packing (dx, dγ, dβ) into one gradient per input."""
    inputs = (x,) + tuple(t for t in (weight, bias) if t is not None)

    def pack(dx, dweight, dbias):
        grads = (dx,)
        if weight is not None:
            grads += (dweight.astype(weight.dtype, copy=False).reshape(weight.shape)
                      if weight.requires_grad and dweight is not None else None,)
        if bias is not None:
            grads += (dbias.astype(bias.dtype, copy=False).reshape(bias.shape)
                      if bias.requires_grad and dbias is not None else None,)
        return grads

    return inputs, pack


# --------------------------------------------------------------------------------------------- batch norm
def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,  # noqa: A002
               weight: Tensor | None = None, bias: Tensor | None = None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Batch normalisation over (N, C), (N, C, L) or (N, C, H, W) input (any (N, C, *)), as PyTorch's.

    Training: normalise each channel by its batch mean and biased variance, and update `running_mean` and
    `running_var` in place (when given) as r ← (1 − momentum)·r + momentum·batch statistic, the variance
    unbiased by n/(n − 1). Evaluation: normalise by the running statistics. `momentum=None` (the cumulative
    average) is the module's business, as in PyTorch: it passes 1/num_batches_tracked here.
    """
    op = "batch_norm"
    _check_float_input(op, input, 2, "(N, C) or (N, C, *)")
    n, c = input.shape[:2]
    for name, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                    ("bias", bias)):
        _check_vector(op, name, t, (c,), "one value per channel", input)
    if isinstance(momentum, bool) or not isinstance(momentum, (int, float, np.integer, np.floating)):
        raise TypeError(f"{op}: expected momentum to be a float, got {momentum!r} (the BatchNorm module turns "
                        "momentum=None into the cumulative-average factor 1/num_batches_tracked)")
    spatial = int(np.prod(input.shape[2:], dtype=np.int64))
    if training and n * spatial == 1:
        raise ValueError(f"{op}: Expected more than 1 value per channel when training, got input size {input.shape}")
    if not training and (running_mean is None or running_var is None):
        raise ValueError(f"{op}: running_mean and running_var must be defined in evaluation mode (training=False), "
                         f"got running_mean={'None' if running_mean is None else 'a tensor'}, "
                         f"running_var={'None' if running_var is None else 'a tensor'}")
    x3 = input._data.reshape(n, c, spatial)
    if input._data.size == 0:  # PyTorch returns an empty output and leaves the running statistics alone
        return _batch_norm_empty(input, weight, bias)
    if training:
        return _batch_norm_train(input, x3, running_mean, running_var, weight, bias, float(momentum), float(eps))
    return _batch_norm_eval(input, x3, running_mean, running_var, weight, bias, float(eps))


def _batch_norm_empty(x: Tensor, weight: Tensor | None, bias: Tensor | None) -> Tensor:
    inputs, pack = _inputs_and_grads(x, weight, bias)

    def backward(g: np.ndarray):
        zeros = np.zeros(x.shape[1], dtype=x.dtype)
        return pack(np.zeros_like(x._data) if x.requires_grad else None, zeros, zeros)

    return record(np.empty_like(x._data), inputs, backward, "BatchNorm")


def _kernel_array(a: np.ndarray) -> np.ndarray:
    """a as a C-contiguous float32 or float64 array, the layouts the compiled loops take (float16 computes in
    float32; a contiguous array passes through without a copy)."""
    return np.ascontiguousarray(a, dtype=a.dtype if a.dtype in _KERNEL_DTYPES else np.float32)


_KERNEL_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _batch_norm_train(x: Tensor, x3: np.ndarray, running_mean: Tensor | None, running_var: Tensor | None,
                      weight: Tensor | None, bias: Tensor | None, momentum: float, eps: float) -> Tensor:
    n, c, s = x3.shape
    m = n * s
    x3 = _kernel_array(x3)
    work = x3.dtype
    mean, var = kernels.moments(x3)  # float64 per-channel statistics, one pass
    inv_std = 1 / np.sqrt(var + eps)
    # y = γ·(x − μ)·inv_std + β = a·x + b with a = γ·inv_std, b = β − μ·a (PyTorch's CPU form); constants in float64
    scale = inv_std if weight is None else _vec(weight, np.float64) * inv_std
    shift = -mean * scale
    if bias is not None:
        shift += _vec(bias, np.float64)
    out = np.empty_like(x3)
    kernels.affine(x3, scale.astype(work), shift.astype(work), out)
    _update_running(running_mean, running_var, mean, var, m, momentum)
    inputs, pack = _inputs_and_grads(x, weight, bias)

    def backward(g: np.ndarray):
        g3 = _kernel_array(g.reshape(n, c, s))
        sum_g, sum_g_xc = kernels.grad_sums(g3, x3, mean)  # dβ = Σ dy;  dγ = Σ dy·x̂ = inv_std·Σ dy·(x − μ)
        dx = None
        if x.requires_grad:
            # dx = γ·inv_std/M · (M·dy − Σdy − x̂·Σ(dy·x̂)) = a·dy − k·(x − μ) − a·Σdy/M,  k = a·inv_std²·Σdy(x − μ)/M
            slope = scale * inv_std * inv_std * sum_g_xc / m
            offset = scale * sum_g / m
            dx = np.empty_like(x3)
            kernels.grad_input(g3, x3, mean.astype(work), scale.astype(work), slope.astype(work),
                               offset.astype(work), dx)
            dx = dx.reshape(x.shape).astype(x.dtype, copy=False)
        return pack(dx, sum_g_xc * inv_std, sum_g)

    return record(out.reshape(x.shape).astype(x.dtype, copy=False), inputs, backward, "BatchNorm")


def _update_running(running_mean: Tensor | None, running_var: Tensor | None, mean: np.ndarray, var: np.ndarray,
                    m: int, momentum: float) -> None:
    """r ← (1 − momentum)·r + momentum·statistic, in place; the running variance takes the unbiased Σ/(M − 1)."""
    if running_mean is not None:
        running_mean._data[...] = (1 - momentum) * running_mean._data + momentum * mean
    if running_var is not None:
        running_var._data[...] = (1 - momentum) * running_var._data + momentum * (var * (m / (m - 1)))


def _batch_norm_eval(x: Tensor, x3: np.ndarray, running_mean: Tensor, running_var: Tensor, weight: Tensor | None,
                     bias: Tensor | None, eps: float) -> Tensor:
    n, c, s = x3.shape
    x3 = _kernel_array(x3)
    work = x3.dtype
    # a snapshot in float64: a later training step updates the running statistics in place
    mean = _vec(running_mean, np.float64).copy()
    inv_std = 1 / np.sqrt(_vec(running_var, np.float64) + eps)
    scale = inv_std if weight is None else _vec(weight, np.float64) * inv_std
    shift = -mean * scale  # y = a·x + b, a = γ·inv_std, b = β − μ·a
    if bias is not None:
        shift += _vec(bias, np.float64)
    inputs, pack = _inputs_and_grads(x, weight, bias)
    if numpy_suffices(x3.size, is_grad_enabled() and any(t.requires_grad for t in inputs)):
        out = x3 * scale.astype(work)[:, None] + shift.astype(work)[:, None]
    else:
        out = np.empty_like(x3)
        kernels.affine(x3, scale.astype(work), shift.astype(work), out)

    def backward(g: np.ndarray):
        g3 = _kernel_array(g.reshape(n, c, s))
        dx = None
        if x.requires_grad:  # dx = γ·inv_std·dy
            dx = np.empty_like(g3)
            kernels.affine(g3, scale.astype(work), np.zeros(c, work), dx)
            dx = dx.reshape(x.shape).astype(x.dtype, copy=False)
        dweight = dbias = None
        if (weight is not None and weight.requires_grad) or (bias is not None and bias.requires_grad):
            # dβ = Σ dy;  dγ = Σ dy·x̂ = inv_std·Σ dy·(x − μ), x − μ formed per element (no cancellation)
            dbias, sum_g_xc = kernels.grad_sums(g3, x3, mean)
            dweight = sum_g_xc * inv_std
        return pack(dx, dweight, dbias)

    return record(out.reshape(x.shape).astype(x.dtype, copy=False), inputs, backward, "BatchNorm")


# --------------------------------------------------------------------------------------------- group norm
def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None, bias: Tensor | None = None,  # noqa: A002
               eps: float = 1e-5) -> Tensor:
    """Group normalisation of (N, C, *) input: each sample's channels fall into `num_groups` groups of C/G,
    each normalised over its channels and spatial positions, then a per-channel affine γ·x̂ + β."""
    op = "group_norm"
    _check_float_input(op, input, 2, "(N, C, *)")
    n, c = input.shape[:2]
    if isinstance(num_groups, bool) or not isinstance(num_groups, (int, np.integer)) or num_groups < 1:
        raise ValueError(f"{op}: expected num_groups to be a positive integer, got {num_groups!r}")
    if c % num_groups:
        raise ValueError(f"{op}: expected the number of channels to be divisible by num_groups, "
                         f"got input of shape {input.shape} ({c} channels) and num_groups={num_groups}")
    _check_vector(op, "weight", weight, (c,), "one value per channel", input)
    _check_vector(op, "bias", bias, (c,), "one value per channel", input)
    s = int(np.prod(input.shape[2:], dtype=np.int64))
    groups = int(num_groups)
    rows = input._data.reshape(n * groups, (c // groups) * s)  # one row per (sample, group)
    xhat, inv_std = _rows_normalise(rows, float(eps))
    xhat3 = xhat.reshape(n, c, s)
    gamma = _vec(weight, input.dtype) if weight is not None else None
    out = xhat3 * _per_channel(gamma, s) if gamma is not None else xhat3.copy()
    if bias is not None:
        out += _per_channel(_vec(bias, input.dtype), s)
    inputs, pack = _inputs_and_grads(input, weight, bias)

    def backward(g: np.ndarray):
        g3 = g.reshape(n, c, s)
        dx = None
        if input.requires_grad:
            dxhat = g3 * _per_channel(gamma, s) if gamma is not None else g3  # dx̂ = γ·dy
            dx = _rows_backward(dxhat.reshape(rows.shape), xhat, inv_std).reshape(input.shape)
        dweight = _channel_dot(g3, xhat3) if weight is not None and weight.requires_grad else None  # Σ dy·x̂
        dbias = _channel_sum(g3) if bias is not None and bias.requires_grad else None  # Σ dy
        return pack(dx, dweight, dbias)

    return record(out.reshape(input.shape), inputs, backward, "GroupNorm")


# --------------------------------------------------------------------------------------------- layer norm
def layer_norm(input: Tensor, normalized_shape: int | Sequence[int], weight: Tensor | None = None,  # noqa: A002
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Layer normalisation over the trailing dims given by `normalized_shape` (an int means one dim), then an
    elementwise affine γ·x̂ + β with γ and β of shape `normalized_shape`."""
    op = "layer_norm"
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected input to be a cnnkit Tensor, got {type(input).__name__}")
    shape = _normalized_shape(op, normalized_shape)
    k = len(shape)
    if input.ndim < k or tuple(input.shape[input.ndim - k:]) != shape:
        raise ValueError(f"{op}: expected input of shape (*, {', '.join(map(str, shape))}) to match "
                         f"normalized_shape={list(shape)}, got {input.shape}")
    _check_float_input(op, input, k, f"(*, {', '.join(map(str, shape))})")
    _check_vector(op, "weight", weight, shape, "normalized_shape", input)
    _check_vector(op, "bias", bias, shape, "normalized_shape", input)
    m = int(np.prod(shape, dtype=np.int64))
    rows = input._data.reshape(-1, m)
    xhat, inv_std = _rows_normalise(rows, float(eps))
    gamma = _vec(weight, input.dtype) if weight is not None else None
    out = xhat * gamma if gamma is not None else xhat.copy()
    if bias is not None:
        out += _vec(bias, input.dtype)
    inputs, pack = _inputs_and_grads(input, weight, bias)

    def backward(g: np.ndarray):
        g2 = g.reshape(rows.shape)
        dx = None
        if input.requires_grad:
            dxhat = g2 * gamma if gamma is not None else g2  # dx̂ = γ·dy
            dx = _rows_backward(dxhat, xhat, inv_std).reshape(input.shape)
        dweight = np.einsum("ij,ij->j", g2, xhat) if weight is not None and weight.requires_grad else None  # Σ dy·x̂
        dbias = np.ones(g2.shape[0], dtype=g2.dtype) @ g2 if bias is not None and bias.requires_grad else None
        return pack(dx, dweight, dbias)

    return record(out.reshape(input.shape), inputs, backward, "LayerNorm")


def _normalized_shape(op: str, normalized_shape: int | Sequence[int]) -> tuple[int, ...]:
    if isinstance(normalized_shape, (int, np.integer)) and not isinstance(normalized_shape, bool):
        normalized_shape = (normalized_shape,)
    try:
        if isinstance(normalized_shape, (str, bytes)):
            raise TypeError
        shape = tuple(int(d) for d in normalized_shape)
    except (TypeError, ValueError):
        raise TypeError(f"{op}: expected normalized_shape to be an int or a sequence of ints, "
                        f"got {normalized_shape!r}") from None
    if not shape:
        raise ValueError(f"{op}: expected normalized_shape to have at least one dimension, got {list(shape)}")
    return shape


# --------------------------------------------------------------------------------------------- local response norm
def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75,  # noqa: A002
                        k: float = 1.0) -> Tensor:
    """Local response normalisation across channels (AlexNet), as PyTorch's:

    b_c = a_c / D_c^β,  D_c = k + α/size · Σ_{j = c − size//2}^{c + (size − 1)//2} a_j²  (missing channels are 0).
    """
    op = "local_response_norm"
    _check_float_input(op, input, 3, "(N, C, *)")
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise ValueError(f"{op}: expected size to be a positive integer, got {size!r}")
    n, c = input.shape[:2]
    s = int(np.prod(input.shape[2:], dtype=np.int64))
    size, alpha, beta, k = int(size), float(alpha), float(beta), float(k)
    a = input._data.reshape(n, c, s)
    denom = _channel_window_sum(a * a, size // 2, (size - 1) // 2)
    denom *= alpha / size
    denom += k  # D
    denom_pow = np.power(denom, -beta)  # D^−β
    out = a * denom_pow

    def backward(g: np.ndarray):
        g3 = g.reshape(n, c, s)
        # dx_i = g_i·D_i^−β − 2αβ/size · a_i · Σ_{c : i ∈ window(c)} g_c·a_c·D_c^(−β−1);
        # i ∈ window(c) ⇔ c ∈ [i − (size − 1)//2, i + size//2], the window mirrored.
        t = g3 * a
        t *= denom_pow
        t /= denom
        spread = _channel_window_sum(t, (size - 1) // 2, size // 2)
        spread *= a
        spread *= -2 * alpha * beta / size
        dx = g3 * denom_pow
        dx += spread
        return (dx.reshape(input.shape),)

    return record(out.reshape(input.shape), (input,), backward, "LocalResponseNorm")


def _channel_window_sum(v: np.ndarray, before: int, after: int) -> np.ndarray:
    """w[:, c] = Σ_{j = c − before}^{c + after} v[:, j] over an (N, C, S) array, channels outside [0, C) being 0.

    One slice-add per window offset (the loop is over offsets, never over channels).
    """
    c = v.shape[1]
    total = v.copy()
    for offset in range(1, min(before, c - 1) + 1):
        total[:, offset:] += v[:, :-offset]  # the channel `offset` below
    for offset in range(1, min(after, c - 1) + 1):
        total[:, :-offset] += v[:, offset:]  # the channel `offset` above
    return total


def instance_norm(input: Tensor, running_mean: Tensor | None = None, running_var: Tensor | None = None,  # noqa: A002
                  weight: Tensor | None = None, bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Instance normalisation of (N, C, *) input: each sample's each channel over its spatial positions.

    It is group norm with one channel per group. With running buffers and `use_input_stats`, they are updated
    in place as PyTorch's: r ← (1 − momentum)·r + momentum·mean over the batch of the per-instance mean (and
    unbiased variance). Without `use_input_stats` (eval with tracked statistics) the running ones normalise,
    as batch norm's inference.
    """
    _check_float_input("instance_norm", input, 3, "(N, C, *)")
    if not use_input_stats:
        if running_mean is None or running_var is None:
            raise ValueError("instance_norm: expected running_mean and running_var when use_input_stats=False")
        return batch_norm(input, running_mean, running_var, weight, bias, False, momentum, eps)
    out = group_norm(input, input.shape[1], weight, bias, eps)
    if running_mean is not None or running_var is not None:
        n, c = input.shape[:2]
        x = input.numpy().reshape(n, c, -1)
        m = float(momentum)
        if running_mean is not None:
            mean_buffer = running_mean.numpy()  # updated in place, as the buffer
            mean_buffer *= 1 - m
            mean_buffer += (m * x.mean(axis=2).mean(axis=0)).astype(running_mean.dtype)
        if running_var is not None:
            unbiased = x.var(axis=2, ddof=1) if x.shape[2] > 1 else np.full((n, c), np.nan, x.dtype)
            var_buffer = running_var.numpy()
            var_buffer *= 1 - m
            var_buffer += (m * unbiased.mean(axis=0)).astype(running_var.dtype)
    return out

"""`cnnkit.nn.init`: weight initialisation schemes with `torch.nn.init`'s names, arguments and formulas.

Every function fills `tensor._data` IN PLACE (the array object is kept, so views and optimiser state stay
valid), in the tensor's own dtype, draws from `cnnkit.random.default_generator()` unless a
`generator` is given, and returns the tensor.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from cnnkit.random import default_generator
from cnnkit.tensor import Tensor

_LINEAR_FNS = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
               "sigmoid")


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for a nonlinearity: 1 (linear, conv, sigmoid), 5/3 (tanh), √2 (relu),
    √(2 / (1 + slope²)) (leaky_relu, slope default 0.01), 3/4 (selu)."""
    if nonlinearity in _LINEAR_FNS:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = float(param)
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """fan_in = size(1) · receptive field, fan_out = size(0) · receptive field (receptive = ∏ sizes after dim 1)."""
    if tensor.ndim < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 dimensions")
    receptive = int(np.prod(tensor.shape[2:])) if tensor.ndim > 2 else 1
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _calculate_correct_fan(tensor: Tensor, mode: str) -> int:
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _rng(generator: np.random.Generator | None) -> np.random.Generator:
    return default_generator() if generator is None else generator


def _draw_dtype(tensor: Tensor) -> np.dtype:
    """Draw float32 (or float64) directly: the generator supports both, so no float64 temporary for float32."""
    return tensor.dtype if tensor.dtype in (np.float32, np.float64) else np.dtype(np.float64)


def _fill(tensor: Tensor, values: np.ndarray) -> Tensor:
    tensor._data[...] = values  # in place: the tensor keeps its array, shape and dtype
    return tensor


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator: np.random.Generator | None = None) -> Tensor:
    """Fill with U(a, b)."""
    u = _rng(generator).random(tensor.shape, dtype=_draw_dtype(tensor))
    return _fill(tensor, u * (float(b) - float(a)) + float(a))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0,
            generator: np.random.Generator | None = None) -> Tensor:
    """Fill with N(mean, std²)."""
    z = _rng(generator).standard_normal(tensor.shape, dtype=_draw_dtype(tensor))
    return _fill(tensor, z * float(std) + float(mean))


def constant_(tensor: Tensor, val: float) -> Tensor:
    return _fill(tensor, val)


def zeros_(tensor: Tensor) -> Tensor:
    return _fill(tensor, 0)


def ones_(tensor: Tensor) -> Tensor:
    return _fill(tensor, 1)


def eye_(tensor: Tensor) -> Tensor:
    """The identity matrix in a 2-D tensor (ones on the diagonal of a non-square one)."""
    if tensor.ndim != 2:
        raise ValueError(f"eye_: only tensors with 2 dimensions are supported, got shape {tensor.shape}")
    return _fill(tensor, np.eye(*tensor.shape, dtype=tensor.dtype))


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator: np.random.Generator | None = None) -> Tensor:
    """U(−a, a) with a = gain · √(6 / (fan_in + fan_out)) (Glorot & Bengio, 2010)."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator: np.random.Generator | None = None) -> Tensor:
    """N(0, std²) with std = gain · √(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator)


def _kaiming_std(tensor: Tensor, a: float, mode: str, nonlinearity: str) -> float | None:
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return None
    fan = _calculate_correct_fan(tensor, mode)
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(tensor: Tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                     generator: np.random.Generator | None = None) -> Tensor:
    """U(−bound, bound) with bound = gain · √(3 / fan) (He et al., 2015); a is leaky_relu's negative slope."""
    std = _kaiming_std(tensor, a, mode, nonlinearity)
    if std is None:
        return tensor
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor: Tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                    generator: np.random.Generator | None = None) -> Tensor:
    """N(0, std²) with std = gain / √fan."""
    std = _kaiming_std(tensor, a, mode, nonlinearity)
    if std is None:
        return tensor
    return normal_(tensor, 0.0, std, generator)


def _truncated_normal(shape: tuple[int, ...], mean: float, std: float, a: float, b: float,
                      rng: np.random.Generator, dtype: np.dtype) -> np.ndarray:
    """N(mean, std²) conditioned on [a, b], by rejection: redraw the rejected entries until none are left.

    Proposals come from the normal itself when it puts enough mass on [a, b], otherwise from U(a, b)
    accepted with probability pdf(x) / max pdf on [a, b]; both are exact.
    """
    def cdf(t: float) -> float:  # Φ((t − mean) / std)
        return 0.5 * (1.0 + math.erf((t - mean) / (std * math.sqrt(2.0))))

    mass = cdf(b) - cdf(a)
    out = np.empty(int(np.prod(shape)), dtype=dtype)
    todo = np.arange(out.size)
    peak = min(max(mean, a), b)  # where the density is highest inside [a, b]
    while todo.size:
        if mass > 0.05:
            x = rng.standard_normal(todo.size) * std + mean
            keep = (x >= a) & (x <= b)
        else:
            x = rng.uniform(a, b, todo.size)
            ratio = np.exp(((peak - mean) ** 2 - (x - mean) ** 2) / (2.0 * std * std))
            keep = rng.random(todo.size) < ratio
        out[todo[keep]] = x[keep]
        todo = todo[~keep]
    return out.reshape(shape)


def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0,
                  generator: np.random.Generator | None = None) -> Tensor:
    """N(mean, std²) truncated to [a, b] (a and b are absolute bounds, as in PyTorch)."""
    if not a < b:
        raise ValueError(f"trunc_normal_: expected a < b, got a={a}, b={b}")
    if std <= 0:
        raise ValueError(f"trunc_normal_: expected std > 0, got {std}")
    values = _truncated_normal(tensor.shape, float(mean), float(std), float(a), float(b), _rng(generator),
                               _draw_dtype(tensor))
    return _fill(tensor, values)


def orthogonal_(tensor: Tensor, gain: float = 1.0, generator: np.random.Generator | None = None) -> Tensor:
    """A (semi-)orthogonal matrix from the QR decomposition of a Gaussian one (Saxe et al., 2013), times gain.

    Dimensions after the first are flattened; the signs of R's diagonal fix Q so the result is uniformly random.
    """
    if tensor.ndim < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if tensor._data.size == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor._data.size // rows
    flat = _rng(generator).standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q *= np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _fill(tensor, (q * float(gain)).reshape(tensor.shape))

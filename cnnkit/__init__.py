"""cnnkit: convolutional neural networks from first principles on NumPy.

The public surface mirrors PyTorch's: `cnnkit.tensor`, `cnnkit.Tensor`, `cnnkit.no_grad`, `cnnkit.device`
(the CPU; `cnnkit.cuda.is_available()` is False), `cnnkit.autograd` (`Function`, `grad`),
`cnnkit.manual_seed`, `cnnkit.cat`/`stack`, the constructors, and the `nn`, `optim`, `data`
and `models` packages; `cnnkit.receptive_field(model, layer)`; `cnnkit.gradcheck(model_or_fn, inputs)`. Figures live
in `cnnkit.viz` (imported on demand: it loads matplotlib).
"""

from __future__ import annotations

import numpy as np

from cnnkit.allocator import keep_freed_memory
from cnnkit.autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from cnnkit.creation import (
    arange,
    as_tensor,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randint_like,
    randn,
    randn_like,
    randperm,
    zeros,
    zeros_like,
)
from cnnkit.device import device
from cnnkit.memory_format import channels_last, channels_last_3d, contiguous_format, memory_format, preserve_format
from cnnkit.ops.elementwise import abs, clamp, exp, log, maximum, minimum, sigmoid, sign, sqrt, tanh, where
from cnnkit.ops.matmul import matmul
from cnnkit.ops.reduce import argmax, argmin, max, mean, min, sum, var
from cnnkit.ops.shape import cat, chunk, flatten, permute, split, stack
from cnnkit.ops.threads import get_num_threads, set_num_threads
from cnnkit.random import Generator, get_rng_state, manual_seed, set_rng_state
from cnnkit.tensor import Tensor, tensor

float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
float16 = np.dtype(np.float16)
int64 = np.dtype(np.int64)
int32 = np.dtype(np.int32)
uint8 = np.dtype(np.uint8)
bool_ = np.dtype(np.bool_)
long = int64
float = float32  # noqa: A001 - torch.float is float32
double = float64

__version__ = "0.1.0"

keep_freed_memory()  # a training step re-allocates what the last one freed: keep it (see cnnkit/allocator.py)

# The packages, importable as attributes after `import cnnkit` (they need only the core above).
from cnnkit import accelerator, amp, autograd, backends, cuda, data, metrics, models, nn, optim, signal, utils  # noqa: E402
from cnnkit.amp import autocast  # noqa: E402
from cnnkit.gradient_check import gradcheck  # noqa: E402
from cnnkit.receptive_field import receptive_field  # noqa: E402
from cnnkit.serialization import load, save  # noqa: E402
from cnnkit.summary import summary  # noqa: E402

__all__ = [
    "Tensor", "tensor", "no_grad", "enable_grad", "is_grad_enabled", "set_grad_enabled", "manual_seed",
    "get_rng_state", "set_rng_state", "cat", "stack", "split", "chunk", "flatten", "permute", "zeros", "ones",
    "empty", "full", "zeros_like", "ones_like", "arange", "linspace", "eye", "rand", "randn", "randint",
    "randperm", "from_numpy", "abs", "clamp", "exp", "log", "sqrt", "sigmoid", "tanh", "maximum", "where",
    "matmul", "sum", "mean", "var", "max", "min", "argmax", "argmin", "data", "metrics", "models", "nn", "optim",
    "signal", "load", "save", "summary", "receptive_field", "device", "cuda", "accelerator", "backends",
    "autograd", "minimum", "sign", "utils", "Generator", "gradcheck", "as_tensor", "empty_like", "full_like",
    "rand_like", "randn_like", "randint_like", "memory_format", "channels_last", "channels_last_3d",
    "contiguous_format", "preserve_format", "amp", "autocast", "get_num_threads", "set_num_threads",
]

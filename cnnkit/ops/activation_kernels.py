"""Compiled loops of the ReLU, over flat contiguous arrays, split into blocks that `prange` hands to the cores.

    forward   y = x where x > 0, else 0 (NaN stays NaN)     one read, one write
    backward  dx = 0 where y ≤ 0, else g (so NaN passes)    two reads, one write

The NumPy forms are the same passes on one core (`np.maximum`), or twice the passes with a temporary
mask (`g · [y > 0]`); a select rather than a product also keeps g's NaN and infinities out of the zeros,
and lets the gradient through where y is NaN, as PyTorch's threshold backward does.
"""

from __future__ import annotations

import numpy as np

from cnnkit.ops.compiled import compiled, prange

# Elements per parallel block: big enough that a block's loop start costs nothing, small enough that two
# cores share a 64 KiB activation.
BLOCK = 1 << 14


@compiled
def relu_forward(x, out):  # noqa: ANN001, ANN201 - a compiled loop nest
    """out = x where x > 0 or x is NaN, else 0, on flat arrays."""
    n = x.size
    zero = np.float32(0)  # a float32 literal: an integer 0 would make the select (and the loop) float64
    for b in prange((n + BLOCK - 1) // BLOCK):
        # through slices and a loop index from 0: LLVM then vectorises (no negative-index wraparound check)
        src, dst = x[b * BLOCK:(b + 1) * BLOCK], out[b * BLOCK:(b + 1) * BLOCK]
        for i in range(src.size):
            v = src[i]
            dst[i] = zero if v <= zero else v


@compiled
def relu_backward(y, g, out):  # noqa: ANN001, ANN201
    """out = 0 where y ≤ 0, else g, on flat arrays (y is the forward's output)."""
    n = y.size
    zero = np.float32(0)
    for b in prange((n + BLOCK - 1) // BLOCK):
        ys, gs, dst = y[b * BLOCK:(b + 1) * BLOCK], g[b * BLOCK:(b + 1) * BLOCK], out[b * BLOCK:(b + 1) * BLOCK]
        for i in range(ys.size):
            dst[i] = zero if ys[i] <= zero else gs[i]

"""Differentiable ops on NumPy arrays, grouped by kind; each op's forward and backward sit side by side.

- `elementwise`: arithmetic with broadcasting, exp/log/sqrt, clamp, casts.
- `reduce`: sum, mean, var, max/min (with indices), argmax.
- `shape`: reshape, permute, indexing, cat/stack, squeeze, expand, pad.
- `matmul`: matrix products and `linear`.
- `conv`, `pool`, `norm`, `activation`, `loss`, `resample`: the CNN building blocks.
"""

from cnnkit.ops import elementwise, matmul, reduce, shape

__all__ = ["elementwise", "matmul", "reduce", "shape"]

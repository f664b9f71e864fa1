"""Matrix products: `matmul` with NumPy's batching and broadcasting rules, and `linear` (y = x Wᵀ + b)."""

from __future__ import annotations

import numpy as np

from cnnkit.ops.broadcast import unbroadcast
from cnnkit.ops.threads import small_product
from cnnkit.tensor import Tensor, as_tensor, record


def matmul(a: Tensor, b: Tensor) -> Tensor:
    a, b = as_tensor(a), as_tensor(b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: both operands need at least 1 dimension, got shapes {a.shape} and {b.shape}")
    k_a = a.shape[-1]
    k_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if k_a != k_b:
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not align ({k_a} != {k_b})")
    out = np.matmul(a._data, b._data)

    def backward(g: np.ndarray):
        # Promote 1-D operands to matrices so the two formulas dA = G Bᵀ and dB = Aᵀ G hold throughout.
        a2 = a._data[None, :] if a.ndim == 1 else a._data
        b2 = b._data[:, None] if b.ndim == 1 else b._data
        batch = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
        g2 = g.reshape(batch + (a2.shape[-2], b2.shape[-1]))
        ga = gb = None
        if a.requires_grad:
            ga = np.matmul(g2, np.swapaxes(b2, -1, -2))
            ga = unbroadcast(ga, a2.shape).reshape(a.shape)
        if b.requires_grad:
            gb = np.matmul(np.swapaxes(a2, -1, -2), g2)
            gb = unbroadcast(gb, b2.shape).reshape(b.shape)
        return ga, gb

    return record(out, (a, b), backward, "MatMul")


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = x Wᵀ + b, with W of shape (out_features, in_features); x may have any leading dims."""
    if x.shape[-1:] != weight.shape[1:]:
        raise ValueError(f"linear: expected input with last dim {weight.shape[1]} "
                         f"(weight {weight.shape}), got input of shape {x.shape}")
    lead = x.shape[:-1]
    x2 = x._data.reshape(-1, x.shape[-1])
    flops = 2.0 * x2.shape[0] * x2.shape[1] * weight.shape[0]  # per product; backward makes two of that size
    with small_product(flops):
        out = x2 @ weight._data.T
    if bias is not None:
        out += bias._data
    inputs = (x, weight) if bias is None else (x, weight, bias)

    def backward(g: np.ndarray):
        g2 = g.reshape(-1, weight.shape[0])
        with small_product(flops):
            gx = (g2 @ weight._data).reshape(x.shape) if x.requires_grad else None  # dL/dx = G W
            gw = g2.T @ x2 if weight.requires_grad else None  # dL/dW = Gᵀ x
        grads = (gx, gw)
        if bias is not None:
            grads += (g2.sum(axis=0) if bias.requires_grad else None,)  # dL/db = Σ_rows G
        return grads

    return record(out.reshape(lead + (weight.shape[0],)), inputs, backward, "Linear")

"""The soft Dice loss on logits, for segmentation: forward and closed-form backward side by side.

With p = softmax(logits) over dim 1, g the one-hot target and sums over every non-ignored position of the
batch (one "batch Dice" per class, not a mean of per-image scores):

    I_c = Σ p_c·g_c,   P_c = Σ p_c,   G_c = Σ g_c,   D_c = (2·I_c + ε) / (P_c + G_c + ε)
    loss = 1 − mean of D_c over the scored classes S: those present in the target (G_c > 0), without class 0
           when exclude_background (an all-background prediction would otherwise score well)

The denominator is the plain Σp + Σg (V-Net squares p and g there). A batch with no class to score — only
background, or every pixel ignored — has loss 0 and a zero gradient: the cross-entropy next to it still
teaches the background. Backward, with den_c = P_c + G_c + ε and upstream gradient u:

    ∂loss/∂p_c(x) = −(u / |S|)·[c ∈ S]·(2·g_c(x) − D_c) / den_c   at non-ignored x (0 at ignored x)
    ∂loss/∂z_k    = p_k·(a_k − Σ_c p_c·a_c)                        (the softmax's Jacobian, a = ∂loss/∂p)
"""

from __future__ import annotations

import numpy as np

from cnnkit.ops.loss import _check_float_input, _class_indices
from cnnkit.tensor import Tensor, as_tensor, record


def dice_loss(
    logits: Tensor, target: Tensor, ignore_index: int = 255, exclude_background: bool = True, eps: float = 1.0
) -> Tensor:
    """1 − the mean soft Dice of the classes present in the batch; logits (N, C, d1, …), target (N, d1, …)."""
    op = "dice_loss"
    _check_float_input(op, logits)
    if logits.ndim < 2:
        raise ValueError(f"{op}: expected logits of shape (N, C) or (N, C, d1, ...), got {logits.shape}")
    if eps < 0:
        raise ValueError(f"{op}: eps must be non-negative, got {eps}")
    target = as_tensor(target)
    t = _class_indices(op, logits, target, ignore_index)
    n, classes = logits.shape[:2]
    t = t.reshape(n, 1, -1)  # (N, 1, S)
    valid = t != ignore_index
    onehot = t == np.arange(classes).reshape(1, classes, 1)  # (N, C, S); False at ignored positions
    p = _softmax(logits._data.reshape(n, classes, -1))
    p_valid = p if valid.all() else p * valid
    total_p = p_valid.sum(axis=(0, 2))  # P_c
    total_g = onehot.sum(axis=(0, 2)).astype(p.dtype)  # G_c
    intersection = (p * onehot).sum(axis=(0, 2))  # I_c
    den = total_p + total_g + p.dtype.type(eps)
    dice = (2 * intersection + p.dtype.type(eps)) / den
    scored = total_g > 0
    if exclude_background:
        scored[0] = False
    count = int(scored.sum())
    loss = np.asarray(1 - dice[scored].mean() if count else 0.0, dtype=p.dtype)

    def backward(g: np.ndarray):
        if count == 0:
            return np.zeros_like(logits._data), None
        coef = np.where(scored, -g / (count * den), 0).astype(p.dtype)  # −(u/|S|)·[c ∈ S] / den_c
        a = (2 * coef).reshape(1, classes, 1) * onehot  # ∂loss/∂p = coef_c·(2·g_c − D_c) at valid x
        a -= (coef * dice).reshape(1, classes, 1) * valid
        grad = p * (a - (p * a).sum(axis=1, keepdims=True))
        return grad.reshape(logits.shape), None

    return record(loss, (logits, target), backward, "DiceLoss")


def _softmax(x: np.ndarray) -> np.ndarray:
    """softmax over dim 1, as e^(x − max) / Σ e^(x − max)."""
    e = np.exp(x - x.max(axis=1, keepdims=True))
    e /= e.sum(axis=1, keepdims=True)
    return e

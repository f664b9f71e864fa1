"""Adam and AdamW (Adam with decoupled weight decay), matching torch.optim.Adam's single-tensor update.

One step, t counting from 1, in PyTorch's order of float32 operations:
    g ← −∇ if maximize else ∇
    θ ← θ(1 − γλ) (AdamW, decoupled)   or   g ← g + λθ (Adam, L2)
    m ← lerp(m, g, 1 − β₁);   v ← β₂v + (1 − β₂)g²;   v̂ ← max(v̂, v) (amsgrad)
    θ ← θ − (γ / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from cnnkit.optim.optimizer import Optimizer, check_implementation, check_non_negative
from cnnkit.tensor import Tensor


def lerp_(start: np.ndarray, end: np.ndarray, weight: float) -> None:
    """start ← start + w(end − start) in place, with torch.lerp's two formulas (the exact one at each end)."""
    w = np.asarray(weight, dtype=start.dtype)
    diff = end - start
    if abs(w) < 0.5:
        diff *= w  # start + w·(end − start)
        start += diff
    else:
        diff *= w - start.dtype.type(1)  # end − (1 − w)·(end − start)
        np.add(end, diff, out=start)


def apply_weight_decay(theta: np.ndarray, g: np.ndarray, lr: float, weight_decay: float,
                       decoupled: bool) -> np.ndarray:
    """The Adam family's weight decay; returns the gradient to use. Decoupled (AdamW): θ ← θ(1 − γλ) in place,
    g unchanged; otherwise L2: g ← g + λθ."""
    if weight_decay == 0:
        return g
    if decoupled:
        theta *= 1 - lr * weight_decay
        return g
    return g + weight_decay * theta


class Adam(Optimizer):
    """torch.optim.Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *, maximize)."""

    OPTIONS_OLD_STATE_DICTS_LACK = {"amsgrad": False, "maximize": False, "decoupled_weight_decay": False}

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0,
                 amsgrad: bool = False, *, foreach: bool | None = None, maximize: bool = False,
                 capturable: bool = False, differentiable: bool = False, fused: bool | None = None,
                 decoupled_weight_decay: bool = False) -> None:
        check_implementation(self._name, foreach, fused, capturable, differentiable)
        defaults = {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay, "amsgrad": amsgrad,
                    "maximize": maximize, "decoupled_weight_decay": decoupled_weight_decay}
        self._check_options(defaults)
        super().__init__(params, defaults)

    def _check_options(self, options: dict[str, Any]) -> None:
        name = self._name
        check_non_negative(name, "lr", options["lr"])
        check_non_negative(name, "eps", options["eps"])
        betas = options["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"{name}: betas must be a pair (beta1, beta2), got {betas!r}")
        for i, beta in enumerate(betas):
            check_non_negative(name, f"beta parameter at index {i}", beta)
            if not beta < 1.0:
                raise ValueError(f"{name}: invalid beta parameter at index {i}: {beta} (expected 0 <= beta < 1)")
        check_non_negative(name, "weight_decay", options["weight_decay"])

    def _init_state(self, state: dict[str, Any], p: Tensor, amsgrad: bool) -> None:
        state["step"] = 0.0
        state["exp_avg"] = np.zeros_like(p._data)
        state["exp_avg_sq"] = np.zeros_like(p._data)
        if amsgrad:
            state["max_exp_avg_sq"] = np.zeros_like(p._data)

    def _update_group(self, group: dict[str, Any]) -> None:
        lr, eps, weight_decay = float(group["lr"]), float(group["eps"]), float(group["weight_decay"])
        beta1, beta2 = (float(b) for b in group["betas"])
        amsgrad = group["amsgrad"]
        for p, grad in self._params_with_grad(group):
            state = self.state[p]
            if not state:
                self._init_state(state, p, amsgrad)
            state["step"] = step = state["step"] + 1
            g = -grad if group["maximize"] else grad
            g = apply_weight_decay(p._data, g, lr, weight_decay, group["decoupled_weight_decay"])
            exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
            lerp_(exp_avg, g, 1 - beta1)  # m ← β₁m + (1 − β₁)g
            exp_avg_sq *= beta2  # v ← β₂v + (1 − β₂)g²
            exp_avg_sq += (1 - beta2) * g * g
            step_size = lr / (1 - beta1**step)  # γ / (1 − β₁ᵗ)
            bias_correction2_sqrt = (1 - beta2**step) ** 0.5
            if amsgrad:
                np.maximum(state["max_exp_avg_sq"], exp_avg_sq, out=state["max_exp_avg_sq"])
                denom = np.sqrt(state["max_exp_avg_sq"])
            else:
                denom = np.sqrt(exp_avg_sq)
            denom /= bias_correction2_sqrt  # √v / √(1 − β₂ᵗ) + ε
            denom += eps
            update = exp_avg * -step_size  # θ ← θ + (−step_size · m) / denom, as torch's addcdiv
            update /= denom
            p._data += update


class AdamW(Adam):
    """torch.optim.AdamW: Adam with decoupled weight decay θ ← θ(1 − γλ), weight_decay=1e-2 by default."""

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 1e-2,
                 amsgrad: bool = False, *, maximize: bool = False, foreach: bool | None = None,
                 capturable: bool = False, differentiable: bool = False, fused: bool | None = None) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize, foreach=foreach,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)

    def _after_load(self) -> None:
        super()._after_load()
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True

"""RAdam (rectified Adam), matching torch.optim.RAdam's single-tensor update:
    g ← −∇ if maximize else ∇;   θ ← θ(1 − γλ) (decoupled)  or  g ← g + λθ
    m ← lerp(m, g, 1 − β₁);   v ← β₂v + (1 − β₂)g²;   m̂ = m / (1 − β₁ᵗ)
    ρ∞ = 2/(1 − β₂) − 1;   ρₜ = ρ∞ − 2tβ₂ᵗ/(1 − β₂ᵗ)
    ρₜ > 5:  r = √((ρₜ − 4)(ρₜ − 2)ρ∞ / ((ρ∞ − 4)(ρ∞ − 2)ρₜ)),   θ ← θ − γ·m̂·√(1 − β₂ᵗ)/(√v + ε)·r
    else:    θ ← θ − γ·m̂            (the variance estimate is not yet reliable: plain momentum SGD)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from cnnkit.optim.adam import Adam, apply_weight_decay, lerp_
from cnnkit.optim.optimizer import check_implementation
from cnnkit.tensor import Tensor


class RAdam(Adam):
    """torch.optim.RAdam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
    decoupled_weight_decay=False, *, maximize=False)."""

    OPTIONS_OLD_STATE_DICTS_LACK = {"maximize": False, "decoupled_weight_decay": False}

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0,
                 decoupled_weight_decay: bool = False, *, foreach: bool | None = None, maximize: bool = False,
                 capturable: bool = False, differentiable: bool = False) -> None:
        check_implementation("RAdam", foreach, None, capturable, differentiable)
        defaults = {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay,
                    "decoupled_weight_decay": decoupled_weight_decay, "maximize": maximize}
        self._check_options(defaults)
        super(Adam, self).__init__(params, defaults)

    def _update_group(self, group: dict[str, Any]) -> None:
        lr, eps, weight_decay = float(group["lr"]), float(group["eps"]), float(group["weight_decay"])
        beta1, beta2 = (float(b) for b in group["betas"])
        rho_inf = 2 / (1 - beta2) - 1
        for p, grad in self._params_with_grad(group):
            theta = p.numpy()  # the parameter's own array, updated in place
            state = self.state[p]
            if not state:
                state.update(step=0.0, exp_avg=np.zeros_like(theta), exp_avg_sq=np.zeros_like(theta))
            state["step"] = step = state["step"] + 1
            g = -grad if group["maximize"] else grad
            g = apply_weight_decay(theta, g, lr, weight_decay, group["decoupled_weight_decay"])
            exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
            lerp_(exp_avg, g, 1 - beta1)
            exp_avg_sq *= beta2
            exp_avg_sq += (1 - beta2) * g * g
            bias_correction1 = 1 - beta1**step
            bias_correction2 = 1 - beta2**step
            corrected = exp_avg / bias_correction1
            rho_t = rho_inf - 2 * step * (beta2**step) / bias_correction2
            if rho_t > 5.0:
                rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
                adaptive = (bias_correction2**0.5) / (np.sqrt(exp_avg_sq) + eps)
                theta -= corrected * lr * adaptive * rect
            else:
                theta -= corrected * lr

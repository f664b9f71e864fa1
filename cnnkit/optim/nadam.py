"""NAdam (Adam with Nesterov momentum), matching torch.optim.NAdam's single-tensor update:
    g ← −∇ if maximize else ∇;   θ ← θ(1 − γλ) (decoupled)  or  g ← g + λθ
    μₜ = β₁(1 − ½·0.96^(t·ψ)),   μₜ₊₁ = β₁(1 − ½·0.96^((t+1)·ψ)),   Πₜ = Πₜ₋₁·μₜ      (momentum_decay ψ)
    m ← lerp(m, g, 1 − β₁);   v ← β₂v + (1 − β₂)g²;   d ← √(v / (1 − β₂ᵗ)) + ε
    θ ← θ − γ(1 − μₜ)/(1 − Πₜ) · g/d − γμₜ₊₁/(1 − Πₜμₜ₊₁) · m/d
Πₜ (`mu_product`) is kept as a float32 number, as PyTorch keeps it in a float32 tensor.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from cnnkit.optim.adam import Adam, apply_weight_decay, lerp_
from cnnkit.optim.optimizer import check_implementation, check_non_negative
from cnnkit.tensor import Tensor


class NAdam(Adam):
    """torch.optim.NAdam(params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3,
    decoupled_weight_decay=False, *, maximize=False)."""

    OPTIONS_OLD_STATE_DICTS_LACK = {"maximize": False, "decoupled_weight_decay": False}

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]], lr: float = 2e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0,
                 momentum_decay: float = 4e-3, decoupled_weight_decay: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False) -> None:
        check_implementation("NAdam", foreach, None, capturable, differentiable)
        defaults = {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay,
                    "momentum_decay": momentum_decay, "decoupled_weight_decay": decoupled_weight_decay,
                    "maximize": maximize}
        self._check_options(defaults)
        super(Adam, self).__init__(params, defaults)

    def _check_options(self, options: dict[str, Any]) -> None:
        super()._check_options({**options, "amsgrad": False})
        check_non_negative("NAdam", "momentum_decay", options["momentum_decay"])

    def _update_group(self, group: dict[str, Any]) -> None:
        lr, eps, weight_decay = float(group["lr"]), float(group["eps"]), float(group["weight_decay"])
        beta1, beta2 = (float(b) for b in group["betas"])
        psi = float(group["momentum_decay"])
        for p, grad in self._params_with_grad(group):
            theta = p.numpy()  # the parameter's own array, updated in place
            state = self.state[p]
            if not state:
                state.update(step=0.0, mu_product=1.0, exp_avg=np.zeros_like(theta),
                             exp_avg_sq=np.zeros_like(theta))
            state["step"] = step = state["step"] + 1
            g = -grad if group["maximize"] else grad
            g = apply_weight_decay(theta, g, lr, weight_decay, group["decoupled_weight_decay"])
            mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * psi)))
            mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * psi)))
            mu_product = float(np.float32(state["mu_product"]) * np.float32(mu))
            state["mu_product"] = mu_product
            exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
            lerp_(exp_avg, g, 1 - beta1)
            exp_avg_sq *= beta2
            exp_avg_sq += (1 - beta2) * g * g
            denom = np.sqrt(exp_avg_sq / (1 - beta2**step))
            denom += eps
            update = g * (-lr * (1.0 - mu) / (1.0 - mu_product))
            update /= denom
            theta += update
            update = exp_avg * ((-lr * mu_next) / (1.0 - mu_product * mu_next))
            update /= denom
            theta += update

"""Adadelta, matching torch.optim.Adadelta's single-tensor update (same order of float32 operations):
    g ← −∇ if maximize else ∇;   g ← g + λθ                       (weight decay λ)
    v ← ρv + (1 − ρ)g²;   δ ← √(u + ε) / √(v + ε) · g;   u ← ρu + (1 − ρ)δ²
    θ ← θ − γδ
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from cnnkit.optim.optimizer import Optimizer, check_implementation, check_non_negative
from cnnkit.tensor import Tensor


class Adadelta(Optimizer):
    """torch.optim.Adadelta(params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *, maximize)."""

    OPTIONS_OLD_STATE_DICTS_LACK = {"maximize": False}

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]], lr: float = 1.0, rho: float = 0.9,
                 eps: float = 1e-6, weight_decay: float = 0, foreach: bool | None = None, *,
                 capturable: bool = False, maximize: bool = False, differentiable: bool = False) -> None:
        check_implementation("Adadelta", foreach, None, capturable, differentiable)
        defaults = {"lr": lr, "rho": rho, "eps": eps, "weight_decay": weight_decay, "maximize": maximize}
        self._check_options(defaults)
        super().__init__(params, defaults)

    def _check_options(self, options: dict[str, Any]) -> None:
        for name in ("lr", "eps", "weight_decay"):
            check_non_negative("Adadelta", name, options[name])
        if not 0.0 <= options["rho"] <= 1.0:
            raise ValueError(f"Adadelta: invalid rho value {options['rho']} (expected 0 <= rho <= 1)")

    def _update_group(self, group: dict[str, Any]) -> None:
        lr, rho, eps, weight_decay = (float(group[k]) for k in ("lr", "rho", "eps", "weight_decay"))
        for p, grad in self._params_with_grad(group):
            theta = p.numpy()  # the parameter's own array, updated in place
            state = self.state[p]
            if not state:
                state.update(step=0.0, square_avg=np.zeros_like(theta), acc_delta=np.zeros_like(theta))
            state["step"] += 1
            g = -grad if group["maximize"] else grad
            if weight_decay != 0:
                g = g + weight_decay * theta
            square_avg, acc_delta = state["square_avg"], state["acc_delta"]
            square_avg *= rho  # v ← ρv + (1 − ρ)g²
            square_avg += (1 - rho) * g * g
            std = np.sqrt(square_avg + eps)
            delta = np.sqrt(acc_delta + eps)  # δ ← √(u + ε) / √(v + ε) · g
            delta /= std
            delta *= g
            acc_delta *= rho  # u ← ρu + (1 − ρ)δ²
            acc_delta += (1 - rho) * delta * delta
            theta -= lr * delta

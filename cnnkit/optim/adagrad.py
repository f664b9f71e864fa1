"""Adagrad, matching torch.optim.Adagrad's single-tensor update (same order of float32 operations):
    g ← −∇ if maximize else ∇;   g ← g + λθ                       (weight decay λ)
    γₜ ← γ / (1 + (t − 1)·lr_decay);   s ← s + g²;   θ ← θ − γₜ · g / (√s + ε)
The accumulator s starts at `initial_accumulator_value`; as in PyTorch, the state exists from construction.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from cnnkit.optim.optimizer import Optimizer, check_implementation, check_non_negative
from cnnkit.tensor import Tensor


class Adagrad(Optimizer):
    """torch.optim.Adagrad(params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10)."""

    OPTIONS_OLD_STATE_DICTS_LACK = {"maximize": False}

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]], lr: float = 1e-2, lr_decay: float = 0,
                 weight_decay: float = 0, initial_accumulator_value: float = 0, eps: float = 1e-10,
                 foreach: bool | None = None, *, maximize: bool = False, differentiable: bool = False,
                 fused: bool | None = None) -> None:
        check_implementation("Adagrad", foreach, fused, False, differentiable)
        defaults = {"lr": lr, "lr_decay": lr_decay, "eps": eps, "weight_decay": weight_decay,
                    "initial_accumulator_value": initial_accumulator_value, "maximize": maximize}
        self._check_options(defaults)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p].update(step=0.0, sum=np.full_like(p.numpy(), group["initial_accumulator_value"]))

    def _check_options(self, options: dict[str, Any]) -> None:
        for name in ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"):
            check_non_negative("Adagrad", name, options[name])

    def _update_group(self, group: dict[str, Any]) -> None:
        lr, lr_decay, eps, weight_decay = (float(group[k]) for k in ("lr", "lr_decay", "eps", "weight_decay"))
        for p, grad in self._params_with_grad(group):
            theta = p.numpy()  # the parameter's own array, updated in place
            state = self.state[p]
            if not state:  # a parameter added after construction
                state.update(step=0.0, sum=np.full_like(theta, group["initial_accumulator_value"]))
            state["step"] = step = state["step"] + 1
            g = -grad if group["maximize"] else grad
            if weight_decay != 0:
                g = g + weight_decay * theta
            clr = lr / (1 + (step - 1) * lr_decay)
            state["sum"] += g * g  # s ← s + g²
            std = np.sqrt(state["sum"])
            std += eps
            update = g * -clr  # θ ← θ + (−γₜ g) / (√s + ε), as torch's addcdiv
            update /= std
            theta += update

"""Stochastic gradient descent with optional momentum, dampening, Nesterov momentum and L2 weight decay.

The update follows torch.optim.SGD step for step (single-tensor path, same order of float32 operations):
    g ← −∇ if maximize else ∇;   g ← g + λθ                 (weight decay λ)
    b ← g at the first step, else b ← μb + (1 − τ)g          (momentum μ, dampening τ)
    g ← g + μb if nesterov else b;   θ ← θ − γg              (learning rate γ)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from cnnkit.optim.optimizer import Optimizer, check_implementation, check_non_negative
from cnnkit.tensor import Tensor


class SGD(Optimizer):
    """torch.optim.SGD: SGD(params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *, maximize)."""

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]], lr: float = 1e-3, momentum: float = 0,
                 dampening: float = 0, weight_decay: float = 0, nesterov: bool = False, *,
                 maximize: bool = False, foreach: bool | None = None, differentiable: bool = False,
                 fused: bool | None = None) -> None:
        check_implementation("SGD", foreach, fused, False, differentiable)
        defaults = {"lr": lr, "momentum": momentum, "dampening": dampening, "weight_decay": weight_decay,
                    "nesterov": nesterov, "maximize": maximize}
        self._check_options(defaults)
        super().__init__(params, defaults)

    def _check_options(self, options: dict[str, Any]) -> None:
        for name in ("lr", "momentum", "weight_decay"):
            check_non_negative("SGD", name, options[name])
        if options["nesterov"] and (options["momentum"] <= 0 or options["dampening"] != 0):
            raise ValueError(f"SGD: Nesterov momentum requires a momentum and zero dampening, got "
                             f"momentum={options['momentum']}, dampening={options['dampening']}")

    def _after_load(self) -> None:
        for group in self.param_groups:
            group.setdefault("nesterov", False)
            group.setdefault("maximize", False)

    def _update_group(self, group: dict[str, Any]) -> None:
        lr, momentum = float(group["lr"]), float(group["momentum"])
        dampening, weight_decay = float(group["dampening"]), float(group["weight_decay"])
        for p, grad in self._params_with_grad(group):
            d_p = -grad if group["maximize"] else grad
            if weight_decay != 0:
                d_p = d_p + weight_decay * p._data  # g + λθ
            if momentum != 0:
                d_p = self._momentum(self.state[p], d_p, grad, momentum, dampening, group["nesterov"])
            p._data -= lr * d_p  # θ ← θ − γg

    @staticmethod
    def _momentum(state: dict[str, Any], d_p: np.ndarray, grad: np.ndarray, momentum: float, dampening: float,
                  nesterov: bool) -> np.ndarray:
        """Update the momentum buffer b and return the direction to step along (g + μb for Nesterov, else b)."""
        buf = state.get("momentum_buffer")
        if buf is None:
            # b₁ = g (not (1 − τ)g); copy unless d_p is already a temporary of our own (asarray: a 0-d
            # parameter's temporaries are NumPy scalars, which cannot be updated in place)
            buf = d_p.copy() if d_p is grad else np.asarray(d_p)
            state["momentum_buffer"] = buf
        else:
            buf *= momentum  # b ← μb + (1 − τ)g
            buf += d_p if dampening == 0 else (1 - dampening) * d_p
        if nesterov:
            return d_p + momentum * buf
        return buf

"""RMSprop, matching torch.optim.RMSprop's single-tensor update (optionally centered, with momentum).

One step, in PyTorch's order of float32 operations:
    g ← −∇ if maximize else ∇;   g ← g + λθ                     (weight decay λ)
    v ← αv + (1 − α)g²
    centered: ḡ ← lerp(ḡ, g, 1 − α);  d ← √(v − ḡ²) + ε;   else d ← √v + ε
    momentum μ > 0: b ← μb + g / d;  θ ← θ − γb;            else θ ← θ − γg / d
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from cnnkit.optim.adam import lerp_
from cnnkit.optim.optimizer import Optimizer, check_implementation, check_non_negative
from cnnkit.tensor import Tensor


class RMSprop(Optimizer):
    """torch.optim.RMSprop(params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False)."""

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]], lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0, momentum: float = 0, centered: bool = False,
                 capturable: bool = False, foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False) -> None:
        check_implementation("RMSprop", foreach, None, capturable, differentiable)
        defaults = {"lr": lr, "momentum": momentum, "alpha": alpha, "eps": eps, "centered": centered,
                    "weight_decay": weight_decay, "maximize": maximize}
        self._check_options(defaults)
        super().__init__(params, defaults)

    def _check_options(self, options: dict[str, Any]) -> None:
        for name in ("lr", "eps", "momentum", "weight_decay", "alpha"):
            check_non_negative("RMSprop", name, options[name])

    def _after_load(self) -> None:
        for group in self.param_groups:
            group.setdefault("momentum", 0)
            group.setdefault("centered", False)
            group.setdefault("maximize", False)

    @staticmethod
    def _init_state(state: dict[str, Any], p: Tensor, group: dict[str, Any]) -> None:
        state["step"] = 0.0
        state["square_avg"] = np.zeros_like(p._data)
        if group["momentum"] > 0:
            state["momentum_buffer"] = np.zeros_like(p._data)
        if group["centered"]:
            state["grad_avg"] = np.zeros_like(p._data)

    def _update_group(self, group: dict[str, Any]) -> None:
        lr, alpha, eps = float(group["lr"]), float(group["alpha"]), float(group["eps"])
        weight_decay, momentum = float(group["weight_decay"]), float(group["momentum"])
        for p, grad in self._params_with_grad(group):
            state = self.state[p]
            if not state:
                self._init_state(state, p, group)
            state["step"] += 1
            g = -grad if group["maximize"] else grad
            if weight_decay != 0:
                g = g + weight_decay * p._data  # g ← g + λθ
            square_avg = state["square_avg"]
            square_avg *= alpha  # v ← αv + (1 − α)g²
            square_avg += (1 - alpha) * g * g
            if group["centered"]:
                grad_avg = _buffer(state, "grad_avg", p)
                lerp_(grad_avg, g, 1 - alpha)  # ḡ ← αḡ + (1 − α)g
                avg = np.sqrt(square_avg - grad_avg * grad_avg)  # d ← √(v − ḡ²) + ε
            else:
                avg = np.sqrt(square_avg)  # d ← √v + ε
            avg += eps
            if momentum > 0:
                buf = _buffer(state, "momentum_buffer", p)
                buf *= momentum  # b ← μb + g / d
                buf += g / avg
                p._data -= lr * buf  # θ ← θ − γb
            else:
                update = g * -lr  # θ ← θ + (−γg) / d, as torch's addcdiv
                update /= avg
                p._data += update


def _buffer(state: dict[str, Any], key: str, p: Tensor) -> np.ndarray:
    """state[key], created as zeros if momentum or centering was switched on after the first step."""
    if key not in state:
        state[key] = np.zeros_like(p._data)
    return state[key]

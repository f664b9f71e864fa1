"""Gradient flow during training: per-layer gradient and weight norms and activation statistics, every N steps.

Recording costs no extra forward or backward pass. After the optimiser step of a recorded step, each layer with
parameters gives

    grad_norm   = ‖∇θ L‖₂ over the layer's own parameters (the gradient that step just used)
    weight_norm = ‖θ‖₂ after the step
    ratio       = grad_norm / weight_norm      (the update scale: plain SGD moves θ by lr · ratio of its size)

and forward hooks, armed only for the recorded steps, give for every parameterised layer and every activation
module (a module called twice in one forward counts both calls) the mean and standard deviation of its output
and, for activation modules, `zeros`: the share of outputs that are exactly 0 (for a ReLU: the units that are
off; a ReLU whose output is always 0 is dead). The hooks skip evaluation passes (modules in eval mode), and
exist only from the end of the step before a recorded one to the end of the recorded one: the other steps run
without them.

`RECORDS_PER_EPOCH` records are taken per epoch (every max(1, steps // RECORDS_PER_EPOCH) steps), the first
step of training always; each is a plain dict, kept in the epoch's history row under "gradient_flow".
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from cnnkit import nn

RECORDS_PER_EPOCH = 10
ACTIVATIONS = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.ELU, nn.Tanh, nn.Sigmoid, nn.GELU, nn.SiLU)


def steps_between_records(steps_per_epoch: int) -> int:
    return max(1, steps_per_epoch // RECORDS_PER_EPOCH)


def _short(value: float) -> float:
    """Six significant digits: enough for a figure, and history.json stays small."""
    return float(f"{value:.6g}")


def _own_parameters(module: nn.Module) -> list:
    return [p for p in module.parameters(recurse=False) if p.requires_grad]


class GradientFlow:
    """Call `after_step()` after every optimiser step; `take()` returns (and forgets) the records so far."""

    def __init__(self, model: nn.Module, every: int, step: int = 0) -> None:
        if every < 1:
            raise ValueError(f"GradientFlow: every must be at least 1, got {every}")
        self.every, self.step = every, step
        self.layers = [(name, m) for name, m in model.named_modules() if name and _own_parameters(m)]
        watched = [(name, m) for name, m in model.named_modules()
                   if name and (_own_parameters(m) or isinstance(m, ACTIVATIONS))]
        self.activation_modules = {name for name, m in watched if isinstance(m, ACTIVATIONS)}
        self.watched = watched
        self.sums: dict[str, np.ndarray] = {}  # name → [count, Σx, Σx², zeros]
        self.records: list[dict[str, Any]] = []
        self.handles: list = []  # the hooks exist only during a recorded step: other steps keep the fast path
        if step % every == 0:
            self._arm()

    @property
    def armed(self) -> bool:
        return bool(self.handles)

    def _arm(self) -> None:
        self.handles = [m.register_forward_hook(self._hook(name)) for name, m in self.watched]

    def _hook(self, name: str):
        def hook(module: nn.Module, _args: tuple, output: Any) -> None:
            if not module.training:
                return
            data = getattr(output[0] if isinstance(output, tuple) else output, "_data", None)
            if not isinstance(data, np.ndarray) or data.dtype.kind != "f":
                return
            x = data.astype(np.float64, copy=False)
            sums = self.sums.setdefault(name, np.zeros(4))
            sums += (x.size, x.sum(), np.square(x).sum(), x.size - np.count_nonzero(x))

        return hook

    def after_step(self) -> None:
        """Record this step if it was armed; arm the next one when it is due."""
        if self.armed:
            self.records.append(self._record())
            self.sums = {}
            self.remove()
        self.step += 1
        if self.step % self.every == 0:
            self._arm()

    def _record(self) -> dict[str, Any]:
        layers = {}
        for name, module in self.layers:
            params = _own_parameters(module)
            grad = math.sqrt(sum(float(np.square(p.grad._data, dtype=np.float64).sum())
                                 for p in params if p.grad is not None))
            weight = math.sqrt(sum(float(np.square(p._data, dtype=np.float64).sum()) for p in params))
            layers[name] = {"grad_norm": _short(grad), "weight_norm": _short(weight),
                            "ratio": _short(grad / weight if weight > 0 else 0.0)}
        activations = {}
        for name, (count, total, squares, zeros) in self.sums.items():
            mean = total / count
            std = math.sqrt(max(squares / count - mean * mean, 0.0))
            activations[name] = {"mean": _short(mean), "std": _short(std)}
            if name in self.activation_modules:
                activations[name]["zeros"] = _short(zeros / count)
        return {"step": self.step + 1, "layers": layers, "activations": activations}

    def take(self) -> list[dict[str, Any]]:
        records, self.records = self.records, []
        return records

    def remove(self) -> None:
        """Take the forward hooks off (recording stops)."""
        for handle in self.handles:
            handle.remove()
        self.handles = []

"""An exponential moving average (EMA) of a model's weights, kept as a frozen copy of the model.

After every optimiser step n = 0, 1, 2, … (n updates done before this one):

    d_n = min(decay, (1 + n)/(10 + n))          (warm-up: early weights are not remembered for long)
    θ̄ ← d_n·θ̄ + (1 − d_n)·θ                     (every parameter; other buffers are copied as they are)

The copy (`shadow`) is the same module class with its parameters turned into buffers, so it runs like the
model, is never seen by an optimiser, and its values and the update count travel in `state_dict()` — hence
in training checkpoints, and a resumed run continues the average exactly. Diffusion samples from `shadow`; a run
trained with `cnnkit train --ema DECAY` is validated, kept as best and exported as `shadow`.
"""

from __future__ import annotations

import copy

import numpy as np

from cnnkit import nn
from cnnkit.tensor import Tensor


def frozen_copy(model: nn.Module) -> nn.Module:
    """A deep copy of model whose parameters are plain buffers (same names, copied values, no gradients)."""
    shadow = copy.deepcopy(model)
    for module in shadow.modules():
        for name, param in list(module._parameters.items()):
            del module._parameters[name]
            module.register_buffer(name, None if param is None else Tensor(param._data.copy(), dtype=param.dtype))
    return shadow


class EMA(nn.Module):
    """EMA of `model`'s weights with decay `decay` and the (1 + n)/(10 + n) warm-up; `update(model)` after each
    optimiser step. State: `shadow.*` (the averaged weights) and `num_updates`."""

    def __init__(self, model: nn.Module, decay: float = 0.999, warmup: bool = True) -> None:
        super().__init__()
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"EMA: expected a decay in [0, 1), got {decay!r}")
        self.decay, self.warmup = float(decay), bool(warmup)
        self.shadow = frozen_copy(model)
        self.register_buffer("num_updates", Tensor(np.zeros((), np.int64), dtype=np.int64))

    def extra_repr(self) -> str:
        return f"decay={self.decay}, warmup={self.warmup}"

    def current_decay(self) -> float:
        """The decay the next update will use."""
        n = int(self.num_updates._data)
        return min(self.decay, (1 + n) / (10 + n)) if self.warmup else self.decay

    def update(self, model: nn.Module) -> None:
        """θ̄ ← d·θ̄ + (1 − d)·θ for every parameter of model (as θ̄ −= (1 − d)(θ̄ − θ), in place)."""
        averaged = dict(self.shadow.named_buffers())
        weight = np.float32(1.0 - self.current_decay())
        for name, param in model.named_parameters():
            target = averaged.get(name)
            if target is None or target.shape != param.shape:
                raise ValueError(
                    f"EMA.update: the model's parameter {name!r} {param.shape} has no matching "
                    "average; update with the model the EMA was built from"
                )
            target._data -= weight * (target._data - param._data)
        for name, buffer in model.named_buffers():
            averaged[name]._data[...] = buffer._data  # e.g. BatchNorm statistics: taken as they are
        self.num_updates._data[...] = self.num_updates._data + 1

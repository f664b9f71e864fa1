"""The ε-prediction objective (Ho et al.'s L_simple) with label dropout for classifier-free guidance.

For a batch of clean images x_0 in [−1, 1] with labels y, draw t ~ U{0 … T − 1} and ε ~ N(0, I) per image,
replace each label by ∅ with probability p_uncond, form x_t = √ᾱ_t·x_0 + √(1 − ᾱ_t)·ε, and return the
residual r = ε_θ(x_t, t, y) − ε; the loss is mean(r²). The draws come from the given generator, by default
cnnkit's global one — which the trainer seeds per epoch, so a resumed run draws exactly the same.
"""

from __future__ import annotations

import numpy as np

from cnnkit import nn
from cnnkit.diffusion.gaussian import GaussianDiffusion
from cnnkit.diffusion.noising import q_sample
from cnnkit.random import default_generator
from cnnkit.tensor import Tensor


def drop_labels(labels: np.ndarray, null_label: int, p: float, rng: np.random.Generator) -> np.ndarray:
    """A copy of labels with each entry replaced by null_label with probability p."""
    dropped = rng.random(len(labels)) < p
    return np.where(dropped, null_label, labels).astype(np.int64)


def epsilon_residual(
    model: GaussianDiffusion,
    x0: Tensor | np.ndarray,
    y: Tensor | np.ndarray | None = None,
    generator: np.random.Generator | None = None,
    use_ema: bool = False,
) -> Tensor:
    """ε_θ(x_t, t, y') − ε for freshly drawn t, ε and dropped labels y' (a Tensor with a graph when training)."""
    rng = generator if generator is not None else default_generator()
    images = np.asarray(x0._data if isinstance(x0, Tensor) else x0, dtype=np.float32)
    n = images.shape[0]
    t = rng.integers(0, model.schedule.timesteps, n)
    noise = rng.standard_normal(images.shape, dtype=np.float32)
    net = model.denoiser(use_ema)
    labels = None
    if net.num_classes:
        given = np.asarray(y._data if isinstance(y, Tensor) else y, dtype=np.int64)
        labels = drop_labels(given, net.null_label, model.p_uncond, rng)
    x_t = q_sample(model.schedule, images, t, noise)
    return net(Tensor(x_t), t, labels) - Tensor(noise)


class EpsilonLoss(nn.Module):
    """mean(r²) of an ε-residual r: the mean squared error between predicted and true noise."""

    def forward(self, residual: Tensor, targets: object = None) -> Tensor:
        return (residual * residual).mean()

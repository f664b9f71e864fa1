"""Samplers: from pure noise x_T ~ N(0, I) to an image, applying a noise predictor ε(x, t) step by step.

`eps_fn(x, t)` is any function from a batch x (N, C, H, W) float32 and a 0-based step t to ε̂ of x's shape —
a network (`cnnkit.diffusion.guidance.epsilon_function`) or a plain formula in tests. Both samplers are
vectorised over the batch, draw every random number from the given generator in a fixed order (x_T, then
one z per noisy step), and predict x̂_0 = x_t/√ᾱ_t − √(1/ᾱ_t − 1)·ε̂, clipped to [−1, 1] by default.

DDPM (ancestral, Ho et al. 2020, with the official code's x̂_0 clipping): for t = T − 1 … 0
    x_{t−1} = c1_t·x̂_0 + c2_t·x_t + σ_t·z,   σ_t² = β̃_t ("small") or β_t ("large"), z = 0 at the last step.
DDIM (Song et al. 2021) on an increasing sub-sequence τ of S steps, from t = τ_i to t' = τ_{i−1} (ᾱ_{−1} = 1):
    ε̂ ← (x_t − √ᾱ_t·x̂_0)/√(1 − ᾱ_t)   (re-derived from the clipped x̂_0, so both samplers use the same x̂_0)
    σ = η·√((1 − ᾱ_t')/(1 − ᾱ_t))·√(1 − ᾱ_t/ᾱ_t'),   x_t' = √ᾱ_t'·x̂_0 + √(1 − ᾱ_t' − σ²)·ε̂ + σ·z
η = 0 is deterministic given x_T; η = 1 over all T steps is the DDPM sampler with σ_t² = β̃_t.

A trajectory (the states x_T … x_0 at a few evenly spaced steps) is kept on request; its labels are the
paper's 1-based noise levels: T for the starting noise, t + 1 for the input of 0-based step t, 0 for the result.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from cnnkit.diffusion.schedule import NoiseSchedule

EpsFn = Callable[[np.ndarray, int], np.ndarray]
VARIANCES = ("small", "large")


@dataclass
class Sampling:
    """The samples x_0 (N, C, H, W) in [−1, 1] and, if asked for, the kept states as (noise level, x) pairs."""

    images: np.ndarray
    trajectory: list[tuple[int, np.ndarray]] = field(default_factory=list)


def ddim_timesteps(timesteps: int, steps: int) -> np.ndarray:
    """S steps spread evenly over 0 … T − 1, both ends included (S = T gives every step), increasing."""
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or not 1 <= steps <= timesteps:
        raise ValueError(f"DDIM: expected steps between 1 and {timesteps}, got {steps!r}")
    if steps == 1:
        return np.array([timesteps - 1])
    return np.unique(np.round(np.linspace(0, timesteps - 1, int(steps))).astype(np.int64))


def predict_x0(schedule: NoiseSchedule, x: np.ndarray, t: int, eps: np.ndarray, clip: bool) -> np.ndarray:
    """x̂_0 = x_t/√ᾱ_t − √(1/ᾱ_t − 1)·ε̂, clipped to [−1, 1] when asked."""
    x0 = schedule.sqrt_recip_alphas_cumprod[t] * x - schedule.sqrt_recipm1_alphas_cumprod[t] * eps
    return np.clip(x0, -1.0, 1.0) if clip else x0


class _Trajectory:
    """Keeps `points` evenly spaced states out of `states` (the first and the last included)."""

    def __init__(self, points: int, states: int) -> None:
        chosen = np.round(np.linspace(0, states - 1, points)) if points > 1 else [states - 1] * points
        self.keep = {int(i) for i in chosen}
        self.kept: list[tuple[int, np.ndarray]] = []
        self.index = 0

    def add(self, level: int, x: np.ndarray) -> None:
        if self.index in self.keep:
            self.kept.append((level, x.copy()))
        self.index += 1


def _bar(steps: Iterable[int], total: int, enabled: bool, description: str) -> Iterable[int]:
    if not enabled:
        return steps
    from tqdm.auto import tqdm

    return tqdm(steps, total=total, desc=description, leave=False, dynamic_ncols=True, mininterval=0.5)


def _check(eps_fn: EpsFn, shape: tuple[int, ...], generator: np.random.Generator) -> None:
    if not callable(eps_fn):
        raise TypeError(f"sampler: eps_fn must be callable, got {type(eps_fn).__name__}")
    if len(shape) != 4 or min(shape) < 1:
        raise ValueError(f"sampler: expected a shape (N, C, H, W) of positive sizes, got {shape}")
    if not isinstance(generator, np.random.Generator):
        raise TypeError(f"sampler: expected a numpy Generator, got {type(generator).__name__}")


def ddpm_sample(
    eps_fn: EpsFn,
    shape: tuple[int, ...],
    schedule: NoiseSchedule,
    *,
    generator: np.random.Generator,
    variance: str = "small",
    clip: bool = True,
    trajectory: int = 0,
    progress: bool = False,
) -> Sampling:
    """Ancestral sampling over all T steps (see the module docstring); `trajectory` = states to keep."""
    _check(eps_fn, shape, generator)
    if variance not in VARIANCES:
        raise ValueError(f"DDPM: expected variance 'small' (β̃_t) or 'large' (β_t), got {variance!r}")
    sigmas = np.sqrt(schedule.posterior_variance if variance == "small" else schedule.betas)
    total = schedule.timesteps
    x = generator.standard_normal(shape, dtype=np.float32)
    kept = _Trajectory(trajectory, total + 1)
    kept.add(total, x)
    for t in _bar(range(total - 1, -1, -1), total, progress, "DDPM"):
        x0 = predict_x0(schedule, x, t, eps_fn(x, t), clip)
        x = schedule.posterior_mean_coef1[t] * x0 + schedule.posterior_mean_coef2[t] * x
        if t > 0:
            x += sigmas[t] * generator.standard_normal(shape, dtype=np.float32)
        kept.add(t, x)
    return Sampling(x.astype(np.float32, copy=False), kept.kept)


def ddim_sample(
    eps_fn: EpsFn,
    shape: tuple[int, ...],
    schedule: NoiseSchedule,
    *,
    generator: np.random.Generator,
    steps: int = 50,
    eta: float = 0.0,
    clip: bool = True,
    trajectory: int = 0,
    progress: bool = False,
) -> Sampling:
    """DDIM over `steps` steps with stochasticity η (see the module docstring); `trajectory` = states to keep."""
    _check(eps_fn, shape, generator)
    if not eta >= 0:
        raise ValueError(f"DDIM: expected eta >= 0, got {eta!r}")
    taus = ddim_timesteps(schedule.timesteps, steps)
    cumprod = schedule.alphas_cumprod.astype(np.float64)
    x = generator.standard_normal(shape, dtype=np.float32)
    kept = _Trajectory(trajectory, len(taus) + 1)
    kept.add(schedule.timesteps, x)
    for i in _bar(range(len(taus) - 1, -1, -1), len(taus), progress, "DDIM"):
        t = int(taus[i])
        a, a_next = cumprod[t], (cumprod[taus[i - 1]] if i > 0 else 1.0)
        x0 = predict_x0(schedule, x, t, eps_fn(x, t), clip)
        eps = (x - np.float32(np.sqrt(a)) * x0) / np.float32(np.sqrt(1 - a))
        sigma = eta * np.sqrt((1 - a_next) / (1 - a)) * np.sqrt(1 - a / a_next)
        x = np.float32(np.sqrt(a_next)) * x0 + np.float32(np.sqrt(max(1 - a_next - sigma**2, 0.0))) * eps
        if eta > 0 and i > 0:
            x += np.float32(sigma) * generator.standard_normal(shape, dtype=np.float32)
        kept.add(int(taus[i - 1]) + 1 if i > 0 else 0, x)
    return Sampling(x.astype(np.float32, copy=False), kept.kept)

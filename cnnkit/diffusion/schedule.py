"""Noise schedules of denoising diffusion: the β_t of the forward process and every constant derived from them.

Time steps are 0-based, t = 0 … T − 1 (Ho et al.'s code; the paper's t = 1 … T). With α_t = 1 − β_t and
ᾱ_t = Π_{s≤t} α_s (ᾱ_{−1} = 1):

    q(x_t | x_0)          = N(√ᾱ_t·x_0, (1 − ᾱ_t)·I)
    q(x_{t−1} | x_t, x_0) = N(c1_t·x_0 + c2_t·x_t, β̃_t·I),   c1_t = β_t·√ᾱ_{t−1} / (1 − ᾱ_t),
                            c2_t = (1 − ᾱ_{t−1})·√α_t / (1 − ᾱ_t),  β̃_t = β_t·(1 − ᾱ_{t−1}) / (1 − ᾱ_t)

"linear": β from 1e-4 to 0.02 (Ho et al. 2020). "cosine" (Nichol & Dhariwal 2021): ᾱ(t) = f(t)/f(0) with
f(t) = cos²(((t/T + s)/(1 + s))·π/2), s = 0.008, β_t = 1 − ᾱ_t/ᾱ_{t−1} clipped to ≤ 0.999.
Everything is computed in float64 (products of 1000 factors) and stored as float32.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SCHEDULES = ("linear", "cosine")


def linear_betas(timesteps: int = 1000, beta_start: float = 1e-4, beta_end: float = 0.02) -> np.ndarray:
    """β_t evenly spaced from beta_start to beta_end (float64)."""
    return np.linspace(beta_start, beta_end, timesteps, dtype=np.float64)


def cosine_betas(timesteps: int = 1000, s: float = 0.008, max_beta: float = 0.999) -> np.ndarray:
    """β_t = 1 − ᾱ(t+1)/ᾱ(t) for ᾱ(t) = f(t)/f(0), f(t) = cos²(((t/T + s)/(1 + s))·π/2), clipped (float64)."""
    steps = np.arange(timesteps + 1, dtype=np.float64) / timesteps
    f = np.cos((steps + s) / (1 + s) * np.pi / 2) ** 2
    alphas_cumprod = f / f[0]
    return np.minimum(1 - alphas_cumprod[1:] / alphas_cumprod[:-1], max_beta)


@dataclass(frozen=True)
class NoiseSchedule:
    """The constants of one schedule, each a float32 array of length T indexed by the 0-based time step."""

    name: str
    betas: np.ndarray
    alphas: np.ndarray
    alphas_cumprod: np.ndarray  # ᾱ_t
    alphas_cumprod_prev: np.ndarray  # ᾱ_{t−1}, with ᾱ_{−1} = 1
    sqrt_alphas_cumprod: np.ndarray  # √ᾱ_t: the signal's scale in x_t
    sqrt_one_minus_alphas_cumprod: np.ndarray  # √(1 − ᾱ_t): the noise's scale in x_t
    sqrt_recip_alphas_cumprod: np.ndarray  # 1/√ᾱ_t          x̂_0 = x_t/√ᾱ_t − √(1/ᾱ_t − 1)·ε
    sqrt_recipm1_alphas_cumprod: np.ndarray  # √(1/ᾱ_t − 1)
    posterior_variance: np.ndarray  # β̃_t
    posterior_mean_coef1: np.ndarray  # c1_t (multiplies x_0)
    posterior_mean_coef2: np.ndarray  # c2_t (multiplies x_t)

    @property
    def timesteps(self) -> int:
        return len(self.betas)

    def at(self, name: str, t: np.ndarray, ndim: int = 4) -> np.ndarray:
        """The constants `name` at per-sample steps t (N,), shaped (N, 1, …, 1) to broadcast over images."""
        values = getattr(self, name)[np.asarray(t)]
        return values.reshape(values.shape + (1,) * (ndim - 1))


def schedule_from_betas(name: str, betas: np.ndarray) -> NoiseSchedule:
    """Every derived constant of a β schedule, computed in float64 and stored float32."""
    betas = np.asarray(betas, dtype=np.float64)
    if betas.ndim != 1 or len(betas) < 1 or not np.all((betas > 0) & (betas < 1)):
        raise ValueError(f"noise schedule {name!r}: expected a 1-d array of betas in (0, 1), got {betas!r}")
    alphas = 1.0 - betas
    cumprod = np.cumprod(alphas)
    prev = np.append(1.0, cumprod[:-1])
    values = {
        "betas": betas,
        "alphas": alphas,
        "alphas_cumprod": cumprod,
        "alphas_cumprod_prev": prev,
        "sqrt_alphas_cumprod": np.sqrt(cumprod),
        "sqrt_one_minus_alphas_cumprod": np.sqrt(1.0 - cumprod),
        "sqrt_recip_alphas_cumprod": np.sqrt(1.0 / cumprod),
        "sqrt_recipm1_alphas_cumprod": np.sqrt(1.0 / cumprod - 1.0),
        "posterior_variance": betas * (1.0 - prev) / (1.0 - cumprod),
        "posterior_mean_coef1": betas * np.sqrt(prev) / (1.0 - cumprod),
        "posterior_mean_coef2": (1.0 - prev) * np.sqrt(alphas) / (1.0 - cumprod),
    }
    return NoiseSchedule(name, **{key: value.astype(np.float32) for key, value in values.items()})


def make_schedule(name: str = "linear", timesteps: int = 1000) -> NoiseSchedule:
    """The "linear" or "cosine" schedule with T = timesteps."""
    if isinstance(timesteps, bool) or not isinstance(timesteps, int | np.integer) or timesteps < 2:
        raise ValueError(f"noise schedule: expected timesteps to be an int of at least 2, got {timesteps!r}")
    if name == "linear":
        return schedule_from_betas(name, linear_betas(int(timesteps)))
    if name == "cosine":
        return schedule_from_betas(name, cosine_betas(int(timesteps)))
    raise ValueError(f"unknown noise schedule {name!r}; expected one of {', '.join(SCHEDULES)}")

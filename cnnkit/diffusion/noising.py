"""The forward (noising) process: one step q(x_t | x_{t−1}) and the closed form q(x_t | x_0).

    one step:     x_t = √(1 − β_t)·x_{t−1} + √β_t·ε
    closed form:  x_t = √ᾱ_t·x_0 + √(1 − ᾱ_t)·ε,   ε ~ N(0, I)

Both act on NumPy arrays of images (N, C, H, W) with per-sample 0-based steps t of shape (N,); the
closed form is what training uses (any t in one step), the one-step form is what it summarises.
"""

from __future__ import annotations

import numpy as np

from cnnkit.diffusion.schedule import NoiseSchedule


def _steps(schedule: NoiseSchedule, x: np.ndarray, t: np.ndarray | int) -> np.ndarray:
    t = np.broadcast_to(np.asarray(t, dtype=np.int64), (x.shape[0],))
    if t.size and (t.min() < 0 or t.max() >= schedule.timesteps):
        raise ValueError(f"time steps must lie in 0 … {schedule.timesteps - 1}, got {t.min()} … {t.max()}")
    return t


def q_mean_std(schedule: NoiseSchedule, x0: np.ndarray, t: np.ndarray | int) -> tuple[np.ndarray, np.ndarray]:
    """Mean √ᾱ_t·x_0 and standard deviation √(1 − ᾱ_t) (shaped to broadcast) of q(x_t | x_0)."""
    t = _steps(schedule, x0, t)
    return schedule.at("sqrt_alphas_cumprod", t, x0.ndim) * x0, schedule.at("sqrt_one_minus_alphas_cumprod", t, x0.ndim)


def q_sample(schedule: NoiseSchedule, x0: np.ndarray, t: np.ndarray | int, noise: np.ndarray) -> np.ndarray:
    """x_t = √ᾱ_t·x_0 + √(1 − ᾱ_t)·noise, float32."""
    mean, std = q_mean_std(schedule, x0, t)
    return (mean + std * noise).astype(np.float32, copy=False)


def q_step(schedule: NoiseSchedule, x_prev: np.ndarray, t: np.ndarray | int, noise: np.ndarray) -> np.ndarray:
    """One forward step x_t = √(1 − β_t)·x_{t−1} + √β_t·noise, float32."""
    t = _steps(schedule, x_prev, t)
    beta = schedule.at("betas", t, x_prev.ndim)
    return (np.sqrt(1 - beta) * x_prev + np.sqrt(beta) * noise).astype(np.float32, copy=False)

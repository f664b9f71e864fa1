"""`generate`: images from a trained `GaussianDiffusion` — the one call behind `cnnkit generate`, the per-epoch
grids and the quality measures. The same seed and settings give the same images.

Returns images in [0, 1] (the network works in [−1, 1]: x ↦ (x + 1)/2), and the trajectory in [−1, 1]-scale
states as the sampler kept them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cnnkit.diffusion.gaussian import GaussianDiffusion
from cnnkit.diffusion.guidance import epsilon_function
from cnnkit.diffusion.samplers import Sampling, ddim_sample, ddpm_sample

SAMPLERS = ("ddim", "ddpm")


def to_unit(x: np.ndarray) -> np.ndarray:
    """[−1, 1] → [0, 1], clipped, float32."""
    return np.clip((x + 1) / 2, 0.0, 1.0).astype(np.float32)


def generate(
    model: GaussianDiffusion,
    n: int,
    *,
    labels: np.ndarray | None = None,
    guidance: float = 0.0,
    sampler: str = "ddim",
    steps: int = 50,
    eta: float = 0.0,
    seed: int | Sequence[int] = 0,
    use_ema: bool = True,
    trajectory: int = 0,
    progress: bool = False,
    batch_size: int = 250,
    image_shape: tuple[int, int, int] = (1, 28, 28),
) -> Sampling:
    """n samples (N, C, H, W) in [0, 1]: DDIM with `steps` and `eta`, or DDPM over all T steps; with labels (n,)
    class-conditional with guidance weight w = `guidance`, else unconditional. `seed` is anything
    `np.random.default_rng` takes (an int, or a sequence of ints such as (seed, chunk))."""
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"generate: expected a positive number of samples, got {n!r}")
    if sampler not in SAMPLERS:
        raise ValueError(f"generate: unknown sampler {sampler!r}; expected one of {', '.join(SAMPLERS)}")
    if labels is not None and len(labels) != n:
        raise ValueError(f"generate: {len(labels)} labels for {n} samples")
    eps_fn = epsilon_function(model.denoiser(use_ema), labels, guidance, batch_size)
    shape = (int(n), *image_shape)
    rng = np.random.default_rng(seed)
    if sampler == "ddpm":
        result = ddpm_sample(eps_fn, shape, model.schedule, generator=rng, trajectory=trajectory, progress=progress)
    else:
        result = ddim_sample(
            eps_fn, shape, model.schedule, generator=rng, steps=steps, eta=eta, trajectory=trajectory, progress=progress
        )
    return Sampling(to_unit(result.images), result.trajectory)


def balanced_labels(n: int, num_classes: int) -> np.ndarray:
    """0, 1, …, K − 1, 0, 1, … (n labels): every class equally often (± 1)."""
    return np.arange(n, dtype=np.int64) % num_classes

"""The forward process: the closed form q(x_t | x_0) against step-by-step noising, over many draws."""

from __future__ import annotations

import numpy as np
import pytest

from cnnkit.diffusion.noising import q_mean_std, q_sample, q_step
from cnnkit.diffusion.schedule import make_schedule


@pytest.mark.parametrize("name", ["linear", "cosine"])
def test_closed_form_matches_step_by_step_noising_in_mean_and_variance(name: str) -> None:
    schedule = make_schedule(name, 200)
    rng = np.random.default_rng(0)
    x0 = np.array([0.8, -0.5, 0.0, 1.0], np.float32).reshape(1, 4, 1, 1)
    draws = 20_000
    x = np.repeat(x0, draws, axis=0)
    checked = {20, 100, 199}
    for t in range(200):
        x = q_step(schedule, x, t, rng.standard_normal(x.shape, dtype=np.float32))
        if t in checked:
            mean, std = q_mean_std(schedule, x0, t)
            closed = q_sample(
                schedule,
                np.repeat(x0, draws, axis=0),
                np.full(draws, t),
                rng.standard_normal(x.shape, dtype=np.float32),
            )
            stderr = std.ravel()[0] / np.sqrt(draws)
            np.testing.assert_allclose(x.mean(axis=0).ravel(), mean.ravel(), atol=5 * stderr)
            np.testing.assert_allclose(closed.mean(axis=0).ravel(), mean.ravel(), atol=5 * stderr)
            np.testing.assert_allclose(x.var(axis=0).ravel(), np.full(4, std.ravel()[0] ** 2), rtol=0.04)
            np.testing.assert_allclose(closed.var(axis=0).ravel(), np.full(4, std.ravel()[0] ** 2), rtol=0.04)


def test_q_sample_is_the_formula_per_sample_and_checks_steps() -> None:
    schedule = make_schedule("linear", 1000)
    x0 = np.ones((2, 1, 2, 2), np.float32)
    noise = np.full((2, 1, 2, 2), 2.0, np.float32)
    out = q_sample(schedule, x0, np.array([0, 999]), noise)
    for i, t in enumerate([0, 999]):
        ab = schedule.alphas_cumprod[t]
        np.testing.assert_allclose(out[i], np.sqrt(ab) + np.sqrt(1 - ab) * 2, rtol=1e-5)
    assert out.dtype == np.float32
    with pytest.raises(ValueError, match=r"time steps must lie in 0 … 999, got 0 … 1000"):
        q_sample(schedule, x0, np.array([0, 1000]), noise)

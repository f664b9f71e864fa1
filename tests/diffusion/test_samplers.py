"""DDPM and DDIM with fixed ε-functions (plain formulas, no network): DDIM η = 1 over all T steps is the
ancestral sampler, η = 0 is deterministic, and the ideal ε of a one-point data set leads both to that point."""

from __future__ import annotations

import numpy as np
import pytest

from cnnkit.diffusion.samplers import ddim_sample, ddim_timesteps, ddpm_sample
from cnnkit.diffusion.schedule import make_schedule

SCHEDULE = make_schedule("linear", 1000)
SHAPE = (4, 1, 6, 6)


def wobbly_eps(x: np.ndarray, t: int) -> np.ndarray:
    """Some smooth function of x and t, standing in for a network."""
    return (0.3 * np.tanh(x) + 0.05 * np.sin(t / 100.0)).astype(np.float32)


def ideal_eps_for(point: np.ndarray, schedule=SCHEDULE):
    """The exact ε of data that is always `point`: ε = (x_t − √ᾱ_t·x_0)/√(1 − ᾱ_t)."""

    def eps(x: np.ndarray, t: int) -> np.ndarray:
        ab = schedule.alphas_cumprod.astype(np.float64)[t]
        return ((x - np.sqrt(ab) * point) / np.sqrt(1 - ab)).astype(np.float32)

    return eps


@pytest.mark.parametrize("clip", [True, False])
def test_ddim_with_eta_1_over_all_steps_is_the_ancestral_sampler(clip: bool) -> None:
    a = ddpm_sample(wobbly_eps, SHAPE, SCHEDULE, generator=np.random.default_rng(7), clip=clip)
    b = ddim_sample(wobbly_eps, SHAPE, SCHEDULE, generator=np.random.default_rng(7), steps=1000, eta=1.0, clip=clip)
    scale = max(1.0, float(np.abs(a.images).max()))
    np.testing.assert_allclose(b.images / scale, a.images / scale, atol=1e-4)
    other = ddpm_sample(wobbly_eps, SHAPE, SCHEDULE, generator=np.random.default_rng(8), clip=clip)
    assert np.abs(other.images - a.images).max() > 0.1  # other noise draws give other samples


def test_ddim_with_eta_0_is_deterministic_after_the_starting_noise() -> None:
    rng = np.random.default_rng(3)
    first = ddim_sample(wobbly_eps, SHAPE, SCHEDULE, generator=rng, steps=20)
    after_x_t = np.random.default_rng(3)
    after_x_t.standard_normal(SHAPE, dtype=np.float32)
    assert rng.bit_generator.state == after_x_t.bit_generator.state  # x_T was the only draw
    again = ddim_sample(wobbly_eps, SHAPE, SCHEDULE, generator=np.random.default_rng(3), steps=20)
    np.testing.assert_array_equal(first.images, again.images)
    noisy = ddim_sample(wobbly_eps, SHAPE, SCHEDULE, generator=np.random.default_rng(3), steps=20, eta=0.5)
    assert np.abs(noisy.images - first.images).max() > 1e-3


@pytest.mark.parametrize("sampler", ["ddpm", "ddim10", "ddim1000-eta1"])
def test_the_ideal_epsilon_of_a_single_image_leads_back_to_it(sampler: str) -> None:
    point = np.linspace(-0.9, 0.9, 36, dtype=np.float32).reshape(1, 1, 6, 6)
    eps, rng = ideal_eps_for(point), np.random.default_rng(0)
    if sampler == "ddpm":
        result = ddpm_sample(eps, SHAPE, SCHEDULE, generator=rng)
    elif sampler == "ddim10":
        result = ddim_sample(eps, SHAPE, SCHEDULE, generator=rng, steps=10)
    else:
        result = ddim_sample(eps, SHAPE, SCHEDULE, generator=rng, steps=1000, eta=1.0)
    np.testing.assert_allclose(result.images, np.broadcast_to(point, SHAPE), atol=1e-4)


def test_timesteps_and_trajectory_labels() -> None:
    np.testing.assert_array_equal(ddim_timesteps(1000, 5), [0, 250, 500, 749, 999])
    np.testing.assert_array_equal(ddim_timesteps(10, 10), np.arange(10))
    np.testing.assert_array_equal(ddim_timesteps(1000, 1), [999])
    with pytest.raises(ValueError, match="steps between 1 and 1000"):
        ddim_timesteps(1000, 0)
    result = ddim_sample(wobbly_eps, SHAPE, SCHEDULE, generator=np.random.default_rng(0), steps=5, trajectory=6)
    assert [t for t, _ in result.trajectory] == [1000, 750, 501, 251, 1, 0]  # x_T, inputs of τ = 749 … 0, x_0
    np.testing.assert_array_equal(result.trajectory[-1][1], result.images)
    start = np.random.default_rng(0).standard_normal(SHAPE, dtype=np.float32)
    np.testing.assert_array_equal(result.trajectory[0][1], start)
    ancestral = ddpm_sample(
        wobbly_eps, SHAPE, make_schedule("linear", 20), generator=np.random.default_rng(0), trajectory=3
    )
    assert [t for t, _ in ancestral.trajectory] == [20, 10, 0]


def test_samplers_refuse_bad_arguments() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"shape \(N, C, H, W\)"):
        ddim_sample(wobbly_eps, (4, 6, 6), SCHEDULE, generator=rng)
    with pytest.raises(ValueError, match="variance 'small'"):
        ddpm_sample(wobbly_eps, SHAPE, SCHEDULE, generator=rng, variance="medium")
    with pytest.raises(ValueError, match="eta >= 0"):
        ddim_sample(wobbly_eps, SHAPE, SCHEDULE, generator=rng, eta=-1)

"""Noise schedules: the linear and cosine β, the derived constants by their definitions, and bad arguments."""

from __future__ import annotations

import numpy as np
import pytest

from cnnkit.diffusion.schedule import cosine_betas, make_schedule, schedule_from_betas


def test_linear_schedule_constants() -> None:
    s = make_schedule("linear", 1000)
    assert s.timesteps == 1000 and s.betas.dtype == np.float32
    assert s.betas[0] == pytest.approx(1e-4) and s.betas[-1] == pytest.approx(0.02)
    assert s.betas[1] - s.betas[0] == pytest.approx((0.02 - 1e-4) / 999, rel=1e-4)
    cumprod = np.cumprod(1 - np.linspace(1e-4, 0.02, 1000))
    np.testing.assert_allclose(s.alphas_cumprod, cumprod, rtol=1e-6)
    assert s.alphas_cumprod[-1] == pytest.approx(4.04e-5, rel=0.01)  # x_T is noise: √ᾱ_T ≈ 0.0064
    assert s.alphas_cumprod_prev[0] == 1 and s.alphas_cumprod_prev[5] == s.alphas_cumprod[4]
    np.testing.assert_allclose(s.sqrt_alphas_cumprod**2 + s.sqrt_one_minus_alphas_cumprod**2, 1, rtol=1e-6)


def test_posterior_coefficients_by_their_formulas() -> None:
    s = make_schedule("linear", 50)
    b = np.linspace(1e-4, 0.02, 50)  # float64, as the schedule computes before storing float32
    ab = np.cumprod(1 - b)
    prev = np.append(1.0, ab[:-1])
    np.testing.assert_allclose(s.posterior_variance, b * (1 - prev) / (1 - ab), rtol=1e-5)
    np.testing.assert_allclose(s.posterior_mean_coef1, b * np.sqrt(prev) / (1 - ab), rtol=1e-5)
    np.testing.assert_allclose(s.posterior_mean_coef2, (1 - prev) * np.sqrt(1 - b) / (1 - ab), rtol=1e-5)
    assert s.posterior_variance[0] == 0 and s.posterior_mean_coef1[0] == pytest.approx(1)  # step 0 returns x̂_0


def test_cosine_schedule_follows_its_alpha_bar() -> None:
    s = make_schedule("cosine", 1000)
    t = np.arange(1, 1001) / 1000
    f = np.cos((t + 0.008) / 1.008 * np.pi / 2) ** 2 / np.cos(0.008 / 1.008 * np.pi / 2) ** 2
    clipped = cosine_betas(1000) >= 0.999
    assert clipped.sum() == 1 and clipped[-1]  # only the last β is clipped
    np.testing.assert_allclose(s.alphas_cumprod[:-1], f[:-1], rtol=1e-5, atol=1e-9)
    # the cosine schedule destroys information more slowly: half-way it keeps much more signal
    assert s.alphas_cumprod[499] > 2 * make_schedule("linear").alphas_cumprod[499]


def test_bad_schedules_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown noise schedule 'quadratic'"):
        make_schedule("quadratic")
    with pytest.raises(ValueError, match="timesteps to be an int of at least 2"):
        make_schedule("linear", 1)
    with pytest.raises(ValueError, match=r"betas in \(0, 1\)"):
        schedule_from_betas("mine", np.array([0.1, 1.0]))

"""The ε-prediction objective: its draws by hand, label dropout, and a tiny model that learns (slow)."""

from __future__ import annotations

import numpy as np
import pytest

import cnnkit
from cnnkit import optim
from cnnkit.diffusion.gaussian import diffusion_unet
from cnnkit.diffusion.loss import EpsilonLoss, drop_labels, epsilon_residual
from cnnkit.diffusion.noising import q_sample
from tests.training.tiny_data import make_images


def tiny_model(**kwargs):
    cnnkit.manual_seed(0)
    return diffusion_unet(base_channels=8, channel_mults=(1, 2), num_groups=4, **kwargs)


def test_residual_is_the_network_on_x_t_minus_the_drawn_noise() -> None:
    model = tiny_model(num_classes=3, p_uncond=0.5)
    for p in model.net.parameters():
        p._data[...] = np.random.default_rng(1).standard_normal(p.shape).astype(np.float32) * 0.1
    x0 = np.random.default_rng(2).uniform(-1, 1, (6, 1, 8, 8)).astype(np.float32)
    y = np.array([0, 1, 2, 0, 1, 2])
    residual = epsilon_residual(model, x0, y, generator=np.random.default_rng(5))
    rng = np.random.default_rng(5)  # the same draws, in the documented order: t, ε, label dropout
    t = rng.integers(0, 1000, 6)
    noise = rng.standard_normal(x0.shape, dtype=np.float32)
    labels = np.where(rng.random(6) < 0.5, 3, y)
    with cnnkit.no_grad():
        expected = model.net(cnnkit.tensor(q_sample(model.schedule, x0, t, noise)), t, labels)._data - noise
    np.testing.assert_allclose(residual._data, expected, atol=1e-6)
    assert EpsilonLoss()(residual).item() == pytest.approx(float(np.mean(expected.astype(np.float64) ** 2)), rel=1e-5)


def test_labels_are_dropped_with_the_given_probability() -> None:
    dropped = drop_labels(np.zeros(20_000, np.int64), 10, 0.1, np.random.default_rng(0))
    assert set(np.unique(dropped)) == {0, 10}
    assert (dropped == 10).mean() == pytest.approx(0.1, abs=0.006)


@pytest.mark.slow
def test_a_tiny_model_halves_its_loss_between_step_10_and_step_300() -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 2000)
    images = make_images(labels, rng).astype(np.float32)[:, None] / 255 * 2 - 1
    model = tiny_model()
    optimizer = optim.Adam(model.parameters(), lr=2e-3)
    held_out = images[:200], labels[:200]

    def eval_loss() -> float:  # the same t and ε every time, so the two values compare
        with cnnkit.no_grad():
            r = epsilon_residual(model, *held_out, generator=np.random.default_rng(1), use_ema=False)._data
        return float(np.mean(r.astype(np.float64) ** 2))

    from cnnkit.training.tasks.generation import optimizer_step

    losses = {}
    for step in range(1, 301):
        batch = rng.integers(0, 2000, 32)
        loss = EpsilonLoss()(epsilon_residual(model, images[batch], labels[batch]))
        optimizer.zero_grad()
        loss.backward()
        optimizer_step(model, optimizer)
        if step in (10, 300):
            losses[step] = eval_loss()
    assert losses[300] <= 0.5 * losses[10], losses

"""`cnnkit.nn.init`: gains and fans as PyTorch's, in-place fills, statistics of every scheme, default layer init."""

from __future__ import annotations

import math

import numpy as np
import pytest

import cnnkit
import cnnkit.nn as nn
from cnnkit.nn import init
from tests.gradcheck import requires_torch


def _empty(*shape, dtype=np.float32):
    return cnnkit.Tensor(np.full(shape, np.nan, dtype=dtype), dtype=dtype)


@requires_torch
@pytest.mark.parametrize("nonlinearity,param", [
    ("linear", None), ("conv2d", None), ("conv_transpose2d", None), ("sigmoid", None), ("tanh", None),
    ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.2), ("leaky_relu", math.sqrt(5)), ("selu", None),
])
def test_calculate_gain_matches_torch(nonlinearity, param):
    torch = pytest.importorskip("torch")
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(torch.nn.init.calculate_gain(nonlinearity, param))


def test_calculate_gain_errors():
    with pytest.raises(ValueError, match="Unsupported nonlinearity softsign"):
        init.calculate_gain("softsign")
    with pytest.raises(ValueError, match="not a valid number"):
        init.calculate_gain("leaky_relu", True)


@requires_torch
@pytest.mark.parametrize("shape", [(5, 3), (8, 4, 3, 3), (6, 2, 5), (4, 3, 2, 2, 2), (0, 3)])
def test_fan_in_and_fan_out_match_torch(shape):
    torch = pytest.importorskip("torch")
    assert init._calculate_fan_in_and_fan_out(_empty(*shape)) == \
        torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))


def test_fans_need_two_dimensions_and_a_valid_mode():
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init._calculate_fan_in_and_fan_out(_empty(4))
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_uniform_(_empty(3, 3), mode="fan_avg")


@pytest.mark.parametrize("fill", [
    lambda t: init.uniform_(t, -1, 2), lambda t: init.normal_(t, 1, 3), lambda t: init.constant_(t, 0.5),
    init.zeros_, init.ones_, init.xavier_uniform_, init.xavier_normal_, init.kaiming_uniform_, init.kaiming_normal_,
    init.trunc_normal_, init.orthogonal_, init.eye_,
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_scheme_fills_in_place_keeps_dtype_and_returns_the_tensor(fill, dtype):
    p = nn.Parameter(_empty(6, 5, dtype=dtype))
    array = p._data
    assert fill(p) is p
    assert p._data is array and p.dtype == dtype and p.shape == (6, 5)  # same array: views stay valid
    assert np.isfinite(p._data).all()
    assert p.requires_grad and p.grad is None


def test_uniform_and_normal_statistics():
    t = init.uniform_(_empty(400, 500), -1.0, 3.0)
    assert t._data.min() >= -1.0 and t._data.max() < 3.0
    assert t._data.mean() == pytest.approx(1.0, abs=0.01)
    assert t._data.std() == pytest.approx(4 / math.sqrt(12), rel=0.01)
    n = init.normal_(_empty(400, 500), mean=2.0, std=0.5)
    assert n._data.mean() == pytest.approx(2.0, abs=0.005) and n._data.std() == pytest.approx(0.5, rel=0.01)
    assert np.all(init.constant_(_empty(3, 3), 0.25)._data == 0.25)
    assert not init.zeros_(_empty(2, 2))._data.any() and np.all(init.ones_(_empty(2, 2))._data == 1)
    np.testing.assert_array_equal(init.eye_(_empty(2, 3))._data, np.eye(2, 3))


@pytest.mark.parametrize("gain", [1.0, 2.0])
def test_xavier_bounds_and_std(gain):
    shape = (64, 32, 3, 3)  # fan_in 288, fan_out 576
    bound = gain * math.sqrt(6 / (288 + 576))
    u = init.xavier_uniform_(_empty(*shape), gain=gain)._data
    assert np.abs(u).max() <= bound and np.abs(u).max() > 0.99 * bound
    assert u.std() == pytest.approx(bound / math.sqrt(3), rel=0.02)
    n = init.xavier_normal_(_empty(*shape), gain=gain)._data
    assert n.std() == pytest.approx(gain * math.sqrt(2 / (288 + 576)), rel=0.02) and abs(n.mean()) < 0.01 * gain


@pytest.mark.parametrize("a,mode,nonlinearity,fan", [
    (0, "fan_in", "leaky_relu", 288), (0, "fan_out", "relu", 576), (math.sqrt(5), "fan_in", "leaky_relu", 288),
    (0.2, "fan_out", "leaky_relu", 576), (0, "fan_in", "tanh", 288),
])
def test_kaiming_bounds_and_std(a, mode, nonlinearity, fan):
    std = init.calculate_gain(nonlinearity, a) / math.sqrt(fan)
    u = init.kaiming_uniform_(_empty(64, 32, 3, 3), a=a, mode=mode, nonlinearity=nonlinearity)._data
    assert np.abs(u).max() <= math.sqrt(3) * std and np.abs(u).max() > 0.99 * math.sqrt(3) * std
    assert u.std() == pytest.approx(std, rel=0.02)
    n = init.kaiming_normal_(_empty(64, 32, 3, 3), a=a, mode=mode, nonlinearity=nonlinearity)._data
    assert n.std() == pytest.approx(std, rel=0.02)


def test_kaiming_on_an_empty_tensor_warns_and_does_nothing():
    with pytest.warns(UserWarning, match="zero-element"):
        t = init.kaiming_uniform_(_empty(0, 3))
    assert t.shape == (0, 3)


def _truncated_moments(mean, std, a, b):
    """Mean and std of N(mean, std²) truncated to [a, b] (closed form)."""
    alpha, beta = (a - mean) / std, (b - mean) / std
    pdf = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    cdf = lambda z: 0.5 * (1 + math.erf(z / math.sqrt(2)))  # noqa: E731
    z = cdf(beta) - cdf(alpha)
    m = (pdf(alpha) - pdf(beta)) / z
    var = 1 + (alpha * pdf(alpha) - beta * pdf(beta)) / z - m * m
    return mean + std * m, std * math.sqrt(var)


@pytest.mark.parametrize("mean,std,a,b", [(0.0, 1.0, -2.0, 2.0), (0.0, 0.02, -0.04, 0.04), (1.0, 2.0, 0.0, 1.5),
                                          (0.0, 1.0, 3.0, 4.0)])  # the last: far tail, U(a, b) proposals
def test_trunc_normal_range_and_moments(mean, std, a, b):
    t = init.trunc_normal_(_empty(300, 400), mean=mean, std=std, a=a, b=b)._data
    assert t.min() >= a and t.max() <= b
    expected_mean, expected_std = _truncated_moments(mean, std, a, b)
    assert t.mean() == pytest.approx(expected_mean, abs=0.01 * std)
    assert t.std() == pytest.approx(expected_std, rel=0.02)
    with pytest.raises(ValueError, match="expected a < b"):
        init.trunc_normal_(_empty(2, 2), a=1.0, b=0.0)


@pytest.mark.parametrize("shape", [(6, 4), (4, 6), (8, 2, 3, 3)])
def test_orthogonal_rows_or_columns_are_orthonormal(shape):
    t = init.orthogonal_(_empty(*shape), gain=2.0)._data.reshape(shape[0], -1).astype(np.float64)
    rows, cols = t.shape
    gram = t @ t.T if rows <= cols else t.T @ t
    np.testing.assert_allclose(gram, 4.0 * np.eye(min(rows, cols)), atol=1e-5)
    with pytest.raises(ValueError, match="2 or more dimensions"):
        init.orthogonal_(_empty(3))


def test_draws_come_from_the_seeded_global_generator_or_a_given_one():
    cnnkit.manual_seed(7)
    first = init.kaiming_uniform_(_empty(5, 5))._data.copy()
    cnnkit.manual_seed(7)
    np.testing.assert_array_equal(init.kaiming_uniform_(_empty(5, 5))._data, first)
    gen_a, gen_b = np.random.default_rng(3), np.random.default_rng(3)
    np.testing.assert_array_equal(init.normal_(_empty(4, 4), generator=gen_a)._data,
                                  init.normal_(_empty(4, 4), generator=gen_b)._data)
    cnnkit.manual_seed(7)
    layer_a = nn.Conv2d(3, 4, 3)
    cnnkit.manual_seed(7)
    layer_b = nn.Conv2d(3, 4, 3)
    np.testing.assert_array_equal(layer_a.weight._data, layer_b.weight._data)
    np.testing.assert_array_equal(layer_a.bias._data, layer_b.bias._data)


# ----------------------------------------------------------------- default initialisation of the layers
@requires_torch
@pytest.mark.parametrize("build,fan_in", [
    (lambda m: m.Conv2d(64, 128, 3), 576),
    (lambda m: m.Conv2d(64, 128, (3, 5), groups=4), 240),
    (lambda m: m.ConvTranspose2d(96, 128, 3, groups=2), 576),  # fan_in from weight dim 1: out/groups · k²
    (lambda m: m.Linear(300, 1000), 300),
])
def test_default_init_bounds_equal_pytorchs(build, fan_in):
    torch = pytest.importorskip("torch")
    bound = 1 / math.sqrt(fan_in)  # kaiming_uniform_(a=√5): gain √(1/3) · √(3 / fan_in)
    ours, theirs = build(nn), build(torch.nn)
    for name in ("weight", "bias"):
        w, t = getattr(ours, name)._data, getattr(theirs, name).detach().numpy()
        assert w.shape == t.shape and w.dtype == np.float32
        assert np.abs(w).max() <= bound and np.abs(t).max() <= bound
        if name == "weight":  # enough samples to reach the edge and to measure the spread
            assert np.abs(w).max() > 0.99 * bound and np.abs(t).max() > 0.99 * bound
            assert w.std() == pytest.approx(t.std(), rel=0.03)
            assert w.std() == pytest.approx(bound / math.sqrt(3), rel=0.03)
        else:
            assert np.abs(w).max() > 0.8 * bound and np.abs(t).max() > 0.8 * bound


@requires_torch
@pytest.mark.parametrize("build", [lambda m: m.BatchNorm2d(5), lambda m: m.BatchNorm1d(5), lambda m: m.GroupNorm(1, 5),
                                   lambda m: m.LayerNorm(5)])
def test_norm_layers_start_like_pytorchs(build):
    torch = pytest.importorskip("torch")
    ours, theirs = build(nn), build(torch.nn)
    for (name, value), (th_name, th_value) in zip(ours.state_dict().items(), theirs.state_dict().items(), strict=True):
        assert name == th_name
        np.testing.assert_array_equal(value.numpy(), th_value.numpy())
        assert value.dtype == np.dtype(str(th_value.dtype).replace("torch.", ""))


def test_reset_parameters_redraws():
    layer = nn.Linear(20, 30)
    before = layer.weight._data.copy()
    array = layer.weight._data
    layer.reset_parameters()
    assert layer.weight._data is array and not np.array_equal(before, array)

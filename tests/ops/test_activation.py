"""Tests for cnnkit/ops/activation.py (and sigmoid/tanh from elementwise.py): finite differences in float64,
agreement with PyTorch (values and gradients, kinks included), dtype preservation, errors, dropout statistics."""

from __future__ import annotations

import math

import numpy as np
import pytest

import cnnkit
from cnnkit.ops import activation as act
from cnnkit.ops.elementwise import sigmoid, tanh
from tests.gradcheck import check_gradients, compare_with_torch, requires_torch

# (name, cnnkit fn, torch fn name + kwargs, kink points where the derivative is undefined)
ACTIVATIONS = [
    ("relu", act.relu, ("relu", {}), [0.0]),
    ("relu6", act.relu6, ("relu6", {}), [0.0, 6.0]),
    ("leaky_relu", act.leaky_relu, ("leaky_relu", {}), [0.0]),
    ("leaky_relu_0.2", lambda x: act.leaky_relu(x, 0.2), ("leaky_relu", {"negative_slope": 0.2}), [0.0]),
    ("elu", act.elu, ("elu", {}), [0.0]),
    ("elu_2", lambda x: act.elu(x, alpha=2.0), ("elu", {"alpha": 2.0}), [0.0]),
    ("gelu", act.gelu, ("gelu", {}), []),
    ("gelu_tanh", lambda x: act.gelu(x, approximate="tanh"), ("gelu", {"approximate": "tanh"}), []),
    ("silu", act.silu, ("silu", {}), []),
    ("hardtanh", act.hardtanh, ("hardtanh", {}), [-1.0, 1.0]),
    ("hardtanh_wide", lambda x: act.hardtanh(x, -2.0, 0.5), ("hardtanh", {"min_val": -2.0, "max_val": 0.5}),
     [-2.0, 0.5]),
    ("softplus", act.softplus, ("softplus", {}), []),
    ("softplus_beta", lambda x: act.softplus(x, beta=2.0, threshold=5.0), ("softplus", {"beta": 2.0, "threshold": 5.0}),
     [2.5]),
    ("sigmoid", sigmoid, ("sigmoid", {}), []),
    ("tanh", tanh, ("tanh", {}), []),
]
IDS = [a[0] for a in ACTIVATIONS]
SHAPES = [(7,), (4, 5, 3), (2, 3, 4, 4)]


def _torch_fn(spec):
    import torch

    name, kwargs = spec
    fn = getattr(torch, name) if name in ("sigmoid", "tanh") else getattr(torch.nn.functional, name)
    return lambda x: fn(x, **kwargs)


def _away_from(values: np.ndarray, kinks: list[float], gap: float = 1e-2) -> np.ndarray:
    """Shift values that fall within `gap` of a kink, so that finite differences never straddle one."""
    for k in kinks:
        near = np.abs(values - k) < gap
        values = np.where(near, k + 2 * gap, values)
    return values


# ----------------------------------------------------------------------------------------- erf
def test_erf_matches_math_erf_to_double_precision():
    x = np.concatenate([np.linspace(-9, 9, 20001), [0.0, -0.0, 1.0, -1.0, 1e-300, 8.0, 40.0, -np.inf, np.inf]])
    expected = np.array([math.erf(v) for v in x])
    np.testing.assert_allclose(act.erf(x), expected, rtol=1e-15, atol=1e-15)


def test_erf_float32_stays_float32_and_is_accurate():
    x = np.linspace(-6, 6, 5001, dtype=np.float32)
    out = act.erf(x)
    assert out.dtype == np.float32
    expected = np.array([math.erf(float(v)) for v in x])
    assert np.max(np.abs(out - expected)) < 2.5e-7


def test_erf_of_nan_is_nan():
    assert np.isnan(act.erf(np.array([np.nan]))[0])


# ----------------------------------------------------------------------------------------- activations
@requires_torch
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(("name", "fn", "spec", "kinks"), ACTIVATIONS, ids=IDS)
def test_activation_matches_torch(name, fn, spec, kinks, shape):
    x = (np.random.default_rng(len(shape)).standard_normal(shape) * 4).astype(np.float32)
    x.flat[: len(kinks)] = kinks  # exact kinks: the gradient convention there must match PyTorch's
    compare_with_torch(fn, _torch_fn(spec), x)


@pytest.mark.parametrize(("name", "fn", "spec", "kinks"), ACTIVATIONS, ids=IDS)
def test_activation_finite_differences(name, fn, spec, kinks):
    x = np.random.default_rng(3).standard_normal((3, 4, 5)) * 3
    check_gradients(fn, _away_from(x, kinks))


@requires_torch
@pytest.mark.parametrize(("name", "fn", "spec", "kinks"), ACTIVATIONS, ids=IDS)
def test_activation_extreme_inputs_stay_finite(name, fn, spec, kinks):
    x = np.array([-1e4, -100.0, -30.0, -1e-6, 1e-6, 30.0, 100.0, 1e4], dtype=np.float32)
    # no overflow, not even in a branch that np.where throws away
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out = fn(cnnkit.tensor(x))
    assert np.all(np.isfinite(out._data))
    compare_with_torch(fn, _torch_fn(spec), x)


@pytest.mark.parametrize(("name", "fn", "spec", "kinks"), ACTIVATIONS, ids=IDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_activation_keeps_dtype_in_forward_and_backward(name, fn, spec, kinks, dtype):
    x = cnnkit.tensor(np.linspace(-5, 5, 12).reshape(3, 4), dtype=dtype, requires_grad=True)
    out = fn(x)
    assert out.dtype == dtype
    (grad,) = out.grad_fn.backward(np.ones(out.shape, dtype=dtype))
    assert grad.dtype == dtype and grad.shape == x.shape


def test_gradients_at_kinks_follow_pytorch():
    def grad(fn, value):
        x = cnnkit.tensor([value], requires_grad=True)
        fn(x).sum().backward()
        return float(x.grad._data[0])

    assert grad(act.relu, 0.0) == 0.0
    assert grad(lambda x: act.leaky_relu(x, 0.3), 0.0) == pytest.approx(0.3)
    assert grad(lambda x: act.elu(x, alpha=2.0), 0.0) == 2.0
    assert grad(act.relu6, 0.0) == 0.0 and grad(act.relu6, 6.0) == 0.0 and grad(act.relu6, 3.0) == 1.0
    assert grad(act.hardtanh, -1.0) == 0.0 and grad(act.hardtanh, 1.0) == 0.0 and grad(act.hardtanh, 0.5) == 1.0
    assert grad(act.gelu, 0.0) == 0.5 and grad(act.silu, 0.0) == 0.5


def test_known_values():
    x = cnnkit.tensor([-2.0, 0.0, 1.0, 7.0])
    np.testing.assert_array_equal(act.relu(x)._data, [0, 0, 1, 7])
    np.testing.assert_array_equal(act.relu6(x)._data, [0, 0, 1, 6])
    np.testing.assert_allclose(act.leaky_relu(x)._data, [-0.02, 0, 1, 7], rtol=1e-6)
    np.testing.assert_allclose(act.elu(x)._data, [math.expm1(-2), 0, 1, 7], rtol=1e-6)
    np.testing.assert_allclose(act.gelu(x)._data, [-2 * 0.5 * math.erfc(2 / math.sqrt(2)), 0,
                                                  0.5 * (1 + math.erf(1 / math.sqrt(2))),
                                                  7 * 0.5 * (1 + math.erf(7 / math.sqrt(2)))], rtol=1e-6)
    np.testing.assert_allclose(act.softplus(cnnkit.tensor([0.0, 25.0]))._data, [math.log(2), 25.0], rtol=1e-6)


@pytest.mark.parametrize("slope", [0.01, 0.2, 1.7, -0.3])
def test_leaky_relu_is_exact_on_both_sides(slope):
    x = np.random.default_rng(0).standard_normal(10_000).astype(np.float32) * 5
    out = act.leaky_relu(cnnkit.tensor(x), slope)._data
    np.testing.assert_array_equal(out[x > 0], x[x > 0])
    np.testing.assert_array_equal(out[x <= 0], x[x <= 0] * np.float32(slope))


def test_elu_gradient_keeps_relative_precision_in_the_far_tail():
    x = cnnkit.tensor([-20.0, -40.0], requires_grad=True)  # alpha·eˣ ≈ 2e−9 and 4e−18: no cancellation to 0
    act.elu(x, alpha=1.5).sum().backward()
    np.testing.assert_allclose(x.grad._data, 1.5 * np.exp([-20.0, -40.0]), rtol=1e-6)


def test_gelu_rejects_unknown_approximation():
    with pytest.raises(ValueError, match="gelu: approximate must be 'none' or 'tanh', got 'erf'"):
        act.gelu(cnnkit.tensor([1.0]), approximate="erf")


def test_hardtanh_rejects_min_above_max():
    with pytest.raises(ValueError, match=r"hardtanh: min_val \(1.0\) cannot be greater than max_val \(-1.0\)"):
        act.hardtanh(cnnkit.tensor([1.0]), 1.0, -1.0)


# ----------------------------------------------------------------------------------------- softmax
SOFTMAX_CASES = [((5,), 0), ((3, 4), 1), ((3, 4), 0), ((2, 3, 4), -1), ((2, 3, 4), 1), ((2, 3, 2, 2), 1), ((1, 6), -1)]


@requires_torch
@pytest.mark.parametrize(("shape", "dim"), SOFTMAX_CASES)
@pytest.mark.parametrize("log", [False, True], ids=["softmax", "log_softmax"])
def test_softmax_matches_torch(shape, dim, log):
    import torch

    x = (np.random.default_rng(sum(shape)).standard_normal(shape) * 3).astype(np.float32)
    ck, th = (act.log_softmax, torch.log_softmax) if log else (act.softmax, torch.softmax)
    compare_with_torch(lambda a: ck(a, dim), lambda a: th(a, dim), x, atol=1e-6)


@pytest.mark.parametrize(("shape", "dim"), SOFTMAX_CASES)
@pytest.mark.parametrize("log", [False, True], ids=["softmax", "log_softmax"])
def test_softmax_finite_differences(shape, dim, log):
    fn = act.log_softmax if log else act.softmax
    check_gradients(lambda a: fn(a, dim), np.random.default_rng(7).standard_normal(shape))


def test_softmax_sums_to_one_and_is_stable_for_huge_logits():
    x = cnnkit.tensor([[1000.0, 1000.0, -1000.0], [0.0, 1.0, 2.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        p = act.softmax(x, 1)
        logp = act.log_softmax(x, 1)
    np.testing.assert_allclose(p._data.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(p._data[0], [0.5, 0.5, 0.0])
    np.testing.assert_allclose(logp._data[0], [-math.log(2), -math.log(2), -2000.0 - math.log(2)], rtol=1e-6)
    assert p.dtype == np.float32 and logp.dtype == np.float32


def test_softmax_of_0d_tensor():
    x = cnnkit.tensor(3.0, requires_grad=True)
    assert act.softmax(x, 0).item() == 1.0
    out = act.log_softmax(x, -1)
    assert out.item() == 0.0
    out.backward()
    assert x.grad.item() == 0.0


def test_softmax_dim_errors():
    x = cnnkit.tensor(np.zeros((2, 3)))
    with pytest.raises(IndexError, match=r"softmax: dim 2 is out of range for an input of shape \(2, 3\)"):
        act.softmax(x, 2)
    with pytest.raises(IndexError, match=r"log_softmax: dim -3 is out of range"):
        act.log_softmax(x, -3)
    with pytest.raises(TypeError, match="softmax: dim must be an int, got None"):
        act.softmax(x, None)
    with pytest.raises(TypeError):
        act.softmax(x)  # dim is required, unlike PyTorch's deprecated implicit choice


# ----------------------------------------------------------------------------------------- dropout
@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_kept_fraction_and_exact_scale(p):
    cnnkit.manual_seed(0)
    x = cnnkit.ones((1000, 1000))
    out = act.dropout(x, p)
    kept = out._data != 0
    assert abs(kept.mean() - (1 - p)) < 0.003  # σ = √(p(1−p)/10⁶) ≤ 5e-4
    np.testing.assert_array_equal(out._data[kept], np.float32(1.0 / (1.0 - p)))
    assert out.dtype == np.float32


def test_dropout_gradient_is_mask_times_scale():
    cnnkit.manual_seed(1)
    x = cnnkit.tensor(np.random.default_rng(0).uniform(1, 2, (50, 40)), requires_grad=True)
    out = act.dropout(x, 0.3)
    g = np.random.default_rng(1).standard_normal(out.shape).astype(np.float32)
    out.backward(g)
    mask = out._data / x._data  # 0 or 1/(1−p)
    kept = mask != 0
    assert 0.6 < kept.mean() < 0.8
    np.testing.assert_allclose(mask[kept], 1 / 0.7, rtol=1e-6)
    np.testing.assert_allclose(x.grad._data, g * mask, rtol=1e-6)


def test_dropout_finite_differences_with_a_fixed_mask():
    def fn(a):
        cnnkit.manual_seed(5)  # the same mask on every call
        return act.dropout(a, 0.4)

    check_gradients(fn, np.random.default_rng(0).standard_normal((4, 6)))


def test_dropout_eval_and_p0_are_identity_and_p1_is_zero():
    x = cnnkit.tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
    assert act.dropout(x, 0.5, training=False) is x
    assert act.dropout(x, 0.0) is x
    assert act.dropout2d(x.reshape(1, 3, 2, 2), 0.7, training=False).shape == (1, 3, 2, 2)
    out = act.dropout(x, 1.0)
    np.testing.assert_array_equal(out._data, 0)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad._data, 0)


def test_dropout_same_seed_same_mask():
    x = cnnkit.ones((64, 64))
    cnnkit.manual_seed(42)
    a = act.dropout(x, 0.5)._data
    b = act.dropout(x, 0.5)._data
    cnnkit.manual_seed(42)
    c = act.dropout(x, 0.5)._data
    np.testing.assert_array_equal(a, c)
    assert not np.array_equal(a, b)


def test_dropout_keeps_float64():
    x = cnnkit.tensor(np.ones((3, 3)), dtype=np.float64, requires_grad=True)
    out = act.dropout(x, 0.5)
    assert out.dtype == np.float64
    (grad,) = out.grad_fn.backward(np.ones((3, 3)))
    assert grad.dtype == np.float64


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_dropout_rejects_p_outside_unit_interval(p):
    with pytest.raises(ValueError, match=f"dropout: dropout probability has to be between 0 and 1, but got {p}"):
        act.dropout(cnnkit.ones((2,)), p)
    with pytest.raises(ValueError, match="dropout2d: dropout probability has to be between 0 and 1"):
        act.dropout2d(cnnkit.ones((1, 2, 2, 2)), p)


@pytest.mark.parametrize("shape", [(40, 50, 3, 4), (500, 2, 3)])
def test_dropout2d_zeros_whole_channels(shape):
    cnnkit.manual_seed(3)
    x = cnnkit.tensor(np.random.default_rng(0).uniform(1, 2, shape), requires_grad=True)
    p = 0.3
    out = act.dropout2d(x, p)
    per_channel = (out._data != 0).reshape(shape[:-2] + (-1,))
    all_or_nothing = per_channel.all(axis=-1) | ~per_channel.any(axis=-1)
    assert all_or_nothing.all()
    assert abs(per_channel.all(axis=-1).mean() - (1 - p)) < 0.03  # 2,000 channels: σ ≈ 0.01
    kept = out._data != 0
    np.testing.assert_allclose(out._data[kept], x._data[kept] / (1 - p), rtol=1e-6)
    out.sum().backward()
    np.testing.assert_allclose(x.grad._data, np.where(kept, np.float32(1 / (1 - p)), 0), rtol=1e-6)


def test_dropout2d_rejects_wrong_rank():
    with pytest.raises(ValueError, match=r"dropout2d: expected input of shape \(N, C, H, W\) or \(C, H, W\), "
                                         r"got \(4, 5\)"):
        act.dropout2d(cnnkit.ones((4, 5)))

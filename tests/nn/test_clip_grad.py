"""Gradient clipping (cnnkit.nn.utils): clip_grad_norm_ and clip_grad_value_ against PyTorch and by hand,
norms already small left bit-for-bit untouched, dtypes, non-finite norms and argument errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

import cnnkit
from cnnkit.nn.utils import clip_grad_norm_, clip_grad_value_, clip_grads_with_norm_, get_total_norm
from tests.gradcheck import requires_torch

SHAPES = [(3, 4), (7,), (2, 3, 2), ()]


def _params(grads, module=cnnkit, dtype=np.float32):
    params = []
    for g in grads:
        if module is cnnkit:
            p = cnnkit.tensor(np.zeros(np.shape(g)), requires_grad=True, dtype=dtype)
            p.grad = None if g is None else cnnkit.tensor(g, dtype=dtype)
        else:
            p = module.zeros(np.shape(g), requires_grad=True)
            p.grad = None if g is None else module.tensor(g)
        params.append(p)
    return params


def _grads(seed: int, scale: float = 1.0):
    rng = np.random.default_rng(seed)
    return [(scale * rng.standard_normal(s)).astype(np.float32) for s in SHAPES]


@requires_torch
@pytest.mark.parametrize("norm_type", [2.0, "inf", math.inf, 1.0, 3.0, 0.5])
@pytest.mark.parametrize("max_norm", [0.1, 1.0, 2.5, 1e3])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    import torch

    grads = _grads(seed=int(max_norm * 10) % 97, scale=0.7)
    grads.insert(2, None)  # a parameter without a gradient is ignored
    ck, th = _params(grads), _params(grads, torch)
    ck_total = clip_grad_norm_(ck, max_norm, norm_type=norm_type)
    th_total = torch.nn.utils.clip_grad_norm_(th, max_norm, norm_type=norm_type)
    assert isinstance(ck_total, cnnkit.Tensor) and ck_total.shape == () and ck_total.dtype == np.float32
    np.testing.assert_allclose(ck_total._data, th_total.numpy(), rtol=1e-5)
    for p, q in zip(ck, th, strict=True):
        if q.grad is None:
            assert p.grad is None
            continue
        assert p.grad.dtype == np.float32
        np.testing.assert_allclose(p.grad._data, q.grad.numpy(), rtol=1e-5, atol=1e-7)


@requires_torch
@pytest.mark.parametrize("norm_type", [2.0, math.inf, 1.0])
def test_total_norm_then_clip_with_it_matches_torch(norm_type):
    import torch

    grads = _grads(seed=9, scale=2.0)
    ck, th = _params(grads), _params(grads, torch)
    ck_total = get_total_norm([p.grad for p in ck], norm_type)
    th_total = torch.nn.utils.get_total_norm([q.grad for q in th], norm_type)
    np.testing.assert_allclose(ck_total._data, th_total.numpy(), rtol=1e-5)
    clip_grads_with_norm_(ck, 1.5, ck_total)
    torch.nn.utils.clip_grads_with_norm_(th, 1.5, th_total)
    for p, q in zip(ck, th, strict=True):
        np.testing.assert_allclose(p.grad._data, q.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_clip_grad_norm_by_hand():
    # gradients (3, 4) and (12,): total 2-norm = √(9 + 16 + 144) = 13; inf-norm = 12
    a, b = _params([np.array([3.0, 4.0]), np.array([12.0])])
    total = clip_grad_norm_([a, b], max_norm=6.5)
    assert float(total) == pytest.approx(13.0)
    coef = 6.5 / (13.0 + 1e-6)
    np.testing.assert_allclose(a.grad._data, [3.0 * coef, 4.0 * coef], rtol=1e-6)
    np.testing.assert_allclose(b.grad._data, [12.0 * coef], rtol=1e-6)
    assert np.sqrt(np.sum(a.grad._data**2) + np.sum(b.grad._data**2)) == pytest.approx(6.5, rel=1e-6)

    c, d = _params([np.array([3.0, -4.0]), np.array([-12.0])])
    total = clip_grad_norm_([c, d], max_norm=3.0, norm_type="inf")
    assert float(total) == 12.0
    np.testing.assert_allclose(d.grad._data, [-3.0], rtol=1e-6)


@pytest.mark.parametrize("norm_type", [2.0, math.inf, 1.0])
def test_already_small_norms_are_left_untouched(norm_type):
    grads = _grads(seed=1, scale=0.01)
    params = _params(grads)
    arrays = [p.grad._data for p in params]
    total = clip_grad_norm_(params, max_norm=100.0, norm_type=norm_type)
    assert float(total) < 100.0
    for p, g, array in zip(params, grads, arrays, strict=True):
        assert p.grad._data is array  # clipped in place, never replaced
        np.testing.assert_array_equal(p.grad._data, g)


def test_clipping_is_in_place_and_keeps_float32():
    params = _params(_grads(seed=2, scale=10.0))
    arrays = [p.grad._data for p in params]
    clip_grad_norm_(params, max_norm=1.0)
    for p, array in zip(params, arrays, strict=True):
        assert p.grad._data is array and array.dtype == np.float32
    assert float(get_total_norm([p.grad for p in params])) == pytest.approx(1.0, rel=1e-5)


def test_float64_gradients_give_a_float64_norm():
    params = _params([np.array([3.0, 4.0])], dtype=np.float64)
    total = clip_grad_norm_(params, max_norm=1.0)
    assert total.dtype == np.float64 and params[0].grad.dtype == np.float64
    np.testing.assert_allclose(params[0].grad._data, [0.6, 0.8], rtol=1e-6)


def test_single_tensor_and_no_gradients():
    p = _params([np.array([6.0, 8.0])])[0]
    assert float(clip_grad_norm_(p, 5.0)) == pytest.approx(10.0)
    np.testing.assert_allclose(p.grad._data, [3.0, 4.0], rtol=1e-6)
    empty = clip_grad_norm_(_params([None, None]), 1.0)
    assert float(empty) == 0.0 and empty.dtype == np.float32
    assert float(clip_grad_norm_([], 1.0)) == 0.0


@requires_torch
def test_non_finite_norm_behaves_as_torch():
    import torch

    grads = [np.array([1.0, np.inf], dtype=np.float32), np.array([2.0], dtype=np.float32)]
    ck, th = _params(grads), _params(grads, torch)
    ck_total = clip_grad_norm_(ck, 1.0)
    th_total = torch.nn.utils.clip_grad_norm_(th, 1.0)
    assert math.isinf(float(ck_total)) and math.isinf(float(th_total))
    for p, q in zip(ck, th, strict=True):
        np.testing.assert_array_equal(p.grad._data, q.grad.numpy())  # nan where the gradient was inf, else 0


@pytest.mark.parametrize("bad", [np.inf, np.nan])
def test_error_if_nonfinite(bad):
    params = _params([np.array([1.0, bad]), np.array([2.0])])
    with pytest.raises(RuntimeError, match="clip_grad_norm_: the total norm of order 2.0 of the gradients is "
                                           "non-finite"):
        clip_grad_norm_(params, 1.0, error_if_nonfinite=True)
    np.testing.assert_array_equal(params[1].grad._data, [2.0])  # nothing was clipped


@requires_torch
@pytest.mark.parametrize("clip_value", [0.1, 0.5, 3.0])
def test_clip_grad_value_matches_torch(clip_value):
    import torch

    grads = _grads(seed=4)
    grads.append(None)
    ck, th = _params(grads), _params(grads, torch)
    assert clip_grad_value_(ck, clip_value) is None
    torch.nn.utils.clip_grad_value_(th, clip_value)
    for p, q in zip(ck[:-1], th[:-1], strict=True):
        np.testing.assert_array_equal(p.grad._data, q.grad.numpy())
    assert ck[-1].grad is None


def test_clip_grad_value_by_hand():
    p = _params([np.array([-2.0, -0.5, 0.0, 0.25, 7.0])])[0]
    array = p.grad._data
    clip_grad_value_(p, 0.5)
    assert p.grad._data is array and array.dtype == np.float32
    np.testing.assert_array_equal(array, [-0.5, -0.5, 0.0, 0.25, 0.5])


def test_bad_arguments_raise():
    params = _params([np.array([1.0])])
    with pytest.raises(ValueError, match="clip_grad_norm_: norm_type must be a number or 'inf', got 'fro'"):
        clip_grad_norm_(params, 1.0, norm_type="fro")
    with pytest.raises(ValueError, match="clip_grad_norm_: max_norm is NaN"):
        clip_grad_norm_(params, float("nan"))
    with pytest.raises(TypeError, match="clip_grad_norm_: expected Tensors, got ndarray"):
        clip_grad_norm_([np.ones(3)], 1.0)
    with pytest.raises(TypeError, match="clip_grad_value_: expected Tensors, got list"):
        clip_grad_value_([[1.0]], 1.0)

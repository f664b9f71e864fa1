"""Tests for cnnkit.ops.norm: batch, group, layer and local response norm.

Float64 finite differences check every backward (input, weight and bias; training and eval); PyTorch checks the
forward, the gradients and the running statistics in float32; bad input must raise a clear error.
"""

from __future__ import annotations

import numpy as np
import pytest

import cnnkit
from cnnkit.ops.norm import batch_norm, group_norm, layer_norm, local_response_norm
from tests.gradcheck import check_gradients, compare_with_torch, requires_torch

BN_SHAPES = [(5, 3), (4, 3, 5), (3, 2, 3, 4)]


def _t(array, requires_grad=False, dtype=np.float32):
    return cnnkit.tensor(np.asarray(array), dtype=dtype, requires_grad=requires_grad)


def _stats(rng, c, dtype=np.float64):
    mean = rng.standard_normal(c).astype(dtype)
    var = (rng.random(c) + 0.5).astype(dtype)
    return mean, var


# --------------------------------------------------------------------------------------------- finite differences
@pytest.mark.parametrize("shape", BN_SHAPES)
def test_batch_norm_training_gradients(shape, rng):
    c = shape[1]
    x = rng.standard_normal(shape) * 2 + 1
    w, b = rng.standard_normal(c), rng.standard_normal(c)
    check_gradients(lambda x, w, b: batch_norm(x, None, None, w, b, training=True), x, w, b)


@pytest.mark.parametrize("shape", BN_SHAPES)
def test_batch_norm_training_gradients_without_affine(shape, rng):
    x = rng.standard_normal(shape)
    check_gradients(lambda x: batch_norm(x, None, None, training=True, eps=1e-3), x)


@pytest.mark.parametrize("shape", BN_SHAPES)
def test_batch_norm_eval_gradients(shape, rng):
    c = shape[1]
    x = rng.standard_normal(shape)
    w, b = rng.standard_normal(c), rng.standard_normal(c)
    mean, var = _stats(rng, c)
    rm, rv = _t(mean, dtype=np.float64), _t(var, dtype=np.float64)
    check_gradients(lambda x, w, b: batch_norm(x, rm, rv, w, b, training=False), x, w, b)
    check_gradients(lambda x: batch_norm(x, rm, rv, training=False), x)


@pytest.mark.parametrize("affine", ["weight", "bias"])
def test_batch_norm_gradients_with_one_affine_parameter(affine, rng):
    x, p = rng.standard_normal((4, 3, 2)), rng.standard_normal(3)
    kwargs = lambda p: {affine: p}  # noqa: E731
    check_gradients(lambda x, p: batch_norm(x, None, None, training=True, **kwargs(p)), x, p)
    mean, var = _stats(rng, 3)
    rm, rv = _t(mean, dtype=np.float64), _t(var, dtype=np.float64)
    check_gradients(lambda x, p: batch_norm(x, rm, rv, training=False, **kwargs(p)), x, p)


def test_batch_norm_parameter_gradients_without_input_gradient(rng):
    x = _t(rng.standard_normal((6, 3, 4)))
    w, b = _t(rng.standard_normal(3), requires_grad=True), _t(rng.standard_normal(3), requires_grad=True)
    for training in (True, False):
        w.grad = b.grad = None
        y = batch_norm(x, _t(np.zeros(3)), _t(np.ones(3)), w, b, training=training)
        y.sum().backward()
        assert x.grad is None
        np.testing.assert_allclose(b.grad._data, np.full(3, 24.0))  # dβ = Σ dy
        if training:  # Σ x̂ over a channel is 0 by construction
            np.testing.assert_allclose(w.grad._data, np.zeros(3), atol=1e-4)


def test_batch_norm_bias_gradient_alone(rng):
    x, w = _t(rng.standard_normal((4, 3, 5))), _t(rng.standard_normal(3))
    b = _t(rng.standard_normal(3), requires_grad=True)
    g = rng.standard_normal((4, 3, 5)).astype(np.float32)
    batch_norm(x, None, None, w, b, training=True).backward(g)
    assert w.grad is None
    np.testing.assert_allclose(b.grad._data, g.sum(axis=(0, 2)), rtol=1e-5)


def test_batch_norm_eval_backward_uses_the_statistics_of_its_forward(rng):
    x = _t(rng.standard_normal((4, 2, 3)))
    w = _t(np.ones(2), requires_grad=True)
    rm, rv = _t(np.zeros(2)), _t(np.ones(2))
    y = batch_norm(x, rm, rv, w, training=False)
    batch_norm(_t(rng.standard_normal((4, 2, 3)) + 5), rm, rv, training=True, momentum=1.0)  # moves rm in place
    y.sum().backward()
    expected = x._data.sum(axis=(0, 2)) / np.sqrt(1 + 1e-5)  # Σ dy·x̂ with the forward's μ = 0, σ² = 1
    np.testing.assert_allclose(w.grad._data, expected, rtol=1e-5)


@pytest.mark.parametrize("shape, groups", [((2, 6, 3, 2), 1), ((2, 6, 3, 2), 2), ((2, 6, 3, 2), 3),
                                           ((2, 6, 3, 2), 6), ((3, 4), 2), ((2, 4, 5), 4), ((2, 4, 5), 1)])
def test_group_norm_gradients(shape, groups, rng):
    c = shape[1]
    x = rng.standard_normal(shape) * 3 - 1
    w, b = rng.standard_normal(c), rng.standard_normal(c)
    check_gradients(lambda x, w, b: group_norm(x, groups, w, b), x, w, b)
    check_gradients(lambda x: group_norm(x, groups, eps=1e-3), x)


@pytest.mark.parametrize("shape, normalized", [((4, 5), (5,)), ((2, 3, 4), 4), ((2, 3, 2, 4), (3, 2, 4)),
                                               ((3, 2, 2, 3), [2, 3])])
def test_layer_norm_gradients(shape, normalized, rng):
    pshape = (normalized,) if isinstance(normalized, int) else tuple(normalized)
    x = rng.standard_normal(shape) + 2
    w, b = rng.standard_normal(pshape), rng.standard_normal(pshape)
    check_gradients(lambda x, w, b: layer_norm(x, normalized, w, b), x, w, b)
    check_gradients(lambda x: layer_norm(x, normalized), x)


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("shape", [(2, 5, 3), (2, 4, 2, 3)])
def test_local_response_norm_gradients(size, shape, rng):
    x = rng.standard_normal(shape) * 2
    # a large alpha makes the denominator's dependence on the neighbours matter in the check
    check_gradients(lambda x: local_response_norm(x, size, alpha=0.8, beta=0.75, k=1.5), x)
    check_gradients(lambda x: local_response_norm(x, size, alpha=0.3, beta=1.3, k=0.7), x)


# --------------------------------------------------------------------------------------------- values without torch
def test_batch_norm_training_matches_the_definition(rng):
    x = rng.standard_normal((7, 3, 4, 5)).astype(np.float32)
    y = batch_norm(_t(x), None, None, training=True)._data
    mean = x.astype(np.float64).mean(axis=(0, 2, 3), keepdims=True)
    var = x.astype(np.float64).var(axis=(0, 2, 3), keepdims=True)
    np.testing.assert_allclose(y, (x - mean) / np.sqrt(var + 1e-5), rtol=1e-5, atol=1e-5)
    assert y.dtype == np.float32


def test_batch_norm_statistics_are_accurate_for_large_offsets(rng):
    # x = 10⁴ + noise in float32: E[x²] − E[x]² would lose every digit of the variance; two passes keep them
    x = (1e4 + rng.standard_normal((64, 2, 8, 8))).astype(np.float32)
    rm, rv = _t(np.zeros(2)), _t(np.ones(2))
    batch_norm(_t(x), rm, rv, training=True, momentum=1.0)
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(rm._data, x64.mean(axis=(0, 2, 3)), rtol=1e-6)
    np.testing.assert_allclose(rv._data, x64.var(axis=(0, 2, 3), ddof=1), rtol=1e-3)
    y = group_norm(_t(x.reshape(64, 2, 64)), 1)._data
    ref = x64.reshape(64, -1)
    ref = (ref - ref.mean(1, keepdims=True)) / np.sqrt(ref.var(1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(y.reshape(64, -1), ref, atol=2e-3)


def test_batch_norm_running_statistics_update(rng):
    x = rng.standard_normal((6, 3, 5)).astype(np.float32)
    mean0, var0 = _stats(rng, 3, np.float32)
    rm, rv = _t(mean0), _t(var0)
    rm_data = rm._data
    batch_norm(_t(x), rm, rv, training=True, momentum=0.25)
    x64 = x.astype(np.float64)
    assert rm._data is rm_data  # updated in place
    np.testing.assert_allclose(rm._data, 0.75 * mean0 + 0.25 * x64.mean(axis=(0, 2)), rtol=1e-6)
    np.testing.assert_allclose(rv._data, 0.75 * var0 + 0.25 * x64.var(axis=(0, 2), ddof=1), rtol=1e-5)
    assert rm.dtype == rv.dtype == np.float32
    before = rm._data.copy(), rv._data.copy()
    batch_norm(_t(x), rm, rv, training=False)  # eval leaves them alone
    np.testing.assert_array_equal(rm._data, before[0])
    np.testing.assert_array_equal(rv._data, before[1])


def test_batch_norm_eval_uses_running_statistics(rng):
    x = rng.standard_normal((3, 4, 2)).astype(np.float32)
    mean, var = _stats(rng, 4, np.float32)
    w, b = rng.standard_normal(4).astype(np.float32), rng.standard_normal(4).astype(np.float32)
    y = batch_norm(_t(x), _t(mean), _t(var), _t(w), _t(b))._data
    expected = (x - mean[:, None]) / np.sqrt(var[:, None] + 1e-5) * w[:, None] + b[:, None]
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-6)


def test_batch_norm_empty_batch_leaves_statistics_alone():
    rm, rv = _t(np.zeros(3)), _t(np.ones(3))
    x = _t(np.zeros((0, 3, 4)), requires_grad=True)
    y = batch_norm(x, rm, rv, training=True)
    assert y.shape == (0, 3, 4)
    np.testing.assert_array_equal(rm._data, np.zeros(3))
    np.testing.assert_array_equal(rv._data, np.ones(3))


def test_group_norm_with_one_group_per_channel_is_instance_norm(rng):
    x = rng.standard_normal((2, 3, 4, 4)).astype(np.float32)
    y = group_norm(_t(x), 3)._data
    x64 = x.astype(np.float64)
    mean, var = x64.mean(axis=(2, 3), keepdims=True), x64.var(axis=(2, 3), keepdims=True)
    np.testing.assert_allclose(y, (x64 - mean) / np.sqrt(var + 1e-5), rtol=1e-5, atol=1e-5)


def test_group_norm_single_element_groups_give_the_bias(rng):
    x = _t(rng.standard_normal((3, 4)), requires_grad=True)
    b = rng.standard_normal(4).astype(np.float32)
    y = group_norm(x, 4, _t(np.ones(4)), _t(b))
    np.testing.assert_array_equal(y._data, np.broadcast_to(b, (3, 4)))
    y.sum().backward()
    np.testing.assert_array_equal(x.grad._data, np.zeros((3, 4)))


def test_local_response_norm_matches_the_formula(rng):
    x = rng.standard_normal((2, 6, 3)).astype(np.float64)
    for size in (1, 2, 3, 4, 7):
        y = local_response_norm(_t(x, dtype=np.float64), size, alpha=0.5, beta=0.6, k=2.0)._data
        padded = np.pad(x ** 2, ((0, 0), (size // 2, (size - 1) // 2), (0, 0)))
        window = np.stack([padded[:, c:c + size].sum(axis=1) for c in range(6)], axis=1)
        np.testing.assert_allclose(y, x / (2.0 + 0.5 / size * window) ** 0.6, rtol=1e-12)


@pytest.mark.parametrize("fn", [
    lambda x: batch_norm(x, None, None, training=True),
    lambda x: batch_norm(x, _t(np.zeros(4)), _t(np.ones(4)), _t(np.ones(4)), _t(np.zeros(4))),
    lambda x: group_norm(x, 2, _t(np.ones(4)), _t(np.zeros(4))),
    lambda x: layer_norm(x, (2, 3), _t(np.ones((2, 3))), _t(np.zeros((2, 3)))),
    lambda x: local_response_norm(x, 3),
])
def test_float32_stays_float32(fn, rng):
    x = _t(rng.standard_normal((5, 4, 2, 3)), requires_grad=True)
    y = fn(x)
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32


# --------------------------------------------------------------------------------------------- errors
def test_batch_norm_errors():
    x = _t(np.zeros((8, 3, 4, 4)))
    with pytest.raises(ValueError, match=r"batch_norm: expected input of shape \(N, C\).*got shape \(3,\)"):
        batch_norm(_t(np.zeros(3)), None, None, training=True)
    with pytest.raises(ValueError, match=r"batch_norm: expected running_mean of shape \(3,\).*got \(2,\)"):
        batch_norm(x, _t(np.zeros(2)), _t(np.ones(3)))
    with pytest.raises(ValueError, match=r"batch_norm: expected running_var of shape \(3,\).*got \(4,\)"):
        batch_norm(x, _t(np.zeros(3)), _t(np.ones(4)), training=True)
    with pytest.raises(ValueError, match=r"batch_norm: expected weight of shape \(3,\).*\(8, 3, 4, 4\).*got \(1,\)"):
        batch_norm(x, None, None, _t(np.ones(1)), training=True)
    with pytest.raises(ValueError, match=r"batch_norm: expected bias of shape \(3,\).*got \(3, 1\)"):
        batch_norm(x, None, None, bias=_t(np.ones((3, 1))), training=True)
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        batch_norm(_t(np.zeros((1, 3))), None, None, training=True)
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        batch_norm(_t(np.zeros((1, 3, 1, 1))), _t(np.zeros(3)), _t(np.ones(3)), training=True)
    with pytest.raises(ValueError, match="batch_norm: running_mean and running_var must be defined in evaluation"):
        batch_norm(x, None, None, training=False)
    with pytest.raises(TypeError, match="batch_norm: expected momentum to be a float, got None"):
        batch_norm(x, _t(np.zeros(3)), _t(np.ones(3)), training=True, momentum=None)
    with pytest.raises(TypeError, match="batch_norm: expected a floating-point input, got dtype int64"):
        batch_norm(cnnkit.tensor(np.zeros((2, 3), dtype=np.int64), dtype=np.int64), None, None, training=True)
    # eval mode with a single value per channel is fine, as in PyTorch
    assert batch_norm(_t(np.zeros((1, 3))), _t(np.zeros(3)), _t(np.ones(3))).shape == (1, 3)


def test_group_norm_errors():
    x = _t(np.zeros((2, 6, 5)))
    with pytest.raises(ValueError, match=r"group_norm: expected the number of channels to be divisible by "
                                         r"num_groups, got input of shape \(2, 6, 5\) \(6 channels\) and num_groups=4"):
        group_norm(x, 4)
    with pytest.raises(ValueError, match="group_norm: expected num_groups to be a positive integer, got 0"):
        group_norm(x, 0)
    with pytest.raises(ValueError, match=r"group_norm: expected input of shape \(N, C, \*\).*got shape \(6,\)"):
        group_norm(_t(np.zeros(6)), 3)
    with pytest.raises(ValueError, match=r"group_norm: expected weight of shape \(6,\).*got \(3,\)"):
        group_norm(x, 3, weight=_t(np.ones(3)))
    with pytest.raises(ValueError, match=r"group_norm: expected bias of shape \(6,\).*got \(2,\)"):
        group_norm(x, 3, bias=_t(np.ones(2)))


def test_layer_norm_errors():
    x = _t(np.zeros((4, 6, 5)))
    with pytest.raises(ValueError, match=r"layer_norm: expected input of shape \(\*, 5, 6\) to match "
                                         r"normalized_shape=\[5, 6\], got \(4, 6, 5\)"):
        layer_norm(x, (5, 6))
    with pytest.raises(ValueError, match=r"layer_norm: expected input of shape \(\*, 7\)"):
        layer_norm(x, 7)
    with pytest.raises(ValueError, match=r"layer_norm: expected input of shape \(\*, 2, 4, 6, 5\)"):
        layer_norm(x, (2, 4, 6, 5))
    with pytest.raises(ValueError, match="layer_norm: expected normalized_shape to have at least one dimension"):
        layer_norm(x, ())
    with pytest.raises(TypeError, match="layer_norm: expected normalized_shape to be an int or a sequence"):
        layer_norm(x, "5")
    with pytest.raises(ValueError, match=r"layer_norm: expected weight of shape \(5,\).*got \(4,\)"):
        layer_norm(x, (5,), weight=_t(np.ones(4)))
    with pytest.raises(ValueError, match=r"layer_norm: expected bias of shape \(6, 5\).*got \(30,\)"):
        layer_norm(x, (6, 5), bias=_t(np.ones(30)))


def test_local_response_norm_errors():
    with pytest.raises(ValueError, match=r"local_response_norm: expected input of shape \(N, C, \*\) "
                                         r"\(3 or more dimensions\), got shape \(2, 3\)"):
        local_response_norm(_t(np.zeros((2, 3))), 2)
    with pytest.raises(ValueError, match="local_response_norm: expected size to be a positive integer, got 0"):
        local_response_norm(_t(np.zeros((2, 3, 4))), 0)


# --------------------------------------------------------------------------------------------- against PyTorch
def _torch_or_none(torch, array):
    return None if array is None else torch.tensor(array)


@requires_torch
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("seed", range(6))
def test_batch_norm_matches_torch(seed, training):
    import torch
    import torch.nn.functional as F

    rng = np.random.default_rng(seed)
    ndim = [2, 3, 4, 5][seed % 4]
    shape = tuple(int(d) for d in rng.integers(2, 6, size=ndim))
    c = shape[1]
    x = (rng.standard_normal(shape) * rng.uniform(0.5, 3) + rng.uniform(-2, 2)).astype(np.float32)
    w, b = rng.standard_normal(c).astype(np.float32), rng.standard_normal(c).astype(np.float32)
    mean, var = _stats(rng, c, np.float32)
    eps = [1e-5, 1e-3][seed % 2]
    compare_with_torch(
        lambda x, w, b: batch_norm(x, _t(mean), _t(var), w, b, training=training, eps=eps),
        lambda x, w, b: F.batch_norm(x, torch.tensor(mean), torch.tensor(var), w, b, training=training, eps=eps),
        x, w, b)
    compare_with_torch(lambda x: batch_norm(x, _t(mean), _t(var), training=training),
                       lambda x: F.batch_norm(x, torch.tensor(mean), torch.tensor(var), training=training), x)


@requires_torch
@pytest.mark.parametrize("momentum", [0.1, 0.3, 0.0, 1.0])
def test_batch_norm_running_statistics_match_torch(momentum, rng):
    import torch
    import torch.nn.functional as F

    c = 4
    rm, rv = _t(np.zeros(c)), _t(np.ones(c))
    trm, trv = torch.zeros(c), torch.ones(c)
    for step in range(5):
        shape = (int(rng.integers(2, 9)), c) + ((3, 5) if step % 2 else (7,))
        x = (rng.standard_normal(shape) * 2 + step).astype(np.float32)
        y = batch_norm(_t(x), rm, rv, training=True, momentum=momentum)
        ty = F.batch_norm(torch.tensor(x), trm, trv, training=True, momentum=momentum)
        np.testing.assert_allclose(y._data, ty.numpy(), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(rm._data, trm.numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(rv._data, trv.numpy(), rtol=1e-5, atol=1e-6)
    x = rng.standard_normal((3, c, 2)).astype(np.float32)
    np.testing.assert_allclose(batch_norm(_t(x), rm, rv)._data, F.batch_norm(torch.tensor(x), trm, trv).numpy(),
                               rtol=1e-4, atol=1e-5)


@requires_torch
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_large_spatial_matches_torch(training, rng):
    # S = 32·40: long rows of partial sums in the compiled loops
    import torch
    import torch.nn.functional as F

    x = rng.standard_normal((2, 3, 32, 40)).astype(np.float32)
    w, b = rng.standard_normal(3).astype(np.float32), rng.standard_normal(3).astype(np.float32)
    mean, var = _stats(rng, 3, np.float32)
    compare_with_torch(
        lambda x, w, b: batch_norm(x, _t(mean), _t(var), w, b, training=training),
        lambda x, w, b: F.batch_norm(x, torch.tensor(mean), torch.tensor(var), w, b, training=training), x, w, b)


@requires_torch
@pytest.mark.parametrize("seed", range(6))
def test_group_norm_matches_torch(seed):
    import torch.nn.functional as F

    rng = np.random.default_rng(100 + seed)
    groups = [1, 2, 3, 6, 2, 6][seed]
    # no single-element groups here: their x̂ is 0 exactly in cnnkit and rounding noise in PyTorch
    shape = (int(rng.integers(1, 4)), 6) + tuple(int(d) for d in rng.integers(2, 6, size=[0, 1, 2, 1, 0, 2][seed]))
    x = (rng.standard_normal(shape) * 2 + 1).astype(np.float32)
    w, b = rng.standard_normal(6).astype(np.float32), rng.standard_normal(6).astype(np.float32)
    compare_with_torch(lambda x, w, b: group_norm(x, groups, w, b), lambda x, w, b: F.group_norm(x, groups, w, b),
                       x, w, b)
    compare_with_torch(lambda x: group_norm(x, groups, eps=1e-3), lambda x: F.group_norm(x, groups, eps=1e-3), x)


@requires_torch
def test_group_norm_large_spatial_matches_torch(rng):
    # S = 32·40 ≥ 1024 takes the (C, 1) broadcast path for γ and β
    import torch.nn.functional as F

    x = rng.standard_normal((2, 4, 32, 40)).astype(np.float32)
    w, b = rng.standard_normal(4).astype(np.float32), rng.standard_normal(4).astype(np.float32)
    compare_with_torch(lambda x, w, b: group_norm(x, 2, w, b), lambda x, w, b: F.group_norm(x, 2, w, b), x, w, b)


@requires_torch
@pytest.mark.parametrize("seed", range(6))
def test_layer_norm_matches_torch(seed):
    import torch.nn.functional as F

    rng = np.random.default_rng(200 + seed)
    shape = tuple(int(d) for d in rng.integers(2, 6, size=2 + seed % 3))
    k = 1 + seed % len(shape)
    normalized = shape[len(shape) - k:]
    x = (rng.standard_normal(shape) * 3 - 1).astype(np.float32)
    w, b = rng.standard_normal(normalized).astype(np.float32), rng.standard_normal(normalized).astype(np.float32)
    compare_with_torch(lambda x, w, b: layer_norm(x, normalized, w, b),
                       lambda x, w, b: F.layer_norm(x, normalized, w, b), x, w, b)
    compare_with_torch(lambda x: layer_norm(x, list(normalized)), lambda x: F.layer_norm(x, list(normalized)), x)


@requires_torch
@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 9])
def test_local_response_norm_matches_torch(size, rng):
    import torch.nn.functional as F

    for shape in [(2, 7, 5), (3, 6, 4, 5), (2, 5, 2, 3, 2)]:
        x = (rng.standard_normal(shape) * 3).astype(np.float32)
        compare_with_torch(lambda x: local_response_norm(x, size), lambda x: F.local_response_norm(x, size), x)
        compare_with_torch(lambda x: local_response_norm(x, size, alpha=0.1, beta=0.5, k=2.0),
                           lambda x: F.local_response_norm(x, size, alpha=0.1, beta=0.5, k=2.0), x)

"""Tests for cnnkit/ops/norm_kernels.py and the batch-norm paths that run them.

Each compiled loop equals its plain-Python loop nest and the float64 definition; batch norm through them matches
PyTorch (training and eval, values, gradients and running statistics) on the shapes the loops treat specially
(one position per channel, odd sizes, batch 1, long rows), on non-contiguous inputs and gradients, with
momentum=None, and in float16.
"""

from __future__ import annotations

import numpy as np
import pytest

import cnnkit
from cnnkit import nn
from cnnkit.ops import norm_kernels as kernels
from cnnkit.ops.norm import batch_norm
from tests.gradcheck import check_gradients, compare_with_torch, requires_torch


def _t(array, requires_grad=False, dtype=np.float32):
    return cnnkit.tensor(np.asarray(array), dtype=dtype, requires_grad=requires_grad)


# --------------------------------------------------------------------------------------------- the loops
@pytest.mark.parametrize("shape", [(3, 4, 5), (1, 2, 1), (2, 3, 17)])
def test_moments_equal_the_definition_and_their_python_loops(shape, rng):
    x = (rng.standard_normal(shape) * 3 + 1000).astype(np.float32)  # a large offset: the shift must hold
    mean, var = kernels.moments(x)
    slow_mean, slow_var = kernels.moments.py_func(x)
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(mean, x64.mean(axis=(0, 2)), rtol=1e-12)
    np.testing.assert_allclose(var, x64.var(axis=(0, 2)), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(slow_mean, mean, rtol=1e-12)
    np.testing.assert_allclose(slow_var, var, rtol=1e-9, atol=1e-12)
    assert mean.dtype == var.dtype == np.float64


def test_moments_of_a_constant_channel_give_zero_variance():
    x = np.full((4, 2, 3), 0.1, dtype=np.float32)
    _, var = kernels.moments(x)
    assert (var == 0).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_affine_and_grad_input_equal_their_formulas(dtype, rng):
    x, g = rng.standard_normal((2, 3, 5)).astype(dtype), rng.standard_normal((2, 3, 5)).astype(dtype)
    a, b, k, c0, mu = (rng.standard_normal(3).astype(dtype) for _ in range(5))
    out, slow = np.empty_like(x), np.empty_like(x)
    kernels.affine(x, a, b, out)
    kernels.affine.py_func(x, a, b, slow)
    np.testing.assert_allclose(out, a[:, None] * x + b[:, None], rtol=1e-6)
    np.testing.assert_allclose(slow, out, rtol=1e-6)
    kernels.grad_input(g, x, mu, a, k, c0, out)
    kernels.grad_input.py_func(g, x, mu, a, k, c0, slow)
    expected = a[:, None] * g - k[:, None] * (x - mu[:, None]) - c0[:, None]
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(slow, out, rtol=1e-5, atol=1e-6)


def test_grad_sums_equal_the_definition_and_their_python_loops(rng):
    x, g = rng.standard_normal((3, 4, 7)).astype(np.float32), rng.standard_normal((3, 4, 7)).astype(np.float32)
    mean = x.astype(np.float64).mean(axis=(0, 2))
    sum_g, sum_gx = kernels.grad_sums(g, x, mean)
    slow_g, slow_gx = kernels.grad_sums.py_func(g, x, mean)
    g64, x64 = g.astype(np.float64), x.astype(np.float64)
    np.testing.assert_allclose(sum_g, g64.sum(axis=(0, 2)), rtol=1e-12)
    np.testing.assert_allclose(sum_gx, (g64 * (x64 - mean[:, None])).sum(axis=(0, 2)), rtol=1e-10)
    np.testing.assert_allclose(slow_g, sum_g, rtol=1e-12)
    np.testing.assert_allclose(slow_gx, sum_gx, rtol=1e-10)


# --------------------------------------------------------------------------------------------- batch norm through them
@pytest.mark.parametrize("shape", [(1, 3, 5, 7), (2, 1, 1, 1), (3, 2, 1), (7, 3, 3, 3)])
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_odd_shapes_finite_differences(shape, training, rng):
    c = shape[1]
    mean, var = rng.standard_normal(c), rng.random(c) + 0.5
    check_gradients(lambda x, w, b: batch_norm(x, _t(mean, dtype=np.float64), _t(var, dtype=np.float64), w, b,
                                               training=training),
                    rng.standard_normal(shape), rng.standard_normal(c), rng.standard_normal(c))


def _non_contiguous(array: np.ndarray) -> np.ndarray:
    """The same values as a strided view (every other element of a twice-as-wide array along the last axis)."""
    wide = np.zeros(array.shape[:-1] + (2 * array.shape[-1],), array.dtype)
    wide[..., ::2] = array
    view = wide[..., ::2]
    assert not view.flags.c_contiguous
    return view


@requires_torch
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_non_contiguous_input_and_gradient_match_torch(training, rng):
    import torch
    import torch.nn.functional as F

    x = (rng.standard_normal((3, 4, 5, 6)) * 2 + 1).astype(np.float32)
    w, b = rng.standard_normal(4).astype(np.float32), rng.standard_normal(4).astype(np.float32)
    g = rng.standard_normal(x.shape).astype(np.float32)
    mean, var = rng.standard_normal(4).astype(np.float32), (rng.random(4) + 0.5).astype(np.float32)
    xt, wt, bt = cnnkit.tensor(_non_contiguous(x), requires_grad=True), _t(w, True), _t(b, True)
    xt.data = _non_contiguous(x)  # cnnkit.tensor copies into a contiguous array: put the strided view back
    y = batch_norm(xt, _t(mean), _t(var), wt, bt, training=training)
    y.backward(_non_contiguous(g))
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    ty = F.batch_norm(tx, torch.tensor(mean), torch.tensor(var), tw, tb, training=training)
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(y._data, ty.detach().numpy(), rtol=1e-4, atol=1e-5)
    for ours, theirs in ((xt, tx), (wt, tw), (bt, tb)):
        np.testing.assert_allclose(ours.grad._data, theirs.grad.numpy(), rtol=1e-4, atol=1e-4)


@requires_torch
@pytest.mark.parametrize("shape", [(1, 3, 4, 5), (64, 5), (2, 3, 33, 31)])
def test_batch_norm_training_matches_torch_on_kernel_edge_shapes(shape, rng):
    import torch
    import torch.nn.functional as F

    c = shape[1]
    x = (rng.standard_normal(shape) * 4 - 3).astype(np.float32)
    w, b = rng.standard_normal(c).astype(np.float32), rng.standard_normal(c).astype(np.float32)
    rm, rv = _t(np.zeros(c)), _t(np.ones(c))
    trm, trv = torch.zeros(c), torch.ones(c)
    compare_with_torch(lambda x, w, b: batch_norm(x, rm, rv, w, b, training=True),
                       lambda x, w, b: F.batch_norm(x, trm, trv, w, b, training=True), x, w, b)
    np.testing.assert_allclose(rm._data, trm.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(rv._data, trv.numpy(), rtol=1e-5, atol=1e-6)


@requires_torch
def test_batch_norm_module_with_cumulative_momentum_matches_torch(rng):
    import torch

    ours, theirs = nn.BatchNorm2d(3, momentum=None), torch.nn.BatchNorm2d(3, momentum=None)
    for step in range(4):
        x = (rng.standard_normal((4, 3, 5, 5)) * (step + 1) + step).astype(np.float32)
        y, ty = ours(_t(x)), theirs(torch.tensor(x))
        np.testing.assert_allclose(y._data, ty.detach().numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ours.running_mean._data, theirs.running_mean.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours.running_var._data, theirs.running_var.numpy(), rtol=1e-5, atol=1e-6)
    ours.eval()
    theirs.eval()
    x = rng.standard_normal((2, 3, 5, 5)).astype(np.float32)
    np.testing.assert_allclose(ours(_t(x)).data, theirs(torch.tensor(x)).detach().numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_float16_computes_in_float32_and_returns_float16(training, rng):
    x = rng.standard_normal((4, 3, 2, 2))
    w, b = rng.standard_normal(3), rng.standard_normal(3)
    mean, var = rng.standard_normal(3), rng.random(3) + 0.5
    half = batch_norm(_t(x, True, np.float16), _t(mean, dtype=np.float16), _t(var, dtype=np.float16),
                      _t(w, dtype=np.float16), _t(b, dtype=np.float16), training=training)
    single = batch_norm(_t(x.astype(np.float16), dtype=np.float32), _t(mean.astype(np.float16)),
                        _t(var.astype(np.float16)), _t(w.astype(np.float16)), _t(b.astype(np.float16)),
                        training=training)
    assert half.dtype == np.float16
    np.testing.assert_allclose(half._data, single._data, rtol=2e-3, atol=2e-3)
    half.sum().backward()


def test_batch_norm_training_keeps_no_copy_of_its_input(rng):
    # the backward needs x, μ and inv_std only: no centred copy of the activations is saved
    x = _t(rng.standard_normal((4, 3, 8, 8)), True)
    y = batch_norm(x, None, None, training=True)
    saved = [cell.cell_contents for cell in y.grad_fn.backward.__closure__]
    big = [a for a in saved if isinstance(a, np.ndarray) and a.size >= x._data.size]
    assert len(big) == 1 and np.shares_memory(big[0], x._data)

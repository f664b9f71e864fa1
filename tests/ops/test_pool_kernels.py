"""Tests for cnnkit/ops/pool_kernels.py and the max_pool2d dispatch between its two forward loops.

The loops equal their Python loop nests; the unrolled 2×2 loop equals the general one (values and argmax, ties,
NaN, −inf, odd sizes); max_pool2d matches PyTorch on both branches (values, indices, gradients), on batch 1,
non-contiguous inputs and gradients, ceil_mode on odd sizes (which leaves the 2×2 branch) and NaN.
"""

from __future__ import annotations

import numpy as np
import pytest

import cnnkit
from cnnkit.ops import pool_kernels as kernels
from cnnkit.ops.pool import _is_plain_2x2, max_pool2d
from tests.gradcheck import check_gradients, requires_torch


def _special(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Small integers (many ties), with a few NaN and −inf cells."""
    x = rng.integers(0, 3, shape).astype(np.float32)
    flat = x.reshape(-1)
    flat[rng.choice(flat.size, 3, replace=False)] = np.nan
    flat[rng.choice(flat.size, 3, replace=False)] = -np.inf
    return x


@pytest.mark.parametrize("shape", [(2, 3, 6, 8), (1, 2, 7, 9), (3, 1, 2, 2)])
def test_unrolled_2x2_loop_equals_the_general_loop_and_the_python_loops(shape, rng):
    x = _special(rng, shape)
    out_shape = shape[:2] + (shape[2] // 2, shape[3] // 2)
    y, arg = np.empty(out_shape, np.float32), np.empty(out_shape, np.int32)
    y_gen, arg_gen = np.empty_like(y), np.empty_like(arg)
    y_py, arg_py = np.empty_like(y), np.empty_like(arg)
    kernels.max2x2_forward(x, y, arg)
    kernels.max_forward(x, 2, 2, 2, 2, 0, 0, 1, 1, np.float32(-np.inf), y_gen, arg_gen)
    kernels.max2x2_forward.py_func(x, y_py, arg_py)
    np.testing.assert_array_equal(y, y_gen)
    np.testing.assert_array_equal(arg, arg_gen)
    np.testing.assert_array_equal(y, y_py)
    np.testing.assert_array_equal(arg, arg_py)


def test_general_and_backward_loops_equal_their_python_loops(rng):
    x = _special(rng, (2, 2, 7, 6))
    y, arg = np.empty((2, 2, 4, 3), np.float32), np.empty((2, 2, 4, 3), np.int32)
    y_py, arg_py = np.empty_like(y), np.empty_like(arg)
    args = (3, 2, 2, 2, 1, 0, 1, 2, np.float32(-np.inf))  # kernel (3, 2), stride 2, padding (1, 0), dilation (1, 2)
    kernels.max_forward(x, *args, y, arg)
    kernels.max_forward.py_func(x, *args, y_py, arg_py)
    np.testing.assert_array_equal(y, y_py)
    np.testing.assert_array_equal(arg, arg_py)
    g = rng.standard_normal((2, 2, 12)).astype(np.float32)
    dx, dx_py = np.empty((2, 2, 42), np.float32), np.empty((2, 2, 42), np.float32)
    kernels.max_backward(g, arg.reshape(2, 2, -1), dx)
    kernels.max_backward.py_func(g, arg.reshape(2, 2, -1), dx_py)
    np.testing.assert_array_equal(dx, dx_py)
    expected = np.zeros((2, 2, 42), np.float32)
    for i in range(2):
        for c in range(2):
            np.add.at(expected[i, c], arg[i, c].reshape(-1), g[i, c])
    np.testing.assert_allclose(dx, expected, rtol=1e-6)


def test_dispatch_takes_the_unrolled_loop_only_without_partial_windows():
    assert _is_plain_2x2((2, 2), (2, 2), (0, 0), (1, 1), (7, 9), (3, 4))
    assert not _is_plain_2x2((2, 2), (2, 2), (0, 0), (1, 1), (7, 9), (4, 5))  # ceil_mode on odd sizes
    assert not _is_plain_2x2((2, 2), (1, 1), (0, 0), (1, 1), (7, 9), (6, 8))
    assert not _is_plain_2x2((2, 2), (2, 2), (1, 1), (1, 1), (6, 6), (4, 4))
    assert not _is_plain_2x2((3, 3), (2, 2), (0, 0), (1, 1), (7, 7), (3, 3))


@requires_torch
@pytest.mark.parametrize("shape, kernel, stride, padding, ceil_mode", [
    ((1, 3, 7, 9), 2, 2, 0, False),  # batch 1, odd sizes: the 2×2 loop drops the last row and column
    ((2, 3, 7, 9), 2, 2, 0, True),  # ceil_mode on odd sizes: the general loop, with partial windows
    ((2, 2, 9, 8), 3, 2, 1, False),  # stride 2 with padding
    ((2, 2, 8, 8), 3, 2, 1, True),
])
def test_max_pool2d_branches_match_torch_with_ties_and_nan(shape, kernel, stride, padding, ceil_mode, rng):
    import torch
    import torch.nn.functional as F

    x = _special(rng, shape)
    ours = cnnkit.tensor(x, requires_grad=True)
    y, index = max_pool2d(ours, kernel, stride, padding, ceil_mode=ceil_mode, return_indices=True)
    theirs = torch.tensor(x, requires_grad=True)
    ty, tindex = F.max_pool2d(theirs, kernel, stride, padding, ceil_mode=ceil_mode, return_indices=True)
    np.testing.assert_array_equal(y._data, ty.detach().numpy())
    np.testing.assert_array_equal(index._data, tindex.numpy())
    g = rng.standard_normal(y.shape).astype(np.float32)
    y.backward(g)
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(ours.grad._data, theirs.grad.numpy(), rtol=1e-6, atol=1e-6)


@requires_torch
def test_max_pool2d_non_contiguous_input_and_gradient_match_torch(rng):
    import torch
    import torch.nn.functional as F

    wide = rng.standard_normal((2, 3, 8, 20)).astype(np.float32)
    x = cnnkit.tensor(wide, requires_grad=True)
    view = x[:, :, :, ::2]
    assert not view._data.flags.c_contiguous
    y = max_pool2d(view, 2)
    g = rng.standard_normal((2, 3, 5, 4)).astype(np.float32).transpose(0, 1, 3, 2)
    assert g.shape == y.shape and not g.flags.c_contiguous
    y.backward(g)
    tx = torch.tensor(wide, requires_grad=True)
    ty = F.max_pool2d(tx[:, :, :, ::2], 2)
    ty.backward(torch.tensor(np.ascontiguousarray(g)))
    np.testing.assert_array_equal(y._data, ty.detach().numpy())
    np.testing.assert_allclose(x.grad._data, tx.grad.numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("kernel, stride", [(2, 2), (3, 2)])
def test_max_pool2d_branches_finite_differences(kernel, stride, rng):
    x = (rng.permutation(2 * 2 * 7 * 7) * 0.1).reshape(2, 2, 7, 7)  # distinct values: no ties
    check_gradients(lambda t: max_pool2d(t, kernel, stride), x)


def test_max_pool2d_float16_and_integer_inputs(rng):
    x = rng.integers(-5, 5, (2, 2, 4, 6))
    for dtype in (np.float16, np.int64, np.int32):
        y = max_pool2d(cnnkit.tensor(x.astype(dtype), dtype=dtype), 2)
        assert y.dtype == dtype
        np.testing.assert_array_equal(y._data, x.reshape(2, 2, 2, 2, 3, 2).max(axis=(3, 5)))


# --------------------------------------------------------------------------------------------- average pooling
@pytest.mark.parametrize("shape", [(2, 3, 6, 8), (1, 2, 7, 9)])
def test_avg_2x2_loops_equal_their_python_loops_and_the_definition(shape, rng):
    x = rng.standard_normal(shape).astype(np.float32)
    oh, ow = shape[2] // 2, shape[3] // 2
    y, y_py = np.empty(shape[:2] + (oh, ow), np.float32), np.empty(shape[:2] + (oh, ow), np.float32)
    kernels.avg2x2_forward(x, np.float32(4), y)
    kernels.avg2x2_forward.py_func(x, np.float32(4), y_py)
    windows = x[:, :, : 2 * oh, : 2 * ow].reshape(shape[0], shape[1], oh, 2, ow, 2)
    np.testing.assert_allclose(y, windows.mean(axis=(3, 5)), rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(y, y_py)
    g = rng.standard_normal(y.shape).astype(np.float32)
    dx, dx_py = np.full(shape, np.nan, np.float32), np.full(shape, np.nan, np.float32)
    kernels.avg2x2_backward(g, np.float32(3), dx)
    kernels.avg2x2_backward.py_func(g, np.float32(3), dx_py)
    expected = np.zeros(shape, np.float32)
    expected[:, :, : 2 * oh, : 2 * ow] = np.repeat(np.repeat(g / np.float32(3), 2, axis=2), 2, axis=3)
    np.testing.assert_array_equal(dx, expected)  # the odd last row and column are 0, not left unset
    np.testing.assert_array_equal(dx_py, expected)


@requires_torch
@pytest.mark.parametrize("shape, ceil_mode, divisor", [
    ((1, 3, 7, 9), False, None),  # batch 1, odd sizes: the 2×2 loop
    ((2, 3, 7, 9), True, None),  # ceil_mode on odd sizes: partial windows, the NumPy path
    ((2, 2, 6, 6), False, 3),  # divisor_override on the 2×2 loop
])
def test_avg_pool2d_branches_match_torch(shape, ceil_mode, divisor, rng):
    import torch
    import torch.nn.functional as F

    from cnnkit.ops.pool import avg_pool2d

    x = rng.standard_normal(shape).astype(np.float32)
    ours = cnnkit.tensor(x, requires_grad=True)
    y = avg_pool2d(ours, 2, ceil_mode=ceil_mode, divisor_override=divisor)
    theirs = torch.tensor(x, requires_grad=True)
    ty = F.avg_pool2d(theirs, 2, ceil_mode=ceil_mode, divisor_override=divisor)
    np.testing.assert_allclose(y._data, ty.detach().numpy(), rtol=1e-6, atol=1e-6)
    g = rng.standard_normal(y.shape).astype(np.float32)
    y.backward(g)
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(ours.grad._data, theirs.grad.numpy(), rtol=1e-6, atol=1e-6)


def test_avg_pool2d_2x2_finite_differences_and_non_contiguous_input(rng):
    from cnnkit.ops.pool import avg_pool2d

    check_gradients(lambda t: avg_pool2d(t, 2), rng.standard_normal((2, 2, 5, 7)))
    wide = rng.standard_normal((2, 3, 6, 16)).astype(np.float32)
    x = cnnkit.tensor(wide, requires_grad=True)
    y = avg_pool2d(x[:, :, :, ::2], 2, divisor_override=2)
    np.testing.assert_allclose(y._data, wide[:, :, :, ::2].reshape(2, 3, 3, 2, 4, 2).sum(axis=(3, 5)) / 2,
                               rtol=1e-6, atol=1e-6)
    y.sum().backward()
    expected = np.zeros_like(wide)
    expected[:, :, :, ::2] = 0.5
    np.testing.assert_array_equal(x.grad._data, expected)

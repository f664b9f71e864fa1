"""Tests for cnnkit/ops/activation_kernels.py and the ReLU paths: the compiled loops equal their Python loops and
PyTorch's ReLU (NaN, ±inf, ±0, sizes around the parallel block, non-contiguous inputs and gradients); float16 and
integer inputs take the NumPy path with the same results."""

from __future__ import annotations

import numpy as np
import pytest

import cnnkit
from cnnkit.ops import activation_kernels as kernels
from cnnkit.ops.activation import relu
from tests.gradcheck import requires_torch

SPECIAL = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-38, -1e-38, 3.0, -2.0], dtype=np.float32)


@pytest.mark.parametrize("size", [0, 1, kernels.BLOCK - 1, kernels.BLOCK, 2 * kernels.BLOCK + 3])
def test_relu_loops_equal_their_python_loops(size, rng):
    x = rng.standard_normal(size).astype(np.float32)
    x[: min(size, SPECIAL.size)] = SPECIAL[: min(size, SPECIAL.size)]
    g = rng.standard_normal(size).astype(np.float32)
    y, y_slow = np.empty_like(x), np.empty_like(x)
    kernels.relu_forward(x, y)
    kernels.relu_forward.py_func(x, y_slow)
    np.testing.assert_array_equal(y, y_slow)
    np.testing.assert_array_equal(y, np.where(np.isnan(x) | (x > 0), x, 0))
    dx, dx_slow = np.empty_like(x), np.empty_like(x)
    kernels.relu_backward(y, g, dx)
    kernels.relu_backward.py_func(y, g, dx_slow)
    np.testing.assert_array_equal(dx, dx_slow)
    np.testing.assert_array_equal(dx, np.where(y <= 0, 0, g))  # NaN lets g through


@requires_torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_special_values_and_gradients_match_torch(dtype):
    import torch

    x = np.concatenate([SPECIAL, -SPECIAL]).astype(dtype)
    g = np.array([np.nan, np.inf, 1.0, -1.0] * (x.size // 4) + [2.0] * (x.size % 4), dtype=dtype)
    ours = cnnkit.tensor(x, dtype=dtype, requires_grad=True)
    y = relu(ours)
    y.backward(g)
    theirs = torch.tensor(x, requires_grad=True)
    ty = torch.relu(theirs)
    ty.backward(torch.tensor(g))
    np.testing.assert_array_equal(y._data, ty.detach().numpy())
    np.testing.assert_array_equal(ours.grad._data, theirs.grad.numpy())
    assert y.dtype == ours.grad.dtype == dtype


def test_relu_non_contiguous_input_and_gradient(rng):
    wide = rng.standard_normal((4, 6, 10)).astype(np.float32)
    x = cnnkit.tensor(wide, requires_grad=True)
    view = x[:, ::2, 1::3]  # a strided view: its data is not contiguous
    assert not view._data.flags.c_contiguous
    y = relu(view)
    np.testing.assert_array_equal(y._data, np.maximum(wide[:, ::2, 1::3], 0))
    g = rng.standard_normal((4, 6, 10)).astype(np.float32).transpose(0, 2, 1)[:, 1::3, ::2].transpose(0, 2, 1)
    assert g.shape == y.shape and not g.flags.c_contiguous
    y.backward(g)
    expected = np.zeros_like(wide)
    expected[:, ::2, 1::3] = np.where(wide[:, ::2, 1::3] > 0, g, 0)
    np.testing.assert_array_equal(x.grad._data, expected)


@pytest.mark.parametrize("dtype", [np.float16, np.int64])
def test_relu_other_dtypes_take_numpy(dtype):
    x = np.array([[-3, 0, 2], [5, -1, 7]], dtype=dtype)
    y = relu(cnnkit.tensor(x, dtype=dtype))
    assert y.dtype == dtype
    np.testing.assert_array_equal(y._data, np.maximum(x, 0))
    if dtype == np.float16:
        t = cnnkit.tensor(x, dtype=dtype, requires_grad=True)
        relu(t).sum().backward()
        np.testing.assert_array_equal(t.grad._data, (x > 0).astype(dtype))


def test_relu_of_0d_and_empty_tensors():
    t = cnnkit.tensor(np.float32(-2.0), requires_grad=True)
    y = relu(t)
    y.backward()
    assert y.shape == () and y.item() == 0.0 and t.grad.item() == 0.0
    e = cnnkit.tensor(np.zeros((0, 3), np.float32), requires_grad=True)
    relu(e).sum().backward()
    assert e.grad.shape == (0, 3)

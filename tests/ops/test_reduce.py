"""Reductions: sum, mean, var, max/min with and without dim, argmax."""

from __future__ import annotations

import numpy as np
import pytest

import cnnkit
from tests.gradcheck import check_gradients, compare_with_torch, requires_torch

DIMS = [None, 0, 1, -1, (0, 2), (1, 2)]


@pytest.mark.parametrize("dim", DIMS)
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("op", ["sum", "mean", "var"])
def test_reduction_gradients(op, dim, keepdim, rng):
    x = rng.standard_normal((2, 3, 4))
    check_gradients(lambda t: getattr(t, op)(dim=dim, keepdim=keepdim), x)


@requires_torch
@pytest.mark.parametrize("dim", DIMS)
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("op", ["sum", "mean", "var"])
def test_reduction_matches_torch(op, dim, keepdim, rng):
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    both = lambda t: getattr(t, op)(dim=dim, keepdim=keepdim)  # noqa: E731
    compare_with_torch(both, both, x)


@pytest.mark.parametrize("op", ["max", "min"])
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_max_min_with_dim_gradients_and_indices(op, dim, keepdim, rng):
    x = rng.permutation(24).reshape(2, 3, 4).astype(np.float64)  # distinct values
    check_gradients(lambda t: getattr(t, op)(dim=dim, keepdim=keepdim).values, x)
    result = getattr(cnnkit.tensor(x), op)(dim=dim, keepdim=keepdim)
    expected = (np.argmax if op == "max" else np.argmin)(x, axis=dim)
    if keepdim:
        expected = np.expand_dims(expected, dim)
    np.testing.assert_array_equal(result.indices._data, expected)
    assert result.indices.dtype == np.int64


@requires_torch
@pytest.mark.parametrize("op", ["max", "min"])
def test_max_min_with_ties_matches_torch(op):
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]], dtype=np.float32)
    compare_with_torch(lambda t: getattr(t, op)(), lambda t: getattr(t, op)(), x)  # ties share the gradient
    compare_with_torch(lambda t: getattr(t, op)(dim=1).values, lambda t: getattr(t, op)(dim=1).values, x)


def test_argmax():
    x = cnnkit.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 7.0]])
    assert x.argmax(dim=1).tolist() == [1, 0]
    assert x.argmax().item() == 3


def test_bad_dim_is_a_clear_error():
    with pytest.raises(IndexError, match="dim 3 is out of range"):
        cnnkit.zeros(2, 3).sum(dim=3)

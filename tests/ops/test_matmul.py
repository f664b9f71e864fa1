"""Matrix products and linear: batching, broadcasting, 1-D operands, shape errors."""

from __future__ import annotations

import numpy as np
import pytest

import cnnkit
from cnnkit.ops.matmul import linear
from tests.gradcheck import check_gradients, compare_with_torch, requires_torch

SHAPES = [((3, 4), (4, 5)), ((4,), (4, 2)), ((3, 4), (4,)), ((4,), (4,)), ((2, 3, 4), (4, 5)),
          ((2, 3, 4), (2, 4, 5)), ((1, 3, 4), (2, 4, 5)), ((2, 1, 3, 4), (5, 4, 2))]


@pytest.mark.parametrize("shapes", SHAPES)
def test_matmul_gradients(shapes, rng):
    check_gradients(lambda a, b: a @ b, rng.standard_normal(shapes[0]), rng.standard_normal(shapes[1]))


@requires_torch
@pytest.mark.parametrize("shapes", SHAPES)
def test_matmul_matches_torch(shapes, rng):
    a = rng.standard_normal(shapes[0]).astype(np.float32)
    b = rng.standard_normal(shapes[1]).astype(np.float32)
    compare_with_torch(lambda x, y: x @ y, lambda x, y: x @ y, a, b)


@pytest.mark.parametrize("lead", [(5,), (2, 3), ()])
def test_linear_gradients(lead, rng):
    x, w, b = rng.standard_normal(lead + (4,)), rng.standard_normal((3, 4)), rng.standard_normal(3)
    check_gradients(linear, x, w, b)
    check_gradients(lambda x, w: linear(x, w), x, w)


@requires_torch
def test_linear_matches_torch(rng):
    import torch

    x, w, b = (rng.standard_normal(s).astype(np.float32) for s in [(8, 20), (6, 20), (6,)])
    compare_with_torch(linear, torch.nn.functional.linear, x, w, b)


def test_shape_errors():
    with pytest.raises(ValueError, match=r"matmul: shapes \(3, 4\) and \(5, 2\) do not align"):
        cnnkit.zeros(3, 4) @ cnnkit.zeros(5, 2)
    with pytest.raises(ValueError, match="linear: expected input with last dim 4"):
        linear(cnnkit.zeros(2, 5), cnnkit.zeros(3, 4))

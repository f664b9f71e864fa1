"""Element-wise ops: finite-difference gradients (float64), PyTorch agreement, broadcasting reduction."""

from __future__ import annotations

import numpy as np
import pytest

import cnnkit
from tests.gradcheck import check_gradients, compare_with_torch, requires_torch

BROADCAST_CASES = [((3, 4), (3, 4)), ((2, 3, 4), (4,)), ((3, 1), (1, 5)), ((2, 1, 4), (3, 1)), ((), (2, 3))]
BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow": lambda a, b: a**b,
}


def _positive(rng, shape):
    return rng.uniform(0.5, 2.0, size=shape)


@pytest.mark.parametrize("name", BINARY)
@pytest.mark.parametrize("shapes", BROADCAST_CASES)
def test_binary_gradients(name, shapes, rng):
    a, b = _positive(rng, shapes[0]), _positive(rng, shapes[1])
    check_gradients(BINARY[name], a, b)


@requires_torch
@pytest.mark.parametrize("name", BINARY)
@pytest.mark.parametrize("shapes", BROADCAST_CASES)
def test_binary_matches_torch(name, shapes, rng):
    a = _positive(rng, shapes[0]).astype(np.float32)
    b = _positive(rng, shapes[1]).astype(np.float32)
    compare_with_torch(BINARY[name], BINARY[name], a, b)


UNARY = {
    "neg": (lambda x: -x, lambda x: -x),
    "exp": (lambda x: x.exp(), lambda x: x.exp()),
    "log": (lambda x: x.log(), lambda x: x.log()),
    "sqrt": (lambda x: x.sqrt(), lambda x: x.sqrt()),
    "abs": (lambda x: abs(x - 1.2), lambda x: abs(x - 1.2)),
    "sigmoid": (lambda x: cnnkit.sigmoid(x * 4 - 4), lambda x: (x * 4 - 4).sigmoid()),
    "tanh": (lambda x: cnnkit.tanh(x * 2 - 2), lambda x: (x * 2 - 2).tanh()),
    "clamp": (lambda x: x.clamp(0.8, 1.6), lambda x: x.clamp(0.8, 1.6)),
    "clamp_min": (lambda x: x.clamp(min=1.0), lambda x: x.clamp(min=1.0)),
    "rpow": (lambda x: 2.0**x, lambda x: 2.0**x),
    "rdiv": (lambda x: 1.0 / x, lambda x: 1.0 / x),
}


@pytest.mark.parametrize("name", UNARY)
def test_unary_gradients(name, rng):
    # values kept away from the kinks of abs and clamp so that finite differences are exact
    x = rng.choice([-1, 1], size=(3, 5)) * 0.05 + rng.uniform(0.5, 2.0, size=(3, 5))
    x = np.where(np.abs(x - 1.2) < 0.02, 1.3, x)
    x = np.where(np.abs(x - 0.8) < 0.02, 0.9, x)
    x = np.where(np.abs(x - 1.6) < 0.02, 1.7, x)
    x = np.where(np.abs(x - 1.0) < 0.02, 1.1, x)
    check_gradients(UNARY[name][0], x)


@requires_torch
@pytest.mark.parametrize("name", UNARY)
def test_unary_matches_torch(name, rng):
    x = rng.uniform(0.5, 2.0, size=(4, 6)).astype(np.float32)
    compare_with_torch(UNARY[name][0], UNARY[name][1], x)


def test_sigmoid_is_stable_for_large_inputs():
    x = cnnkit.tensor([-1000.0, 0.0, 1000.0])
    np.testing.assert_allclose(cnnkit.sigmoid(x)._data, [0.0, 0.5, 1.0])


def test_broadcast_mismatch_is_a_clear_error():
    with pytest.raises(ValueError, match=r"add: shapes \(2, 3\) and \(4,\) cannot be broadcast"):
        cnnkit.zeros(2, 3) + cnnkit.zeros(4)


def test_int_tensor_meets_float_tensor_as_float32():
    x = cnnkit.tensor([1.0, 2.0], requires_grad=True)
    y = x * cnnkit.tensor([2, 3])
    assert y.dtype == np.float32
    y.sum().backward()
    np.testing.assert_allclose(x.grad._data, [2.0, 3.0])


def test_maximum_and_where_gradients(rng):
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    check_gradients(lambda x, y: cnnkit.maximum(x, y), a, b)
    cond = rng.random((3, 4)) > 0.5
    check_gradients(lambda x, y: cnnkit.where(cond, x, y), a, b)


@pytest.mark.parametrize("shape", [(5, 7, 3), (2, 16)])  # 105 values in 8 chunks; 32 values, the last chunk short
def test_tanh_split_over_threads_gives_the_same_values(shape, rng, monkeypatch):
    from cnnkit.ops import elementwise

    x = rng.standard_normal(shape).astype(np.float32)
    monkeypatch.setattr(elementwise, "TANH_SPLIT_MIN", 1)  # every contiguous array is split
    splits = []
    real_split = elementwise.split_batch
    monkeypatch.setattr(elementwise, "split_batch", lambda *args: splits.append(args[1:]) or real_split(*args))
    split = elementwise._tanh_values(x)
    assert splits == [(x.size, -(-x.size // 8))]
    assert split.dtype == np.float32 and split.shape == x.shape
    np.testing.assert_array_equal(split, np.tanh(x))
    np.testing.assert_array_equal(elementwise._tanh_values(x[:, ::2]), np.tanh(x[:, ::2]))  # not split: strided
    assert len(splits) == 1
    check_gradients(cnnkit.tanh, x.astype(np.float64))  # forward and backward through the split path


@requires_torch
def test_tanh_split_matches_torch(rng, monkeypatch):
    from cnnkit.ops import elementwise

    monkeypatch.setattr(elementwise, "TANH_SPLIT_MIN", 1)
    compare_with_torch(cnnkit.tanh, lambda t: t.tanh(), rng.standard_normal((8, 3, 5, 5)).astype(np.float32))

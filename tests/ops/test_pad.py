"""Tests for cnnkit.ops.pad: every mode against finite differences, PyTorch and hand-worked values; errors."""

from __future__ import annotations

import numpy as np
import pytest

import cnnkit
from cnnkit.ops.pad import pad
from tests.gradcheck import check_gradients, compare_with_torch, requires_torch

# (input shape, pad) pairs valid for every mode: last dim, last 2 dims, last 3 dims; negative pads crop
CASES = [
    ((2, 6), (2, 1)), ((2, 3, 5), (0, 3)), ((2, 3, 5), (-1, 2)), ((2, 3, 5), (3, -2)),
    ((2, 4, 5), (1, 2, 3, 0)), ((1, 2, 4, 5), (2, -1, -1, 3)), ((1, 2, 4, 5), (4, 4, 3, 3)),
    ((2, 3, 4, 5), (-2, -1, 0, 1)), ((1, 3, 3, 4, 5), (1, 2, 0, 1, 2, -1)), ((2, 3, 3, 4), (1, 1, 1, 1, 1, 1)),
]
MODES = ["constant", "reflect", "replicate", "circular"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape,pads", CASES)
def test_pad_matches_finite_differences(mode, shape, pads):
    x = np.random.default_rng(0).standard_normal(shape)
    check_gradients(lambda t: pad(t, pads, mode), x)


@requires_torch
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape,pads", CASES)
def test_pad_matches_torch(mode, shape, pads):
    import torch.nn.functional as F

    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    compare_with_torch(lambda t: pad(t, pads, mode), lambda t: F.pad(t, pads, mode=mode), x)


@requires_torch
@pytest.mark.parametrize("pads", [(1, 2), (2, 0, 1, 1), (0, 1, 2, 3, 1, 0), (1, 1, 0, 0, 0, 0, 2, 1), (-1, 1, 2, -2)])
def test_constant_pad_of_any_dims_with_a_value_matches_torch(pads):
    import torch.nn.functional as F

    x = np.random.default_rng(2).standard_normal((2, 3, 4, 5)).astype(np.float32)
    compare_with_torch(lambda t: pad(t, pads, value=-2.5), lambda t: F.pad(t, pads, value=-2.5), x)


@requires_torch
@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_pad_random_pads_match_torch(mode):
    import torch.nn.functional as F

    rng = np.random.default_rng(3)
    for _ in range(30):
        shape = tuple(int(n) for n in rng.integers(3, 6, 4))  # sizes ≥ 3 keep pads of −1..1 valid in every mode
        pads = tuple(int(p) for p in rng.integers(-1, 2, 4))
        x = rng.standard_normal(shape).astype(np.float32)
        compare_with_torch(lambda t, p=pads: pad(t, p, mode), lambda t, p=pads: F.pad(t, p, mode=mode), x)


def test_pad_modes_by_hand():
    row = cnnkit.tensor(np.arange(5, dtype=np.float32)[None])
    np.testing.assert_array_equal(pad(row, (2, 3), value=9)._data, [[9, 9, 0, 1, 2, 3, 4, 9, 9, 9]])
    np.testing.assert_array_equal(pad(row, (2, 3), "reflect")._data, [[2, 1, 0, 1, 2, 3, 4, 3, 2, 1]])
    np.testing.assert_array_equal(pad(row, (2, 3), "replicate")._data, [[0, 0, 0, 1, 2, 3, 4, 4, 4, 4]])
    np.testing.assert_array_equal(pad(row, (2, 3), "circular")._data, [[3, 4, 0, 1, 2, 3, 4, 0, 1, 2]])


def test_negative_pads_crop_as_pytorch():
    row = cnnkit.tensor(np.arange(5, dtype=np.float32)[None])
    np.testing.assert_array_equal(pad(row, (-1, 2))._data, [[1, 2, 3, 4, 0, 0]])
    np.testing.assert_array_equal(pad(row, (-1, 2), "reflect")._data, [[1, 2, 3, 4, 3, 2]])  # about the original edge
    np.testing.assert_array_equal(pad(row, (-4, 4), "reflect")._data, [[4, 3, 2, 1, 0]])
    np.testing.assert_array_equal(pad(row, (2, -1), "replicate")._data, [[0, 0, 0, 1, 2, 3]])
    np.testing.assert_array_equal(pad(row, (-1, 2), "circular")._data, [[1, 2, 3, 4, 1, 2]])  # wraps the cropped part
    np.testing.assert_array_equal(pad(row, (-5, 1), value=7)._data, [[7]])


def test_pad_backward_folds_border_gradients_onto_sources():
    x = cnnkit.tensor(np.zeros((1, 4)), requires_grad=True)
    pad(x, (2, 2), "reflect").backward(np.arange(1, 9, dtype=np.float64)[None])
    # reflect output [x2 x1 | x0 x1 x2 x3 | x2 x1] carries gradients [1 2 | 3 4 5 6 | 7 8]
    np.testing.assert_array_equal(x.grad._data, [[3, 2 + 4 + 8, 1 + 5 + 7, 6]])
    x.grad = None
    pad(x, (2, 2), "replicate").backward(np.arange(1, 9, dtype=np.float64)[None])
    np.testing.assert_array_equal(x.grad._data, [[1 + 2 + 3, 4, 5, 6 + 7 + 8]])
    x.grad = None
    pad(x, (2, 2), "circular").backward(np.arange(1, 9, dtype=np.float64)[None])
    np.testing.assert_array_equal(x.grad._data, [[3 + 7, 4 + 8, 5 + 1, 6 + 2]])
    x.grad = None
    pad(x, (-1, 1)).backward(np.array([[1.0, 2.0, 3.0, 4.0]]))
    np.testing.assert_array_equal(x.grad._data, [[0, 1, 2, 3]])  # the cropped cell gets no gradient


def test_pad_keeps_dtype_and_copies():
    x32 = cnnkit.tensor(np.ones((1, 2, 3), dtype=np.float32))
    for mode in MODES:
        assert pad(x32, (1, 1), mode).dtype == np.float32
        assert pad(cnnkit.tensor(np.ones((1, 2, 3)), dtype=np.float64), (1, 1), mode).dtype == np.float64
    ints = pad(cnnkit.tensor(np.ones((2, 2), dtype=np.int64)), (1, 0), value=3)
    assert ints.dtype == np.int64
    np.testing.assert_array_equal(ints._data, [[3, 1, 1], [3, 1, 1]])
    out = pad(x32, (0, 0), "reflect")
    out._data[...] = 5  # the output never aliases the input
    assert np.all(x32._data == 1)


ERRORS = [
    (lambda x: pad(x, (1,)), r"pad: expected a pad tuple of even length"),
    (lambda x: pad(x, (1, 1) * 5), r"pad: expected at most 2 entries per dim \(8 for a 4-D input"),
    (lambda x: pad(x, (1, 1), mode="wrap"), r"pad: expected mode to be one of"),
    (lambda x: pad(x, (1, 1), mode="reflect", value=2.0), r"pad: mode 'reflect' takes no fill value"),
    (lambda x: pad(x, (1, 1), mode="reflect"), r"pad: mode 'reflect' pads the last 1, 2 or 3 dims .* got a pad of "
                                               r"length 2 for input shape \(2, 3, 4, 5\)"),
    (lambda x: pad(x, (1, 1) * 4, mode="replicate"), r"pad: mode 'replicate' pads the last 1, 2 or 3 dims"),
    (lambda x: pad(x, (5, 0, 0, 0), mode="reflect"), r"pad: expected reflect pads smaller than the padded dim \(5\)"),
    (lambda x: pad(x, (0, 0, 0, 4), mode="reflect"), r"pad: expected reflect pads smaller than the padded dim \(4\)"),
    (lambda x: pad(x, (6, 0, 0, 0), mode="circular"), r"pad: expected circular pads to wrap around at most once"),
    (lambda x: pad(x, (3, -3, 0, 0), mode="circular"), r"wrap around at most once, i\.e\. at most the size left "
                                                       r"after cropping \(2\)"),
    (lambda x: pad(x, (-3, -3)), r"pad: expected negative pads to crop at most the whole dim, got dim 3"),
    (lambda x: pad(x, (-3, -2, 0, 0), mode="replicate"), r"pad: expected a non-empty output for mode 'replicate'"),
    (lambda x: pad(x, (1.5, 1)), r"pad: expected pad to be a tuple of ints"),
]


@pytest.mark.parametrize("call,message", ERRORS)
def test_bad_pads_raise_clear_errors(call, message):
    x = cnnkit.tensor(np.ones((2, 3, 4, 5), dtype=np.float32))
    with pytest.raises((ValueError, TypeError), match=message):
        call(x)

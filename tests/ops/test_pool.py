"""Tests for cnnkit.ops.pool: max/avg/adaptive pooling against finite differences and PyTorch, plus errors."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import cnnkit
from cnnkit.ops.pool import adaptive_avg_pool2d, adaptive_max_pool2d, avg_pool2d, max_pool2d
from tests.gradcheck import check_gradients, compare_with_torch, requires_torch


def distinct(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Values at least 0.1 apart, so finite differences never cross a tie inside a max."""
    return (rng.permutation(int(np.prod(shape))) * 0.1 + rng.uniform(0, 0.01)).reshape(shape) - 1.0


# (kernel, stride, padding, dilation, ceil_mode): square and non-square, strides 1/2/3, padding, dilation
MAX_CONFIGS = [
    (1, None, 0, 1, False), (2, None, 0, 1, False), (2, 1, 0, 1, False), (3, 2, 1, 1, False),
    (3, 2, 1, 1, True), (3, 3, 0, 1, True), (2, 2, 1, 1, True), ((2, 3), (1, 2), (1, 0), 1, False),
    ((3, 1), (2, 1), (1, 0), 1, True), (2, 1, 1, 2, False), (3, 2, 1, (2, 1), True), (2, 3, 0, 1, True),
]
AVG_CONFIGS = [  # (kernel, stride, padding, ceil_mode)
    (1, None, 0, False), (2, None, 0, False), (2, 1, 1, False), (3, 2, 1, False), (3, 2, 1, True),
    (3, 3, 0, True), (2, 2, 1, True), ((2, 3), (1, 2), (1, 1), False), ((3, 2), (2, 3), (1, 0), True),
]


# ---------------------------------------------------------------------------------------- max_pool2d


@pytest.mark.parametrize("kernel,stride,padding,dilation,ceil_mode", MAX_CONFIGS)
def test_max_pool2d_matches_finite_differences(kernel, stride, padding, dilation, ceil_mode):
    x = distinct(np.random.default_rng(0), (2, 2, 5, 7))
    check_gradients(lambda t: max_pool2d(t, kernel, stride, padding, dilation, ceil_mode), x)


@requires_torch
@pytest.mark.parametrize("kernel,stride,padding,dilation,ceil_mode", MAX_CONFIGS)
@pytest.mark.parametrize("values", ["normal", "relu", "integers"])
@pytest.mark.parametrize("shape", [(2, 3, 7, 6), (1, 2, 6, 9)])
def test_max_pool2d_matches_torch_including_ties(kernel, stride, padding, dilation, ceil_mode, values, shape):
    import torch.nn.functional as F

    rng = np.random.default_rng([len(values), *shape])
    x = rng.standard_normal(shape).astype(np.float32)
    if values == "relu":  # many windows full of zeros: the gradient must go to the first one
        x = np.maximum(x, 0)
    elif values == "integers":
        x = rng.integers(0, 3, shape).astype(np.float32)
    compare_with_torch(lambda t: max_pool2d(t, kernel, stride, padding, dilation, ceil_mode),
                       lambda t: F.max_pool2d(t, kernel, stride, padding, dilation, ceil_mode), x)
    ours = max_pool2d(cnnkit.tensor(x), kernel, stride, padding, dilation, ceil_mode, return_indices=True)[1]
    theirs = F.max_pool2d(torch_tensor(x), kernel, stride, padding, dilation, ceil_mode, return_indices=True)[1]
    assert ours.dtype == np.int64
    np.testing.assert_array_equal(ours._data, theirs.numpy())


def torch_tensor(x: np.ndarray):
    import torch

    return torch.tensor(x)


def test_max_pool2d_tie_goes_to_first_maximum_in_row_major_order():
    x = cnnkit.tensor(np.array([[[[1.0, 2.0, 0.0, 0.0],
                                  [2.0, 2.0, 0.0, 0.0]]]]), requires_grad=True)
    out, index = max_pool2d(x, 2, return_indices=True)
    out.sum().backward()
    np.testing.assert_array_equal(out._data, [[[[2.0, 0.0]]]])
    np.testing.assert_array_equal(index._data, [[[[1, 2]]]])  # flat h·W + w of the first maximum
    np.testing.assert_array_equal(x.grad._data, [[[[0, 1, 1, 0], [0, 0, 0, 0]]]])


def test_max_pool2d_tie_across_rows_prefers_earlier_row_over_earlier_column():
    # The window [[0, 5], [5, 0]]: row-major order meets (0, 1) before (1, 0).
    x = cnnkit.tensor(np.array([[[[0.0, 5.0], [5.0, 0.0]]]]), requires_grad=True)
    max_pool2d(x, 2).sum().backward()
    np.testing.assert_array_equal(x.grad._data, [[[[0, 1], [0, 0]]]])


def test_max_pool2d_overlapping_windows_accumulate_gradient():
    x = cnnkit.tensor(np.array([[[[0.0, 9.0, 0.0, 1.0]]]]), requires_grad=True)
    out = max_pool2d(x, (1, 2), stride=1)  # windows [0, 9], [9, 0], [0, 1]
    out.backward(np.array([[[[1.0, 10.0, 100.0]]]], dtype=np.float32))
    np.testing.assert_array_equal(out._data, [[[[9, 9, 1]]]])
    np.testing.assert_array_equal(x.grad._data, [[[[0, 11, 0, 100]]]])


def test_max_pool2d_padding_is_minus_infinity_and_output_sizes_follow_pytorch():
    x = cnnkit.tensor(-np.ones((1, 1, 6, 6), dtype=np.float32))
    assert max_pool2d(x, 2, 2, 1).shape == (1, 1, 4, 4)
    assert np.all(max_pool2d(x, 2, 2, 1)._data == -1)  # padding never wins over a real −1
    assert max_pool2d(x, 3, 2, 0, ceil_mode=False).shape == (1, 1, 2, 2)
    assert max_pool2d(x, 3, 2, 0, ceil_mode=True).shape == (1, 1, 3, 3)  # last window starts inside
    assert max_pool2d(x, 2, 2, 1, ceil_mode=True).shape == (1, 1, 4, 4)  # would start in right padding
    assert max_pool2d(cnnkit.tensor(np.ones((1, 1, 5, 5))), 6, ceil_mode=True).shape == (1, 1, 1, 1)


def test_max_pool2d_all_minus_infinity_window_routes_to_first_real_cell():
    x = cnnkit.tensor(np.full((1, 1, 2, 2), -np.inf, dtype=np.float32), requires_grad=True)
    out, index = max_pool2d(x, 2, 1, 1, return_indices=True)
    out.sum().backward()
    np.testing.assert_array_equal(index._data[0, 0], [[0, 0, 1], [0, 0, 1], [2, 2, 3]])
    np.testing.assert_array_equal(x.grad._data[0, 0], [[4, 2], [2, 1]])


def test_max_pool2d_unbatched_input_and_dtypes():
    rng = np.random.default_rng(3)
    x = distinct(rng, (3, 6, 5))
    batched = max_pool2d(cnnkit.tensor(x[None]), 2)
    unbatched, index = max_pool2d(cnnkit.tensor(x), 2, return_indices=True)
    assert unbatched.shape == (3, 3, 2) and index.shape == (3, 3, 2)
    np.testing.assert_array_equal(unbatched._data, batched._data[0])
    check_gradients(lambda t: max_pool2d(t, 2, 1, 1), x)
    assert max_pool2d(cnnkit.tensor(x.astype(np.float32)), 2).dtype == np.float32
    assert max_pool2d(cnnkit.tensor(x, dtype=np.float64), 2).dtype == np.float64


def test_max_pool2d_empty_batch():
    out = max_pool2d(cnnkit.tensor(np.zeros((0, 2, 4, 4), dtype=np.float32)), 2)
    assert out.shape == (0, 2, 2, 2)


# ---------------------------------------------------------------------------------------- avg_pool2d


@pytest.mark.parametrize("kernel,stride,padding,ceil_mode", AVG_CONFIGS)
@pytest.mark.parametrize("count_include_pad,divisor_override", [(True, None), (False, None), (True, 5)])
def test_avg_pool2d_matches_finite_differences(kernel, stride, padding, ceil_mode, count_include_pad,
                                               divisor_override):
    x = np.random.default_rng(1).standard_normal((2, 2, 5, 7))
    check_gradients(lambda t: avg_pool2d(t, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override),
                    x)


@requires_torch
@pytest.mark.parametrize("kernel,stride,padding,ceil_mode", AVG_CONFIGS)
@pytest.mark.parametrize("count_include_pad,divisor_override", [(True, None), (False, None), (False, 3)])
@pytest.mark.parametrize("shape", [(2, 3, 7, 6), (1, 1, 5, 9)])
def test_avg_pool2d_matches_torch(kernel, stride, padding, ceil_mode, count_include_pad, divisor_override, shape):
    import torch.nn.functional as F

    x = np.random.default_rng(2).standard_normal(shape).astype(np.float32)
    compare_with_torch(lambda t: avg_pool2d(t, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override),
                       lambda t: F.avg_pool2d(t, kernel, stride, padding, ceil_mode, count_include_pad,
                                              divisor_override), x)


def test_avg_pool2d_divisor_rules_by_hand():
    x = cnnkit.tensor(np.ones((1, 1, 3, 3), dtype=np.float32))
    # padding 1, kernel 2, stride 2: windows at rows/cols −1..0 and 1..2
    np.testing.assert_allclose(avg_pool2d(x, 2, 2, 1, count_include_pad=True)._data[0, 0], [[0.25, 0.5], [0.5, 1]])
    np.testing.assert_allclose(avg_pool2d(x, 2, 2, 1, count_include_pad=False)._data[0, 0], [[1, 1], [1, 1]])
    np.testing.assert_allclose(avg_pool2d(x, 2, 2, 1, divisor_override=2)._data[0, 0], [[0.5, 1], [1, 2]])
    # ceil_mode: the window at rows 2..3 of a 3-row input (no padding) is clipped to one row, divisor 2·2 → 1·2
    np.testing.assert_allclose(avg_pool2d(x, 2, 2, 0, ceil_mode=True)._data[0, 0], [[1, 1], [1, 1]])
    # ceil_mode with padding: the last window runs past the padded edge; include_pad counts padding, not beyond
    y = cnnkit.tensor(np.ones((1, 1, 4, 4), dtype=np.float32))
    np.testing.assert_allclose(avg_pool2d(y, 3, 2, 1, ceil_mode=True)._data[0, 0, 0], [4 / 9, 6 / 9, 2 / 6])


def test_avg_pool2d_keeps_dtype_and_accepts_unbatched():
    x = np.random.default_rng(4).standard_normal((2, 4, 4))
    assert avg_pool2d(cnnkit.tensor(x.astype(np.float32)), 2).dtype == np.float32
    out = avg_pool2d(cnnkit.tensor(x, dtype=np.float64), 2)
    assert out.dtype == np.float64 and out.shape == (2, 2, 2)
    np.testing.assert_allclose(out._data, x.reshape(2, 2, 2, 2, 2).mean(axis=(2, 4)))
    check_gradients(lambda t: avg_pool2d(t, 3, 1, 1, count_include_pad=False), x)


# ---------------------------------------------------------------------------------------- adaptive pools

ADAPTIVE_CASES = [  # (input H, W, output_size): divisible, non-divisible, None, 1, larger than input
    (6, 6, 3), (6, 4, (2, 2)), (5, 7, 3), (5, 7, (2, 4)), (7, 5, (None, 2)), (5, 5, 1), (4, 6, (1, 1)),
    (3, 2, 4), (5, 4, (3, None)), (7, 7, 7), (6, 5, (2, 1)),
]


@pytest.mark.parametrize("h,w,size", ADAPTIVE_CASES)
def test_adaptive_pools_match_finite_differences(h, w, size):
    rng = np.random.default_rng(5)
    check_gradients(lambda t: adaptive_avg_pool2d(t, size), rng.standard_normal((2, 2, h, w)))
    check_gradients(lambda t: adaptive_max_pool2d(t, size), distinct(rng, (2, 2, h, w)))


@requires_torch
@pytest.mark.parametrize("h,w,size", ADAPTIVE_CASES)
@pytest.mark.parametrize("values", ["normal", "relu"])
def test_adaptive_pools_match_torch(h, w, size, values):
    import torch.nn.functional as F

    x = np.random.default_rng(6).standard_normal((2, 3, h, w)).astype(np.float32)
    if values == "relu":
        x = np.maximum(x, 0)
    compare_with_torch(lambda t: adaptive_avg_pool2d(t, size), lambda t: F.adaptive_avg_pool2d(t, size), x)
    compare_with_torch(lambda t: adaptive_max_pool2d(t, size), lambda t: F.adaptive_max_pool2d(t, size), x)
    ours = adaptive_max_pool2d(cnnkit.tensor(x), size, return_indices=True)[1]
    theirs = F.adaptive_max_pool2d(torch_tensor(x), size, return_indices=True)[1]
    assert ours.dtype == np.int64
    np.testing.assert_array_equal(ours._data, theirs.numpy())


def test_adaptive_bins_by_hand():
    # H = 5 into 3 bins: [0, 2), [1, 4), [3, 5)
    x = cnnkit.tensor(np.arange(5, dtype=np.float32).reshape(1, 1, 5, 1), requires_grad=True)
    avg = adaptive_avg_pool2d(x, (3, 1))
    np.testing.assert_allclose(avg._data.ravel(), [0.5, 2.0, 3.5])
    avg.sum().backward()
    np.testing.assert_allclose(x.grad._data.ravel(), [0.5, 0.5 + 1 / 3, 1 / 3, 1 / 3 + 0.5, 0.5], rtol=1e-6)
    out, index = adaptive_max_pool2d(cnnkit.tensor(np.array([[[[3.0, 3.0, 1.0, 3.0, 0.0]]]])), (1, 3), True)
    np.testing.assert_array_equal(out._data.ravel(), [3, 3, 3])
    np.testing.assert_array_equal(index._data.ravel(), [0, 1, 3])  # first maximum of each bin


def test_adaptive_pools_output_size_one_is_plain_mean_and_max():
    x = np.random.default_rng(7).standard_normal((2, 3, 5, 4)).astype(np.float32)
    np.testing.assert_allclose(adaptive_avg_pool2d(cnnkit.tensor(x), 1)._data, x.mean(axis=(2, 3), keepdims=True),
                               rtol=1e-6)
    np.testing.assert_array_equal(adaptive_max_pool2d(cnnkit.tensor(x), 1)._data, x.max(axis=(2, 3), keepdims=True))
    unbatched, index = adaptive_max_pool2d(cnnkit.tensor(x[0]), (1, 1), return_indices=True)
    assert unbatched.shape == (3, 1, 1)
    np.testing.assert_array_equal(index._data.ravel(), x[0].reshape(3, -1).argmax(axis=1))


def test_adaptive_pools_zero_output_size_gives_empty_output():
    x = cnnkit.tensor(np.ones((1, 2, 4, 4), dtype=np.float32))
    assert adaptive_avg_pool2d(x, 0).shape == (1, 2, 0, 0)
    assert adaptive_max_pool2d(x, (0, 2)).shape == (1, 2, 0, 2)


# ---------------------------------------------------------------------------------------- errors

ERROR_CASES = [
    (lambda x: max_pool2d(cnnkit.tensor(np.ones((5, 5))), 2), r"max_pool2d: expected a 3-D \(C, H, W\) or 4-D"),
    (lambda x: max_pool2d(cnnkit.tensor(np.ones((1, 1, 3, 5, 5))), 2), r"max_pool2d: .*got shape \(1, 1, 3, 5, 5\)"),
    (lambda x: max_pool2d(x, 3, padding=2), r"max_pool2d: expected padding at most half .* got padding \(2, 2\)"),
    (lambda x: max_pool2d(x, 6), r"max_pool2d: expected the kernel \(6, 6\) .* to fit the padded input \(5, 5\)"),
    (lambda x: max_pool2d(x, 3, dilation=3),
     r"max_pool2d: expected the kernel \(3, 3\) \(spanning \(7, 7\) with dilation \(3, 3\)\)"),
    (lambda x: max_pool2d(x, 2, stride=0), r"max_pool2d: expected stride > 0, got \(0, 0\)"),
    (lambda x: max_pool2d(x, 0), r"max_pool2d: expected kernel_size > 0"),
    (lambda x: max_pool2d(x, 2, dilation=0), r"max_pool2d: expected dilation > 0"),
    (lambda x: max_pool2d(x, 2, padding=-1), r"max_pool2d: expected padding >= 0"),
    (lambda x: max_pool2d(x, (2, 3, 4)), r"max_pool2d: kernel_size must be an int or a pair of ints"),
    (lambda x: max_pool2d(cnnkit.tensor(np.ones((1, 1, 1, 4))), 2, padding=1, dilation=2),
     r"max_pool2d: expected every window to overlap the input"),
    (lambda x: max_pool2d(cnnkit.tensor(np.ones((2, 0, 5, 5))), 2), r"max_pool2d: expected non-zero channels"),
    (lambda x: avg_pool2d(x, 3, padding=2), r"avg_pool2d: expected padding at most half"),
    (lambda x: avg_pool2d(x, 6), r"avg_pool2d: expected the kernel \(6, 6\)"),
    (lambda x: avg_pool2d(x, 2, divisor_override=0), r"avg_pool2d: expected a non-zero divisor_override"),
    (lambda x: avg_pool2d(cnnkit.tensor(np.ones((1, 1, 4, 4), dtype=np.int64)), 2),
     r"avg_pool2d: expected a floating-point input, got dtype int64"),
    (lambda x: adaptive_avg_pool2d(cnnkit.tensor(np.ones((5, 5))), 2), r"adaptive_avg_pool2d: expected a 3-D"),
    (lambda x: adaptive_max_pool2d(x, (2, 3, 4)), r"adaptive_max_pool2d: expected output_size as an int or a pair"),
    (lambda x: adaptive_max_pool2d(x, -1), r"adaptive_max_pool2d: expected output_size of non-negative ints"),
    (lambda x: adaptive_avg_pool2d(x, (2, 1.5)), r"adaptive_avg_pool2d: expected output_size of non-negative ints"),
]


@pytest.mark.parametrize("call,message", ERROR_CASES)
def test_bad_arguments_raise_clear_errors(call, message):
    x = cnnkit.tensor(np.ones((2, 3, 5, 5), dtype=np.float32))
    with pytest.raises((ValueError, TypeError), match=message):
        call(x)


def test_no_graph_is_recorded_under_no_grad():
    x = cnnkit.tensor(np.random.default_rng(8).standard_normal((1, 1, 4, 4)), requires_grad=True)
    with cnnkit.no_grad():
        assert max_pool2d(x, 2).grad_fn is None
    y = max_pool2d(x, 2)
    assert y.grad_fn is not None and y.requires_grad


@pytest.mark.parametrize("kernel,stride", list(itertools.product([2, 3], [1, 2])))
def test_pool_gradients_sum_exactly_like_a_window_count(kernel, stride):
    # avg_pool2d's backward of an all-ones gradient puts Σ_windows 1/divisor on each input cell.
    x = cnnkit.tensor(np.zeros((1, 1, 6, 6)), requires_grad=True)
    avg_pool2d(x, kernel, stride, divisor_override=1).sum().backward()
    counts = np.zeros((6, 6))
    for i in range(0, 6 - kernel + 1, stride):
        for j in range(0, 6 - kernel + 1, stride):
            counts[i:i + kernel, j:j + kernel] += 1
    np.testing.assert_array_equal(x.grad._data[0, 0], counts)

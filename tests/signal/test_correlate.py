"""correlate2d / convolve2d against SciPy (every mode, odd and even kernels), the flip relation, and errors."""

from __future__ import annotations

import numpy as np
import pytest

import cnnkit
from cnnkit.signal import convolve2d, correlate2d

MODES = ["valid", "same", "full"]
# (image shape, kernel shape): odd, even and mixed kernels, non-square images, a kernel as large as the image
SHAPES = [((6, 7), (3, 3)), ((6, 7), (2, 2)), ((5, 5), (4, 4)), ((7, 5), (2, 3)), ((5, 8), (5, 1)), ((4, 6), (1, 4)),
          ((3, 3), (3, 3)), ((1, 5), (1, 2)), ((5, 4), (1, 1))]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("x_shape", "h_shape"), SHAPES)
def test_matches_scipy(x_shape, h_shape, mode, rng):
    signal = pytest.importorskip("scipy.signal")
    x, h = rng.standard_normal(x_shape), rng.standard_normal(h_shape)
    np.testing.assert_allclose(correlate2d(x, h, mode), signal.correlate2d(x, h, mode), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(convolve2d(x, h, mode), signal.convolve2d(x, h, mode), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("mode", ["same", "full"])
def test_kernel_larger_than_image_matches_scipy(mode, rng):
    signal = pytest.importorskip("scipy.signal")
    x, h = rng.standard_normal((3, 4)), rng.standard_normal((6, 5))
    np.testing.assert_allclose(correlate2d(x, h, mode), signal.correlate2d(x, h, mode), rtol=1e-12)
    np.testing.assert_allclose(convolve2d(x, h, mode), signal.convolve2d(x, h, mode), rtol=1e-12)


def test_valid_mode_swaps_a_larger_kernel_like_scipy(rng):
    signal = pytest.importorskip("scipy.signal")
    small, large = rng.standard_normal((2, 3)), rng.standard_normal((5, 6))
    np.testing.assert_allclose(correlate2d(small, large), signal.correlate2d(small, large, "valid"), rtol=1e-12)
    np.testing.assert_allclose(convolve2d(small, large), signal.convolve2d(small, large, "valid"), rtol=1e-12)
    # correlation is not symmetric: swapping the operands reverses the result
    np.testing.assert_allclose(correlate2d(small, large), correlate2d(large, small)[::-1, ::-1], rtol=1e-12)


@pytest.mark.parametrize("mode", MODES)
def test_complex_inputs_match_scipy(mode, rng):
    signal = pytest.importorskip("scipy.signal")
    x = rng.standard_normal((5, 6)) + 1j * rng.standard_normal((5, 6))
    h = rng.standard_normal((2, 3)) + 1j * rng.standard_normal((2, 3))
    np.testing.assert_allclose(correlate2d(x, h, mode), signal.correlate2d(x, h, mode), rtol=1e-12)
    np.testing.assert_allclose(convolve2d(x, h, mode), signal.convolve2d(x, h, mode), rtol=1e-12)


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
def test_convolution_is_correlation_with_the_flipped_kernel(k, rng):
    x, h = rng.standard_normal((7, 8)), rng.standard_normal((k, k + 1))
    flipped = h[::-1, ::-1]
    for mode in ("valid", "full"):
        np.testing.assert_allclose(convolve2d(x, h, mode), correlate2d(x, flipped, mode), rtol=1e-12)
    # 'same' keeps the kernel element ((k − 1) // 2, …) as given over each pixel; flipping moves that element
    # by one pixel when the size is even, so the two 'same' windows are cut one step apart from 'full'.
    full = correlate2d(x, flipped, "full")
    rows, cols = (k - 1) // 2, k // 2
    np.testing.assert_allclose(convolve2d(x, h, "same"), full[rows : rows + 7, cols : cols + 8], rtol=1e-12)


def test_default_mode_is_valid(rng):
    # unlike SciPy, whose default is 'full'
    x, h = rng.standard_normal((5, 6)), rng.standard_normal((2, 3))
    assert correlate2d(x, h).shape == convolve2d(x, h).shape == (4, 4)


def test_known_values():
    x = np.arange(9.0).reshape(3, 3)
    h = np.array([[1.0, 0.0], [0.0, -1.0]])
    # correlation: x[i, j] − x[i + 1, j + 1]; convolution flips h, giving x[i + 1, j + 1] − x[i, j]
    np.testing.assert_array_equal(correlate2d(x, h), [[-4.0, -4.0], [-4.0, -4.0]])
    np.testing.assert_array_equal(convolve2d(x, h), [[4.0, 4.0], [4.0, 4.0]])
    # a one-hot kernel shifts the image; 'full' of a 1×1 kernel is the image times the weight
    np.testing.assert_array_equal(convolve2d(x, [[2.0]], "full"), 2 * x)


def test_dtypes_and_tensor_inputs(rng):
    x32, h32 = rng.standard_normal((5, 5)).astype(np.float32), rng.standard_normal((3, 3)).astype(np.float32)
    assert correlate2d(x32, h32, "same").dtype == np.float32
    assert convolve2d(x32, h32.astype(np.float64)).dtype == np.float64
    ints = correlate2d(np.arange(16).reshape(4, 4), np.ones((2, 2), dtype=np.int64))
    assert ints.dtype == np.int64 and ints[0, 0] == 0 + 1 + 4 + 5
    out = convolve2d(cnnkit.tensor(x32), cnnkit.tensor(h32), "full")
    assert isinstance(out, np.ndarray)
    np.testing.assert_allclose(out, convolve2d(x32, h32, "full"), rtol=1e-6)


def test_matches_cnnkit_conv2d(rng):
    # conv2d of one image with one channel and one filter is correlate2d in 'valid' mode
    from cnnkit.ops.conv import conv2d

    x, h = rng.standard_normal((9, 8)), rng.standard_normal((3, 2))
    y = conv2d(cnnkit.tensor(x[None, None], dtype=np.float64), cnnkit.tensor(h[None, None], dtype=np.float64))
    np.testing.assert_allclose(y._data[0, 0], correlate2d(x, h), rtol=1e-12)


@pytest.mark.parametrize("fn", [correlate2d, convolve2d])
def test_errors(fn):
    name = fn.__name__
    with pytest.raises(ValueError, match=rf"{name}: expected x to be a non-empty 2-D array, got shape \(3,\)"):
        fn(np.ones(3), np.ones((2, 2)))
    with pytest.raises(ValueError, match=rf"{name}: expected h to be a non-empty 2-D array, got shape \(1, 2, 2\)"):
        fn(np.ones((3, 3)), np.ones((1, 2, 2)))
    with pytest.raises(ValueError, match=rf"{name}: expected x to be a non-empty 2-D array, got shape \(0, 3\)"):
        fn(np.ones((0, 3)), np.ones((2, 2)))
    with pytest.raises(ValueError, match=rf"{name}: expected mode 'valid', 'same' or 'full', got 'circular'"):
        fn(np.ones((3, 3)), np.ones((2, 2)), "circular")
    with pytest.raises(ValueError, match=rf"{name}: in mode 'valid' one input must be at least as large as the other "
                                         r"in every dimension, got shapes \(3, 8\) and \(8, 3\)"):
        fn(np.ones((3, 8)), np.ones((8, 3)))

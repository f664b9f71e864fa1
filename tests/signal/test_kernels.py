"""The classic kernels: their values, what they do to known images, and apply_kernel against SciPy."""

from __future__ import annotations

import numpy as np
import pytest

from cnnkit.signal import kernels
from cnnkit.signal.kernels import KERNELS, apply_kernel


def test_values_dtype_and_read_only():
    assert set(KERNELS) == {"laplacian", "sharpen", "gaussian_blur", "vertical_edge", "horizontal_edge"}
    np.testing.assert_array_equal(kernels.gaussian_blur * 16, [[1, 2, 1], [2, 4, 2], [1, 2, 1]])
    np.testing.assert_array_equal(kernels.sharpen - kernels.laplacian, np.eye(3)[1][:, None] * np.eye(3)[1])
    np.testing.assert_array_equal(kernels.horizontal_edge, kernels.vertical_edge.T)
    for name, kernel in KERNELS.items():
        assert kernel.dtype == np.float32 and kernel.shape == (3, 3), name
        with pytest.raises(ValueError):
            kernel[0, 0] = 7
    assert kernels.gaussian_blur.sum() == pytest.approx(1.0) and kernels.laplacian.sum() == 0


@pytest.mark.parametrize("name", list(KERNELS))
def test_apply_kernel_equals_scipy_correlate2d(name, rng):
    signal = pytest.importorskip("scipy.signal")
    image = rng.random((2, 9, 11)).astype(np.float32)
    out = apply_kernel(image, name)
    assert out.shape == image.shape and out.dtype == np.float32
    for c in range(2):
        expected = signal.correlate2d(image[c], KERNELS[name], mode="same", boundary="fill", fillvalue=0)
        np.testing.assert_allclose(out[c], expected, rtol=1e-6, atol=1e-6)


def test_edges_are_found_where_they_are():
    image = np.zeros((8, 8), np.float32)
    image[:, 4:] = 1.0  # a vertical edge between columns 3 and 4, brighter to the right
    vertical = apply_kernel(image, "vertical_edge")[1:-1]  # rows 1..6: away from the zero fill above and below
    np.testing.assert_array_equal(vertical[:, 3:5], 4.0)  # Σ (1 + 2 + 1) across the step
    np.testing.assert_array_equal(vertical[:, :3], 0.0)
    np.testing.assert_array_equal(vertical[:, 5:7], 0.0)
    np.testing.assert_array_equal(apply_kernel(image, "horizontal_edge")[1:-1, 1:-1], 0.0)
    laplace = apply_kernel(image, "laplacian")[1:-1, 1:-1]  # columns 1..6
    np.testing.assert_array_equal(laplace[:, 2], -1.0)  # dark side of the edge
    np.testing.assert_array_equal(laplace[:, 3], 1.0)  # bright side
    np.testing.assert_array_equal(laplace[:, [0, 1, 4]], 0.0)  # flat regions


def test_blur_keeps_a_flat_image_and_sharpen_keeps_flat_regions():
    flat = np.full((6, 6), 0.5, np.float32)
    np.testing.assert_allclose(apply_kernel(flat, "gaussian_blur")[1:-1, 1:-1], 0.5)
    np.testing.assert_allclose(apply_kernel(flat, "sharpen")[1:-1, 1:-1], 0.5)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="unknown kernel 'emboss'; known kernels: laplacian, sharpen"):
        apply_kernel(np.zeros((4, 4)), "emboss")
    with pytest.raises(ValueError, match=r"expected an image of shape \(H, W\) or \(C, H, W\), got shape \(4,\)"):
        apply_kernel(np.zeros(4), "sharpen")

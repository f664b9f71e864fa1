"""Winograd F(2×2, 3×3): the transforms against a direct sum, conv2d's Winograd branches against PyTorch and finite
differences, and which layers take it."""

from __future__ import annotations

import numpy as np
import pytest

from cnnkit.ops import winograd
from cnnkit.ops.conv import conv2d
from cnnkit.ops.im2col import Window
from tests.gradcheck import check_gradients, compare_with_torch, requires_torch


@pytest.fixture(autouse=True)
def tiny_layers_take_winograd(monkeypatch):
    """The tests' layers are far below the work from which conv2d chooses Winograd: let them take it."""
    monkeypatch.setattr(winograd, "MIN_FLOPS", 0)


def _direct(x: np.ndarray, w: np.ndarray, b: np.ndarray, padding: tuple[int, int, int, int]) -> np.ndarray:
    """y[n, f, i, j] = b[f] + Σ_c Σ_k Σ_l w[f, c, k, l] · x_padded[n, c, i + k, j + l], in float64."""
    top, bottom, left, right = padding
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (top, bottom), (left, right)))
    oh, ow = xp.shape[2] - 2, xp.shape[3] - 2
    y = np.zeros((x.shape[0], w.shape[0], oh, ow)) + b.reshape(-1, 1, 1)
    for k in range(3):
        for l in range(3):  # noqa: E741 - the kernel column, as in the formulas
            y += np.einsum("fc,ncij->nfij", w[:, :, k, l], xp[:, :, k : k + oh, l : l + ow])
    return y


@pytest.mark.parametrize(("shape", "filters", "padding"), [
    ((3, 8, 9, 7), 12, (1, 1, 1, 1)),  # odd output sizes: the last tile row and column are half outside
    ((2, 9, 8, 8), 8, (0, 0, 0, 0)),
    ((2, 8, 5, 6), 10, (2, 0, 1, 2)),  # unequal paddings
    ((1, 8, 3, 3), 8, (0, 0, 0, 0)),  # a single 1×1 output: one tile, three quarters outside
    ((40, 16, 16, 16), 16, (1, 1, 1, 1)),  # several chunks
], ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_winograd_convolution_equals_the_direct_sum(shape, filters, padding, dtype, rng):
    x = rng.standard_normal(shape).astype(dtype)
    w = rng.standard_normal((filters, shape[1], 3, 3)).astype(dtype)
    b = rng.standard_normal(filters).astype(dtype)
    out_hw = (shape[2] + padding[0] + padding[1] - 2, shape[3] + padding[2] + padding[3] - 2)
    y = winograd.conv2d_winograd(x, winograd.transform_weight(w), b, padding, out_hw)
    assert y.dtype == dtype and y.shape == (shape[0], filters) + out_hw
    tolerance = 2e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(y, _direct(x, w, b, padding), rtol=tolerance, atol=tolerance * np.sqrt(shape[1] * 9))


def test_weight_transform_is_g_w_gt(rng):
    w = rng.standard_normal((2, 3, 3, 3))
    g = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]])
    u = winograd.transform_weight(w).reshape(4, 4, 2, 3)
    np.testing.assert_allclose(u[..., 1, 2], g @ w[1, 2] @ g.T, rtol=1e-14)


@pytest.mark.parametrize("tiles", [1, 15, 16, 64, 256, 512, 1000])
def test_transform_rows_are_an_odd_number_of_cache_lines(tiles):
    row = winograd._row_length(tiles)
    assert row >= tiles and row % 16 == 0 and (row // 16) % 2 == 1


@pytest.mark.parametrize(("kernel", "stride", "dilation", "groups", "channels", "expected"), [
    ((3, 3), (1, 1), (1, 1), 1, (8, 8), True),
    ((3, 3), (1, 1), (1, 1), 1, (3, 16), False),  # a stem: 16 products of inner dimension 3
    ((3, 3), (2, 2), (1, 1), 1, (16, 16), False),
    ((3, 3), (1, 1), (2, 2), 1, (16, 16), False),
    ((3, 3), (1, 1), (1, 1), 2, (16, 16), False),
    ((5, 5), (1, 1), (1, 1), 1, (16, 16), False),
])
def test_winograd_takes_stride_1_3x3_single_group_layers_of_8_channels_or_more(kernel, stride, dilation, groups,
                                                                              channels, expected):
    window = Window(kernel, stride, dilation, (1, 1, 1, 1))
    assert winograd.eligible(window, kernel, groups, *channels, 1e9) is expected


def test_winograd_waits_for_enough_work(monkeypatch):
    monkeypatch.setattr(winograd, "MIN_FLOPS", 20e6)
    window = Window((3, 3), padding=(1, 1, 1, 1))
    assert not winograd.eligible(window, (3, 3), 1, 64, 64, 14e6)  # one 64→64 image at 14×14
    assert winograd.eligible(window, (3, 3), 1, 64, 64, 2 * 14e6)


# conv2d's Winograd branches: the forward, and dX as the correlation of dY with the turned kernel (padding 2 − p)
CASES = [
    (5, (8, 9, 7), (12, 8, 3, 3), {"padding": 1}),
    (3, (10, 6, 8), (8, 10, 3, 3), {}),  # dX: dY padded by 2
    (3, (8, 6, 5), (9, 8, 3, 3), {"padding": 2}),  # dX: dY not padded
    (4, (8, 7, 7), (8, 8, 3, 3), {"padding": (1, 0)}),
    (2, (8, 6, 6), (8, 8, 3, 3), {"padding": (3, 1)}),  # forward by Winograd, dX by the scatter (3 > 2)
    (33, (16, 12, 12), (16, 16, 3, 3), {"padding": "same"}),  # several chunks
]


@requires_torch
@pytest.mark.parametrize(("n", "chw", "w_shape", "kwargs"), CASES, ids=range(len(CASES)))
def test_conv2d_by_winograd_matches_torch(n, chw, w_shape, kwargs, rng):
    import torch

    x, w = rng.standard_normal((n,) + chw).astype(np.float32), rng.standard_normal(w_shape).astype(np.float32)
    b = rng.standard_normal(w_shape[0]).astype(np.float32)
    atol = 1e-5 * max(1.0, np.sqrt(n * chw[1] * chw[2] / 64)) * np.sqrt(chw[0])
    compare_with_torch(lambda x, w, b: conv2d(x, w, b, **kwargs),
                       lambda x, w, b: torch.nn.functional.conv2d(x, w, b, **kwargs), x, w, b, atol=atol)


@pytest.mark.parametrize("padding", [0, 1, 2])
def test_conv2d_by_winograd_gradients_equal_finite_differences(padding, rng):
    x, w, b = rng.standard_normal((2, 8, 4, 5)), rng.standard_normal((8, 8, 3, 3)), rng.standard_normal(8)
    assert winograd.eligible(Window((3, 3)), (3, 3), 1, 8, 8, 1.0)
    check_gradients(lambda x, w, b: conv2d(x, w, b, padding=padding), x, w, b)


def test_conv2d_takes_the_winograd_branch_for_an_eligible_layer(monkeypatch, rng):
    calls = []
    original = winograd.conv2d_winograd
    monkeypatch.setattr(winograd, "conv2d_winograd", lambda *a: calls.append(a[3]) or original(*a))
    import cnnkit

    x = cnnkit.tensor(rng.standard_normal((2, 8, 6, 6)).astype(np.float32), requires_grad=True)
    w = cnnkit.tensor(rng.standard_normal((8, 8, 3, 3)).astype(np.float32), requires_grad=True)
    conv2d(x, w, padding=1).sum().backward()
    assert calls == [(1, 1, 1, 1), (1, 1, 1, 1)]  # the forward, then dX (padding 2 − 1)


@pytest.mark.parametrize(("shape", "filters", "padding"), [
    ((3, 8, 9, 7), 12, (1, 1, 1, 1)),
    ((2, 9, 8, 8), 8, (0, 0, 0, 0)),
    ((2, 8, 5, 6), 10, (2, 0, 1, 2)),
    ((40, 16, 16, 16), 16, (1, 1, 1, 1)),
], ids=str)
def test_winograd_weight_gradient_equals_the_direct_sum(shape, filters, padding, rng):
    """dW[f, c, k, l] = Σ_n Σ_i Σ_j dY[n, f, i, j] · x_padded[n, c, i + k, j + l]."""
    x = rng.standard_normal(shape).astype(np.float32)
    top, bottom, left, right = padding
    out_hw = (shape[2] + top + bottom - 2, shape[3] + left + right - 2)
    g = rng.standard_normal((shape[0], filters) + out_hw).astype(np.float32)
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (top, bottom), (left, right)))
    expected = np.empty((filters, shape[1], 3, 3))
    for k in range(3):
        for l in range(3):  # noqa: E741
            expected[:, :, k, l] = np.einsum("nfij,ncij->fc", g, xp[:, :, k : k + out_hw[0], l : l + out_hw[1]])
    dw = winograd.weight_grad_winograd(x, g, padding)
    assert dw.dtype == np.float32
    scale = np.sqrt(shape[0] * out_hw[0] * out_hw[1])
    np.testing.assert_allclose(dw, expected, rtol=1e-4, atol=2e-6 * scale)

"""Tests for cnnkit.ops.resample.interpolate: nearest, nearest-exact, bilinear (align_corners), area."""

from __future__ import annotations

import numpy as np
import pytest

import cnnkit
from cnnkit.ops.resample import interpolate
from tests.gradcheck import check_gradients, compare_with_torch, requires_torch

# size or scale_factor forms: up- and down-scaling, integer and fractional, per-axis, identity along one axis
RESIZES = [
    dict(size=(10, 14)), dict(size=(3, 4)), dict(size=9), dict(size=(5, 7)), dict(size=(1, 1)), dict(size=(7, 3)),
    dict(scale_factor=2), dict(scale_factor=3.0), dict(scale_factor=0.5), dict(scale_factor=1.7),
    dict(scale_factor=(1.3, 2.6)), dict(scale_factor=(1.1, 0.75)), dict(scale_factor=1 / 3 + 0.5),
    dict(scale_factor=1.7, recompute_scale_factor=True), dict(scale_factor=(2.5, 0.6), recompute_scale_factor=True),
]
MODES = [("nearest", None), ("nearest-exact", None), ("bilinear", None), ("bilinear", True), ("bilinear", False),
         ("area", None)]


@pytest.mark.parametrize("mode,align_corners", MODES)
@pytest.mark.parametrize("resize", RESIZES[::2])
def test_interpolate_matches_finite_differences(mode, align_corners, resize):
    x = np.random.default_rng(0).standard_normal((2, 2, 5, 7))
    check_gradients(lambda t: interpolate(t, mode=mode, align_corners=align_corners, **resize), x)


@requires_torch
@pytest.mark.parametrize("mode,align_corners", MODES)
@pytest.mark.parametrize("resize", RESIZES)
@pytest.mark.parametrize("shape", [(2, 3, 5, 7), (1, 2, 4, 4), (1, 1, 3, 10)])
def test_interpolate_matches_torch(mode, align_corners, resize, shape):
    import torch.nn.functional as F

    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    compare_with_torch(lambda t: interpolate(t, mode=mode, align_corners=align_corners, **resize),
                       lambda t: F.interpolate(t, mode=mode, align_corners=align_corners, **resize), x)


@requires_torch
@pytest.mark.parametrize("mode", ["nearest", "nearest-exact"])
def test_nearest_indices_equal_torch_exactly_over_many_sizes(mode):
    import torch
    import torch.nn.functional as F

    rng = np.random.default_rng(2)
    for _ in range(60):
        h, w = (int(v) for v in rng.integers(1, 12, 2))
        x = rng.standard_normal((1, 1, h, w)).astype(np.float32)
        if rng.random() < 0.5:
            kwargs = dict(size=tuple(int(v) for v in rng.integers(1, 30, 2)))
        else:
            kwargs = dict(scale_factor=float(rng.choice([0.3, 0.7, 1.25, 1.5, 2.0, 2.2, 3.0, 1 / 3, 2 / 3])))
        try:
            expected = F.interpolate(torch.tensor(x), mode=mode, **kwargs).numpy()
        except RuntimeError:  # an output size of 0: we raise ValueError there (tested below)
            continue
        np.testing.assert_array_equal(interpolate(cnnkit.tensor(x), mode=mode, **kwargs)._data, expected,
                                      err_msg=f"{h}x{w} {kwargs}")


def test_nearest_by_hand():
    x = cnnkit.tensor(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]), requires_grad=True)
    up = interpolate(x, scale_factor=2)
    np.testing.assert_array_equal(up._data[0, 0], [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]])
    up.backward(np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4))
    np.testing.assert_array_equal(x.grad._data[0, 0], [[0 + 1 + 4 + 5, 2 + 3 + 6 + 7],
                                                      [8 + 9 + 12 + 13, 10 + 11 + 14 + 15]])
    row = cnnkit.tensor(np.arange(5, dtype=np.float32).reshape(1, 1, 1, 5), requires_grad=True)
    down = interpolate(row, size=(1, 3))  # source ⌊dst·5/3⌋ = 0, 1, 3
    np.testing.assert_array_equal(down._data.ravel(), [0, 1, 3])
    down.backward(np.array([[[[1.0, 2.0, 3.0]]]], dtype=np.float32))
    np.testing.assert_array_equal(row.grad._data.ravel(), [1, 2, 0, 3, 0])  # unread cells get no gradient


def test_bilinear_by_hand():
    x = cnnkit.tensor(np.array([[[[0.0, 4.0]]]]))
    # align_corners=False, 2 → 4: src = (dst + ½)/2 − ½ = −¼ (clamped to 0), ¼, ¾, 1¼ (i0 = 1 at the edge)
    np.testing.assert_allclose(interpolate(x, size=(1, 4), mode="bilinear")._data.ravel(), [0, 1, 3, 4])
    # align_corners=True, 2 → 5: src = dst·(2−1)/(5−1)
    np.testing.assert_allclose(interpolate(x, size=(1, 5), mode="bilinear", align_corners=True)._data.ravel(),
                               [0, 1, 2, 3, 4])


def test_interpolate_keeps_dtype_and_integer_upscale_is_exact():
    x = np.random.default_rng(3).standard_normal((2, 3, 4, 5))
    for mode in ["nearest", "bilinear", "nearest-exact", "area"]:
        assert interpolate(cnnkit.tensor(x.astype(np.float32)), scale_factor=2, mode=mode).dtype == np.float32
        assert interpolate(cnnkit.tensor(x, dtype=np.float64), scale_factor=2, mode=mode).dtype == np.float64
    up = interpolate(cnnkit.tensor(x.astype(np.float32)), scale_factor=(3, 2))
    np.testing.assert_array_equal(up._data, np.repeat(np.repeat(x.astype(np.float32), 3, axis=2), 2, axis=3))
    check_gradients(lambda t: interpolate(t, scale_factor=(3, 2)), x[:1, :1])


def test_bilinear_same_size_is_identity_even_with_a_scale_factor():
    x = np.random.default_rng(4).standard_normal((1, 2, 5, 7)).astype(np.float32)
    out = interpolate(cnnkit.tensor(x), scale_factor=1.1, mode="bilinear")  # ⌊5·1.1⌋ = 5, ⌊7·1.1⌋ = 7
    np.testing.assert_array_equal(out._data, x)


ERRORS = [
    (lambda x: interpolate(x), r"interpolate: expected either size or scale_factor, got neither"),
    (lambda x: interpolate(x, size=3, scale_factor=2), r"interpolate: expected only one of size or scale_factor"),
    (lambda x: interpolate(x, size=3, align_corners=True), r"align_corners can only be set with mode 'bilinear'"),
    (lambda x: interpolate(x, size=3, mode="bicubic"), r"interpolate: expected mode to be one of"),
    (lambda x: interpolate(x, size=(3, 4, 5)), r"interpolate: expected size as a number or a pair"),
    (lambda x: interpolate(x, scale_factor=(2, 2, 2)), r"interpolate: expected scale_factor as a number or a pair"),
    (lambda x: interpolate(x, scale_factor=0.1), r"interpolate: expected output sizes greater than 0, got \(0, 0\)"),
    (lambda x: interpolate(x, size=-2), r"interpolate: expected output sizes greater than 0"),
    (lambda x: interpolate(x, size=(2.5, 3)), r"interpolate: expected size as ints"),
    (lambda x: interpolate(x, size=4, recompute_scale_factor=True), r"recompute_scale_factor is not meaningful"),
    (lambda x: interpolate(x[0], size=3, mode="bilinear"), r"interpolate: expected a 4-D \(N, C, H, W\) input, "
                                                           r"got shape \(3, 5, 7\)"),
    (lambda x: interpolate(cnnkit.tensor(np.ones((1, 1, 2, 2), dtype=np.int64)), size=3),
     r"interpolate: expected a floating-point input, got dtype int64"),
]


@pytest.mark.parametrize("call,message", ERRORS)
def test_bad_arguments_raise_clear_errors(call, message):
    x = cnnkit.tensor(np.ones((2, 3, 5, 7), dtype=np.float32))
    with pytest.raises((ValueError, TypeError), match=message):
        call(x)

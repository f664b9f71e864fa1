"""conv2d and conv_transpose2d: finite differences over a parameter grid, PyTorch on random configs, the gathers and
scatters, errors."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import cnnkit
from cnnkit.ops import conv as conv_module
from cnnkit.ops import im2col as im2col_module
from cnnkit.ops.conv import conv2d, conv_transpose2d
from cnnkit.ops.im2col import Window, scratch
from tests.gradcheck import check_gradients, compare_with_torch, requires_torch

# ----------------------------------------------------------------- finite differences (float64, tiny)
# (input shape, weight shape, keyword arguments)
CONV_GRID = [
    ((2, 2, 5, 5), (3, 2, 3, 3), {}),
    ((1, 2, 6, 7), (2, 2, 3, 3), {"stride": 2}),
    ((1, 1, 7, 8), (2, 1, 2, 3), {"stride": 3, "padding": 1}),
    ((2, 1, 5, 4), (2, 1, 3, 3), {"padding": 2}),
    ((1, 2, 5, 6), (2, 2, 3, 2), {"padding": (2, 0), "stride": (1, 2)}),
    ((1, 1, 7, 7), (2, 1, 3, 3), {"dilation": 2, "padding": 1}),
    ((1, 2, 7, 6), (2, 2, 2, 3), {"dilation": (2, 1), "stride": (2, 1)}),
    ((1, 4, 5, 5), (4, 2, 3, 3), {"groups": 2, "padding": 1}),
    ((2, 3, 5, 6), (3, 1, 3, 3), {"groups": 3, "stride": 2, "padding": 1}),  # depthwise
    ((1, 2, 5, 5), (6, 1, 2, 2), {"groups": 2}),  # depthwise with multiplier 3
    ((2, 4, 9, 8), (8, 1, 3, 3), {"groups": 4, "dilation": (2, 1), "padding": 2, "stride": (1, 2)}),  # one-pass 3×3
    ((1, 2, 5, 6), (2, 2, 2, 2), {"padding": "same"}),  # even kernel: the extra pad goes bottom/right
    ((1, 1, 6, 5), (2, 1, 4, 3), {"padding": "same", "dilation": (1, 2)}),
    ((1, 2, 4, 5), (2, 2, 3, 3), {"padding": "valid"}),
    ((2, 3, 3, 4), (4, 3, 1, 1), {}),  # 1×1: the pointwise scatter, a transposition
    ((1, 2, 5, 5), (3, 2, 1, 1), {"stride": 2, "padding": 1}),
    ((1, 1, 3, 3), (1, 1, 3, 3), {"padding": (0, 1), "dilation": (1, 2)}),
]


def _ids(grid):
    return [f"{x}-{w}-{kw}" for x, w, kw in grid]


@pytest.mark.parametrize(("x_shape", "w_shape", "kwargs"), CONV_GRID, ids=_ids(CONV_GRID))
def test_conv2d_gradients(x_shape, w_shape, kwargs, rng):
    x, w, b = rng.standard_normal(x_shape), rng.standard_normal(w_shape), rng.standard_normal(w_shape[0])
    check_gradients(lambda x, w, b: conv2d(x, w, b, **kwargs), x, w, b)


def test_conv2d_gradients_without_bias(rng):
    x, w = rng.standard_normal((1, 2, 5, 4)), rng.standard_normal((3, 2, 2, 3))
    check_gradients(lambda x, w: conv2d(x, w, stride=(2, 1), padding=1), x, w)


TRANSPOSE_GRID = [
    ((2, 2, 3, 3), (2, 3, 3, 3), {}),
    ((1, 2, 3, 4), (2, 2, 3, 3), {"stride": 2}),
    ((1, 2, 3, 3), (2, 1, 3, 2), {"stride": 2, "padding": 1, "output_padding": 1}),
    ((1, 1, 3, 4), (1, 2, 2, 3), {"stride": (3, 2), "padding": (1, 0), "output_padding": (2, 1)}),
    ((1, 2, 4, 3), (2, 2, 3, 3), {"dilation": 2, "padding": 1}),
    ((1, 1, 3, 3), (1, 1, 2, 2), {"dilation": 2, "output_padding": 1}),  # output_padding < dilation, ≥ stride
    ((1, 4, 3, 3), (4, 1, 3, 3), {"groups": 2, "stride": 2}),
    ((2, 3, 3, 2), (3, 1, 2, 2), {"groups": 3, "padding": (0, 1), "stride": 2}),  # depthwise
    ((1, 2, 4, 4), (2, 3, 1, 1), {}),
    ((1, 2, 3, 3), (2, 2, 1, 1), {"stride": 2, "output_padding": 1}),
]


@pytest.mark.parametrize(("x_shape", "w_shape", "kwargs"), TRANSPOSE_GRID, ids=_ids(TRANSPOSE_GRID))
def test_conv_transpose2d_gradients(x_shape, w_shape, kwargs, rng):
    groups = kwargs.get("groups", 1)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[1] * groups)
    check_gradients(lambda x, w, b: conv_transpose2d(x, w, b, **kwargs), x, w, b)


def test_only_the_needed_gradients_are_computed(rng):
    x = cnnkit.tensor(rng.standard_normal((1, 2, 5, 5)), dtype=np.float64)
    w = cnnkit.tensor(rng.standard_normal((3, 2, 3, 3)), dtype=np.float64, requires_grad=True)
    conv2d(x, w, padding=1).sum().backward()
    assert x.grad is None and w.grad is not None
    # dW of Σy: each weight tap sums the input pixels it reads over every output position
    expected = _naive_im2col(x._data, Window((3, 3), padding=(1, 1, 1, 1))).sum(axis=(0, 2)).reshape(2, 3, 3)
    np.testing.assert_allclose(w.grad._data, np.broadcast_to(expected, (3, 2, 3, 3)), rtol=1e-6)


# ----------------------------------------------------------------- against PyTorch, random configurations
def _conv_config(seed: int) -> tuple[tuple, tuple, dict]:
    r = np.random.default_rng(seed)
    groups = int(r.choice([1, 1, 2, 3]))
    cin = groups * int(r.integers(1, 4))
    cout = groups * int(r.integers(1, 4))
    if seed % 6 == 0:  # depthwise
        groups, cin = cin, cin
        cout = cin * int(r.integers(1, 3))
    kernel = tuple(int(k) for k in r.integers(1, 6, 2))
    stride = tuple(int(s) for s in r.integers(1, 4, 2))
    dilation = tuple(int(d) for d in r.integers(1, 3, 2))
    choice = seed % 4
    if choice == 0 and seed % 8 == 0:
        padding, stride = "same", (1, 1)
    elif choice == 1:
        padding = "valid"
    else:
        padding = tuple(int(p) for p in r.integers(0, 3, 2))
    pads = (0, 0) if isinstance(padding, str) else padding
    spans = [d * (k - 1) + 1 for k, d in zip(kernel, dilation, strict=True)]
    hw = tuple(max(1, s - 2 * p + int(r.integers(0, 7))) for s, p in zip(spans, pads, strict=True))
    x_shape = (int(r.integers(1, 4)), cin) + hw
    w_shape = (cout, cin // groups) + kernel
    kwargs = {"stride": stride if seed % 3 else stride[0], "padding": padding, "dilation": dilation, "groups": groups}
    return x_shape, w_shape, kwargs


@requires_torch
@pytest.mark.filterwarnings("ignore:Using padding='same'")  # torch's note that it pads even kernels by a copy
@pytest.mark.parametrize("seed", range(36))
def test_conv2d_matches_torch(seed):
    import torch

    x_shape, w_shape, kwargs = _conv_config(seed)
    r = np.random.default_rng(100 + seed)
    x, w = r.standard_normal(x_shape).astype(np.float32), r.standard_normal(w_shape).astype(np.float32)
    b = r.standard_normal(w_shape[0]).astype(np.float32)
    compare_with_torch(lambda x, w, b: conv2d(x, w, b, **kwargs),
                       lambda x, w, b: torch.nn.functional.conv2d(x, w, b, **kwargs), x, w, b)


def _transpose_config(seed: int) -> tuple[tuple, tuple, dict]:
    r = np.random.default_rng(1000 + seed)
    groups = int(r.choice([1, 1, 2, 3])) if seed % 6 else 1
    cin = groups * int(r.integers(1, 4))
    cout_per_group = int(r.integers(1, 4))
    if seed % 6 == 0:  # depthwise
        cin = int(r.integers(1, 4))
        groups, cout_per_group = cin, 1
    kernel = tuple(int(k) for k in r.integers(1, 5, 2))
    stride = tuple(int(s) for s in r.integers(1, 4, 2))
    dilation = tuple(int(d) for d in r.integers(1, 3, 2))
    output_padding = tuple(int(r.integers(0, max(s, d))) for s, d in zip(stride, dilation, strict=True))
    hw = tuple(int(h) for h in r.integers(1, 6, 2))
    # the largest padding that keeps the output size positive
    padding = []
    for h, s, k, d, o in zip(hw, stride, kernel, dilation, output_padding, strict=True):
        full = (h - 1) * s + d * (k - 1) + o + 1
        padding.append(int(r.integers(0, (full - 1) // 2 + 1)))
    x_shape = (int(r.integers(1, 4)), cin) + hw
    w_shape = (cin, cout_per_group) + kernel
    kwargs = {"stride": stride, "padding": tuple(padding), "output_padding": output_padding, "groups": groups,
              "dilation": dilation}
    return x_shape, w_shape, kwargs


@requires_torch
@pytest.mark.parametrize("seed", range(36))
def test_conv_transpose2d_matches_torch(seed):
    import torch

    x_shape, w_shape, kwargs = _transpose_config(seed)
    r = np.random.default_rng(200 + seed)
    x, w = r.standard_normal(x_shape).astype(np.float32), r.standard_normal(w_shape).astype(np.float32)
    b = r.standard_normal(w_shape[1] * kwargs["groups"]).astype(np.float32)
    compare_with_torch(lambda x, w, b: conv_transpose2d(x, w, b, **kwargs),
                       lambda x, w, b: torch.nn.functional.conv_transpose2d(x, w, b, **kwargs), x, w, b)


@requires_torch
def test_layer_sized_configs_match_torch(rng):
    import torch

    F = torch.nn.functional
    x = rng.standard_normal((4, 16, 12, 12)).astype(np.float32)
    w = (rng.standard_normal((32, 16, 3, 3)) * 0.1).astype(np.float32)
    b = rng.standard_normal(32).astype(np.float32)
    compare_with_torch(lambda x, w, b: conv2d(x, w, b, padding=1), lambda x, w, b: F.conv2d(x, w, b, padding=1),
                       x, w, b)
    wt = (rng.standard_normal((16, 8, 4, 4)) * 0.1).astype(np.float32)
    compare_with_torch(lambda x, w: conv_transpose2d(x, w, stride=2, padding=1),
                       lambda x, w: F.conv_transpose2d(x, w, stride=2, padding=1), x, wt)


@requires_torch
def test_unbatched_input_matches_torch(rng):
    import torch

    x, w = rng.standard_normal((2, 5, 6)).astype(np.float32), rng.standard_normal((3, 2, 3, 3)).astype(np.float32)
    compare_with_torch(lambda x, w: conv2d(x, w, padding=1), lambda x, w: torch.nn.functional.conv2d(x, w, padding=1),
                       x, w)
    wt = rng.standard_normal((2, 3, 3, 3)).astype(np.float32)
    compare_with_torch(lambda x, w: conv_transpose2d(x, w, stride=2),
                       lambda x, w: torch.nn.functional.conv_transpose2d(x, w, stride=2), x, wt)


# ----------------------------------------------------------------- the batch split (cnnkit.ops.threads)
SPLIT_CASES = [  # (batch, input (C, H, W), weight, kwargs): every branch of the chunked forward and backward
    (9, (3, 7, 9), (5, 3, 3, 3), {"padding": 1}),  # odd sizes, a last chunk shorter than the others
    (5, (4, 9, 8), (6, 4, 3, 3), {"stride": 2, "padding": 1}),
    (6, (2, 11, 10), (3, 2, 3, 2), {"dilation": 2, "padding": (2, 1)}),
    (7, (6, 6, 6), (4, 3, 3, 3), {"groups": 2, "padding": "same"}),
    (8, (8, 5, 5), (6, 8, 1, 1), {}),  # pointwise: no gather, dX is one product per chunk
    (4, (8, 5, 5), (6, 8, 1, 1), {"stride": 2}),  # 1×1 strided: gathered like any window
    (1, (3, 6, 6), (2, 3, 3, 3), {"padding": 1}),  # batch 1: no split
    (130, (1, 12, 12), (6, 1, 5, 5), {}),  # many chunks (dW sums 130·64 terms of size ~1: atol below)
    # dX of a stride-1 convolution (C ≥ F) as a correlation of dY with the turned kernel, or the scatter
    (6, (6, 9, 7), (4, 6, 2, 4), {"padding": "same"}),  # even kernels: unequal paddings, turned unequal too
    (5, (6, 8, 8), (4, 3, 3, 3), {"groups": 2, "dilation": (2, 1), "padding": (2, 0)}),
    (5, (4, 8, 8), (3, 4, 3, 3), {"padding": (3, 1)}),  # padding 3 > k − 1 = 2: the scatter
    (5, (5, 8, 8), (4, 5, 5, 5), {}),  # no padding: dY padded by 4 on every side
    (5, (3, 8, 8), (4, 3, 5, 5), {"padding": 1}),  # C < F: the scatter
    (7, (4, 5, 5), (6, 4, 5, 5), {}),  # the kernel covers the image (LeNet-5's C5): the columns are a transpose
]


@pytest.fixture(params=[1, 2], ids=["1-thread", "2-threads"])
def thread_count(request, monkeypatch):
    from cnnkit.ops import threads

    monkeypatch.setattr(threads, "PARALLEL_MIN_FLOPS", 0)  # the tests' tiny convolutions split too
    before = threads._State.threads
    threads.set_num_threads(request.param)
    yield request.param
    threads._State.threads = before


@requires_torch
@pytest.mark.parametrize(("n", "chw", "w_shape", "kwargs"), SPLIT_CASES, ids=range(len(SPLIT_CASES)))
def test_split_conv2d_matches_torch(n, chw, w_shape, kwargs, thread_count, rng):
    import torch

    x, w = rng.standard_normal((n,) + chw).astype(np.float32), rng.standard_normal(w_shape).astype(np.float32)
    b = rng.standard_normal(w_shape[0]).astype(np.float32)
    # float32 sums of n·OH·OW terms: an absolute error that grows with their square root
    atol = 1e-5 * max(1.0, np.sqrt(n * chw[1] * chw[2] / 64))
    compare_with_torch(lambda x, w, b: conv2d(x, w, b, **kwargs),
                       lambda x, w, b: torch.nn.functional.conv2d(x, w, b, **kwargs), x, w, b, atol=atol)


# a first layer (its input needs no gradient) of fewer input than output channels, stride 1, outputs ≥ 8 wide: dW
# from whole-row columns, the reads past OW cancelled by dY's zero columns
FIRST_LAYER_CASES = [
    (9, (1, 10, 12), (6, 1, 5, 5), {"padding": 2}),  # LeNet-5's C1 in small
    (6, (3, 12, 11), (8, 3, 3, 3), {"dilation": (1, 2), "padding": 1}),
]


@requires_torch
@pytest.mark.parametrize(("n", "chw", "w_shape", "kwargs"), FIRST_LAYER_CASES, ids=range(len(FIRST_LAYER_CASES)))
def test_weight_gradient_of_a_first_layer_matches_torch(n, chw, w_shape, kwargs, thread_count, rng):
    import torch

    from cnnkit.ops.conv import _conv_padding
    from cnnkit.ops.im2col import Window, rows_width

    window = Window(w_shape[2:], dilation=kwargs.get("dilation", (1, 1)),
                    padding=_conv_padding(kwargs["padding"], w_shape[2:], (1, 1), kwargs.get("dilation", (1, 1))))
    assert rows_width(window, chw[1:]) is not None  # the case takes the whole-row columns
    x, w = rng.standard_normal((n,) + chw).astype(np.float32), rng.standard_normal(w_shape).astype(np.float32)
    b = rng.standard_normal(w_shape[0]).astype(np.float32)
    compare_with_torch(lambda x, w, b: conv2d(x, w, b, **kwargs),
                       lambda x, w, b: torch.nn.functional.conv2d(x, w, b, **kwargs), x, w, b, atol=5e-5,
                       grad_inputs=(1, 2))


@requires_torch
@pytest.mark.parametrize("value", [-np.inf, np.nan])
@pytest.mark.parametrize("needs_input_grad", [False, True], ids=["first-layer", "scatter"])
def test_weight_gradient_reads_a_non_finite_pixel_only_where_torch_does(value, needs_input_grad, rng):
    # Whole-row columns would pair dY's zeros past OW with the pixel, for taps whose true sum never reads it: 0·inf
    # is NaN. A non-finite input takes the exact columns, so each tap's gradient is finite exactly where PyTorch's is.
    import torch

    x, w = rng.standard_normal((3, 1, 10, 12)).astype(np.float32), rng.standard_normal((6, 1, 5, 5)).astype(np.float32)
    x[1, 0, 4, 11] = value  # the last column: read by the taps l ≥ 4 of valid outputs only
    compare_with_torch(lambda x, w: conv2d(x, w, padding=(2, 0)),
                       lambda x, w: torch.nn.functional.conv2d(x, w, padding=(2, 0)), x, w, atol=5e-5,
                       grad_inputs=(0, 1) if needs_input_grad else (1,))


@pytest.mark.parametrize(("n", "chw", "w_shape", "kwargs"), FIRST_LAYER_CASES, ids=range(len(FIRST_LAYER_CASES)))
def test_weight_gradient_of_a_first_layer_equals_finite_differences(n, chw, w_shape, kwargs, thread_count, rng):
    x, w = rng.standard_normal((min(n, 3),) + chw), rng.standard_normal(w_shape)
    check_gradients(lambda x, w: conv2d(x, w, **kwargs), x, w, differentiable=(1,))


@pytest.mark.parametrize(("kernel", "stride", "dilation", "padding", "expected"), [
    ((3, 3), (1, 1), (1, 1), (1, 1, 1, 1), (1, 1, 1, 1)),
    ((2, 4), (1, 1), (1, 1), (0, 1, 1, 2), (1, 0, 2, 1)),
    ((3, 3), (1, 1), (2, 1), (2, 2, 0, 0), (2, 2, 2, 2)),
    ((5, 5), (1, 1), (1, 1), (0, 0, 0, 0), (4, 4, 4, 4)),
    ((3, 3), (1, 1), (1, 1), (3, 3, 1, 1), None),  # the correlation would crop dY
    ((3, 3), (2, 2), (1, 1), (1, 1, 1, 1), None),  # stride 2
    ((1, 1), (1, 1), (1, 1), (0, 0, 0, 0), None),  # pointwise: Wᵀ · dY is already the whole input gradient
])
def test_input_gradient_by_correlation_is_chosen_where_it_holds(kernel, stride, dilation, padding, expected):
    from cnnkit.ops.conv import _flipped
    from cnnkit.ops.im2col import Window

    w = np.arange(2 * 3 * kernel[0] * kernel[1], dtype=np.float32).reshape(2, 3, *kernel)
    chosen = _flipped(Window(kernel, stride, dilation, padding), w.reshape(1, 2, -1), kernel)
    if expected is None:
        assert chosen is None
        return
    window, flipped = chosen
    assert window.padding == expected and window.stride == (1, 1) and window.dilation == dilation
    # flipped[0, c, (f, k, l)] = W[f, c, kH − 1 − k, kW − 1 − l]
    np.testing.assert_array_equal(flipped.reshape(3, 2, *kernel), w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))


@pytest.mark.parametrize(("stride", "filters"), [((1, 2), 3), (1, 2)], ids=["scatter", "correlation"])
def test_split_gradients_equal_finite_differences(stride, filters, thread_count, rng):
    x, w = rng.standard_normal((5, 2, 5, 4)), rng.standard_normal((filters, 2, 3, 3))
    b = rng.standard_normal(filters)
    check_gradients(lambda x, w, b: conv2d(x, w, b, stride=stride, padding=1), x, w, b)


# conv_transpose2d runs conv2d's chunked paths with the roles swapped: its forward is the input gradient, its input
# gradient a forward and its weight gradient the weight gradient with x as dY. One case per branch they take.
TRANSPOSE_SPLIT_CASES = [
    (5, (4, 6, 6), (4, 6, 3, 3), {"padding": 1}),  # stride 1, Cout ≥ Cin: the forward is a correlation
    (5, (6, 5, 4), (6, 3, 3, 3), {}),  # stride 1, Cout < Cin: the forward is a scatter (in whole rows)
    (5, (6, 4, 4), (6, 3, 2, 2), {"stride": 2}),  # the U-Net's 2×2/2 up-convolution: a scatter without overlap
    (5, (4, 3, 5), (4, 2, 3, 3), {"stride": 2, "padding": 1, "output_padding": 1}),
    (3, (2, 3, 3), (2, 3, 2, 2), {"dilation": 2, "output_padding": 1}),  # output_padding ≥ stride: x extended
    (5, (4, 5, 5), (4, 3, 3, 3), {"groups": 2, "stride": 2, "dilation": (1, 2)}),
    (5, (8, 6, 6), (8, 8, 3, 3), {"padding": 1}),  # 3×3 stride 1, 8 channels: Winograd (with MIN_FLOPS 0)
]


@requires_torch
@pytest.mark.parametrize(("n", "chw", "w_shape", "kwargs"), TRANSPOSE_SPLIT_CASES,
                         ids=range(len(TRANSPOSE_SPLIT_CASES)))
def test_split_conv_transpose2d_matches_torch(n, chw, w_shape, kwargs, thread_count, rng, monkeypatch):
    import torch

    from cnnkit.ops import winograd

    monkeypatch.setattr(winograd, "MIN_FLOPS", 0)
    x, w = rng.standard_normal((n,) + chw).astype(np.float32), rng.standard_normal(w_shape).astype(np.float32)
    b = rng.standard_normal(w_shape[1] * kwargs.get("groups", 1)).astype(np.float32)
    compare_with_torch(lambda x, w, b: conv_transpose2d(x, w, b, **kwargs),
                       lambda x, w, b: torch.nn.functional.conv_transpose2d(x, w, b, **kwargs), x, w, b, atol=2e-5)


@pytest.mark.parametrize(("n", "chw", "w_shape", "kwargs"), TRANSPOSE_SPLIT_CASES[:5],
                         ids=range(len(TRANSPOSE_SPLIT_CASES[:5])))
def test_split_conv_transpose2d_equals_finite_differences(n, chw, w_shape, kwargs, thread_count, rng):
    x, w = rng.standard_normal((n,) + chw), rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[1])
    check_gradients(lambda x, w, b: conv_transpose2d(x, w, b, **kwargs), x, w, b)


@requires_torch
def test_non_contiguous_input_and_gradient_match_torch(rng):
    import torch

    base = rng.standard_normal((6, 5, 8, 3)).astype(np.float32)  # used as (6, 3, 8, 5): a transposed view
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    x = cnnkit.tensor(base, requires_grad=True)
    w_ck = cnnkit.tensor(w, requires_grad=True)
    xt = torch.tensor(base, requires_grad=True)
    wt = torch.tensor(w, requires_grad=True)
    y = conv2d(x.permute(0, 3, 2, 1), w_ck, padding=1)
    yt = torch.nn.functional.conv2d(xt.permute(0, 3, 2, 1), wt, padding=1)
    g = rng.standard_normal(y.shape).astype(np.float32)
    (y * cnnkit.tensor(g).permute(0, 1, 3, 2).permute(0, 1, 3, 2)).sum().backward()  # a strided upstream gradient
    (yt * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(y._data, yt.detach().numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(x.grad._data, xt.grad.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(w_ck.grad._data, wt.grad.numpy(), rtol=1e-4, atol=1e-4)


@requires_torch
def test_empty_batch_gives_empty_output_and_zero_gradients():
    import torch

    x = np.zeros((0, 3, 6, 6), np.float32)
    w = np.ones((4, 3, 3, 3), np.float32)
    b = np.ones(4, np.float32)
    xc, wc, bc = (cnnkit.tensor(a, requires_grad=True) for a in (x, w, b))
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    y, yt = conv2d(xc, wc, bc, padding=1), torch.nn.functional.conv2d(xt, wt, bt, padding=1)
    assert y.shape == tuple(yt.shape) == (0, 4, 6, 6)
    y.sum().backward()
    yt.sum().backward()
    assert xc.grad.shape == (0, 3, 6, 6)
    np.testing.assert_array_equal(wc.grad._data, wt.grad.numpy())
    np.testing.assert_array_equal(bc.grad._data, bt.grad.numpy())
    assert wc.grad.dtype == np.float32 and not wc.grad._data.any()


@pytest.mark.parametrize("channels", [4, 8], ids=["im2col", "winograd"])
def test_split_results_do_not_depend_on_the_thread_count(channels, rng, monkeypatch):
    from cnnkit.ops import threads

    monkeypatch.setattr(threads, "PARALLEL_MIN_FLOPS", 0)
    x = cnnkit.tensor(rng.standard_normal((33, channels, 10, 10)).astype(np.float32), requires_grad=True)
    w = cnnkit.tensor(rng.standard_normal((8, channels, 3, 3)).astype(np.float32), requires_grad=True)
    results = []
    before = threads._State.threads
    try:
        for count in (1, 2):
            threads.set_num_threads(count)
            x.grad = w.grad = None
            y = conv2d(x, w, padding=1)
            (y * y).sum().backward()
            results.append((y._data, x.grad._data, w.grad._data))
    finally:
        threads._State.threads = before
    np.testing.assert_array_equal(results[0][0], results[1][0])  # the forward: each image by the same products
    np.testing.assert_array_equal(results[0][1], results[1][1])
    np.testing.assert_array_equal(results[0][2], results[1][2])  # dW: chunk sums added in chunk order


def test_weight_gradient_is_bitwise_reproducible(rng):
    # chunks go to whichever thread is free; the sum of their dW must not depend on that
    x = cnnkit.tensor(rng.standard_normal((64, 8, 12, 12)).astype(np.float32))
    w = cnnkit.tensor(rng.standard_normal((8, 8, 3, 3)).astype(np.float32), requires_grad=True)
    grads = []
    for _ in range(4):
        w.grad = None
        conv2d(x, w, padding=1).sum().backward()
        grads.append(w.grad._data.copy())
    for grad in grads[1:]:
        np.testing.assert_array_equal(grad, grads[0])


# ----------------------------------------------------------------- dtype, shapes, machinery
def test_float32_stays_float32(rng):
    x = cnnkit.tensor(rng.standard_normal((2, 4, 6, 6)).astype(np.float32), requires_grad=True)
    w = cnnkit.tensor(rng.standard_normal((4, 2, 3, 3)).astype(np.float32), requires_grad=True)
    b = cnnkit.tensor(rng.standard_normal(4).astype(np.float32), requires_grad=True)
    for fn in (lambda: conv2d(x, w, b, padding=1, groups=2), lambda: conv_transpose2d(x, w, b, stride=2, groups=2)):
        x.grad = w.grad = b.grad = None
        out = fn()
        out.sum().backward()
        assert out.dtype == np.float32
        assert x.grad.dtype == w.grad.dtype == b.grad.dtype == np.float32


def test_output_sizes():
    x = cnnkit.zeros(2, 3, 28, 28)
    assert conv2d(x, cnnkit.zeros(8, 3, 5, 5)).shape == (2, 8, 24, 24)
    assert conv2d(x, cnnkit.zeros(8, 3, 3, 3), stride=2, padding=1).shape == (2, 8, 14, 14)
    assert conv2d(x, cnnkit.zeros(8, 3, 4, 4), padding="same").shape == (2, 8, 28, 28)
    assert conv2d(x, cnnkit.zeros(8, 3, 3, 3), dilation=3).shape == (2, 8, 22, 22)
    assert conv2d(cnnkit.zeros(0, 3, 5, 5), cnnkit.zeros(4, 3, 3, 3)).shape == (0, 4, 3, 3)
    # (H − 1)·s − 2p + d·(k − 1) + output_padding + 1
    assert conv_transpose2d(x, cnnkit.zeros(3, 4, 3, 3), stride=2, padding=1, output_padding=1).shape == (2, 4, 56, 56)
    assert conv_transpose2d(x, cnnkit.zeros(3, 2, 2, 2), stride=2, groups=3).shape == (2, 6, 56, 56)


def test_conv2d_is_cross_correlation():
    # the kernel is not flipped: a kernel with a single 1 at (0, 0) reads x[i, j] at output (i, j)
    x = cnnkit.tensor(np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4))
    w = np.zeros((1, 1, 3, 3), dtype=np.float32)
    w[0, 0, 0, 0] = 1
    np.testing.assert_array_equal(conv2d(x, cnnkit.tensor(w))._data[0, 0], x._data[0, 0, :2, :2])
    w[0, 0, 0, 0], w[0, 0, 2, 2] = 0, 1
    np.testing.assert_array_equal(conv2d(x, cnnkit.tensor(w))._data[0, 0], x._data[0, 0, 2:, 2:])


def test_same_padding_puts_the_extra_pixel_bottom_right():
    x = cnnkit.tensor(np.arange(25, dtype=np.float32).reshape(1, 1, 5, 5))
    y = conv2d(x, cnnkit.ones(1, 1, 2, 2), padding="same")._data[0, 0]
    assert y[0, 0] == 0 + 1 + 5 + 6  # window at rows 0–1, cols 0–1: no padding above or left
    assert y[4, 4] == 24  # bottom-right window reads one real pixel and three padding zeros


def _naive_im2col(x: np.ndarray, window: Window) -> np.ndarray:
    top, bottom, left, right = window.padding
    xp = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    (kh, kw), (sh, sw), (dh, dw) = window.kernel, window.stride, window.dilation
    oh, ow = window.output_size(x.shape[2:])
    cols = np.zeros((x.shape[0], x.shape[1], kh, kw, oh, ow), x.dtype)
    for k in range(kh):
        for l in range(kw):
            for i in range(oh):
                for j in range(ow):
                    cols[:, :, k, l, i, j] = xp[:, :, i * sh + k * dh, j * sw + l * dw]
    return cols.reshape(x.shape[0], -1, oh * ow)


WINDOWS = [Window((3, 3)), Window((3, 2), (2, 1), (1, 2), (1, 2, 0, 1)), Window((2, 2), (3, 3), (1, 1), (2, 2, 2, 2)),
           Window((1, 1), (2, 2), (1, 1), (1, 1, 1, 1)), Window((4, 1), (1, 1), (2, 1), (3, 3, 0, 0)),
           Window((1, 1))]  # pointwise: the scatter is a transposition


# windows side by side that tile the 7×6 test image (the scatter is a transposing copy), and one that leaves a row
TILING = [Window((1, 2), (1, 2)), Window((7, 3), (7, 3)), Window((2, 2), (2, 2))]


@pytest.mark.parametrize("window", WINDOWS + TILING + [Window((7, 6))], ids=str)
def test_folded_gather_holds_the_same_columns_with_the_images_side_by_side(window, rng):
    from cnnkit.ops.im2col import col2im_folded_into, im2col_folded

    x = rng.standard_normal((3, 2, 7, 6))
    oh, ow = window.output_size(x.shape[2:])
    folded = im2col_folded(x, window, (oh, ow))
    assert folded.shape == (2 * window.kernel[0] * window.kernel[1], 3 * oh * ow)
    expected = _naive_im2col(x, window)  # (n, C·kH·kW, OH·OW)
    np.testing.assert_array_equal(folded, expected.transpose(1, 0, 2).reshape(folded.shape))
    c = rng.standard_normal(folded.shape)  # col2im_folded_into is its exact adjoint
    back = np.full(x.shape, np.nan)  # every pixel must be written, the ones no window reads included
    col2im_folded_into(c, window, back)
    np.testing.assert_allclose((folded * c).sum(), (x * back).sum(), rtol=1e-12)


@pytest.mark.parametrize("window", TILING[:2], ids=str)
def test_tiling_scatter_into_a_strided_image_matches_the_contiguous_one(window, rng):
    from cnnkit.ops.im2col import col2im_folded_into

    oh, ow = window.output_size((7, 6))
    c = rng.standard_normal((2 * window.kernel[0] * window.kernel[1], 3 * oh * ow))
    contiguous, strided = np.full((3, 2, 7, 6), np.nan), np.full((3, 2, 7, 12), np.nan)[..., ::2]
    col2im_folded_into(c, window, contiguous)  # the transposing copy
    col2im_folded_into(c, window, strided)  # a view that a reshape would copy: the compiled scatter
    np.testing.assert_array_equal(contiguous, strided)


# stride-1 windows whose outputs are at least 8 columns wide on a 9×12 input: `rows_width` takes them
ROW_WINDOWS = [Window((3, 3), padding=(1, 1, 1, 1)), Window((2, 4), (1, 1), (2, 1), (0, 1, 2, 1)), Window((5, 5))]


@pytest.mark.parametrize("window", ROW_WINDOWS, ids=str)
def test_whole_row_gather_holds_the_columns_in_its_first_output_columns(window, rng):
    from cnnkit.ops.im2col import im2col_rows, rows_width

    x = rng.standard_normal((3, 2, 9, 12))
    oh, ow = window.output_size(x.shape[2:])
    width = rows_width(window, x.shape[2:])
    assert width == 12 + window.padding[2] + window.padding[3] and width > ow
    rows = im2col_rows(x, window, oh).reshape(-1, 3, oh, width)
    expected = _naive_im2col(x, window).reshape(3, -1, oh, ow).transpose(1, 0, 2, 3)
    np.testing.assert_array_equal(rows[..., :ow], expected)
    assert np.isfinite(rows).all()  # the dropped columns read real pixels or zero rows, never past the buffer


@pytest.mark.parametrize("window", ROW_WINDOWS, ids=str)
def test_whole_row_scatter_is_the_adjoint_of_the_gather_on_the_kept_columns(window, rng):
    from cnnkit.ops.im2col import col2im_rows_into, im2col_rows, rows_width

    x = rng.standard_normal((3, 2, 9, 12))
    oh, ow = window.output_size(x.shape[2:])
    width = rows_width(window, x.shape[2:])
    c = rng.standard_normal((2 * window.kernel[0] * window.kernel[1], 3, oh, width))
    c[..., ow:] = 0  # the dropped outputs carry no gradient
    back = np.full(x.shape, np.nan)  # every pixel must be written
    col2im_rows_into(c.reshape(c.shape[0], -1), window, back)
    rows = im2col_rows(x, window, oh)
    np.testing.assert_allclose((rows * c.reshape(rows.shape)).sum(), (x * back).sum(), rtol=1e-12)


def test_whole_row_gather_is_chosen_for_stride_1_from_8_output_columns():
    from cnnkit.ops.im2col import rows_width

    assert rows_width(Window((3, 3), padding=(1, 1, 1, 1)), (8, 8)) == 10
    assert rows_width(Window((3, 3), padding=(1, 1, 1, 1)), (7, 7)) is None  # 2 wasted columns of 9: no gain
    assert rows_width(Window((3, 3), (2, 2), padding=(1, 1, 1, 1)), (32, 32)) is None
    assert rows_width(Window((1, 1)), (32, 32)) is None


def test_scratch_reuses_an_array_only_once_nothing_refers_to_it():
    shape = (4, 256, 512)  # 2 MiB: large enough to be pooled
    a = scratch(shape, np.float32)
    b = scratch(shape, np.float32)
    assert a is not b
    view, a_id = a.reshape(-1), id(a)
    del a
    c = scratch(shape, np.float32)  # the old `a` is still held through `view.base`
    assert c is not b and id(c) != a_id and view.base is not c
    del view
    assert id(scratch(shape, np.float32)) == a_id  # now it is free again


def test_scratch_pool_stays_under_its_cap(monkeypatch):
    from cnnkit.ops import im2col as module

    monkeypatch.setattr(module, "_POOL_MAX_BYTES", 5 << 20)
    module.clear_scratch()
    held = [scratch((1 << 20,), np.float32) for _ in range(2)]  # 8 MiB held: only the first 4 MiB is pooled
    assert module._pool.nbytes == 4 << 20
    del held
    kept = scratch((1 << 19,), np.float32)  # needs room: the free 4 MiB array is forgotten, the new one pooled
    assert module._pool.nbytes == 2 << 20 and kept.nbytes == 2 << 20
    module.clear_scratch()
    assert module._pool.nbytes == 0


def test_graphs_alive_at_once_keep_their_own_columns(rng):
    # Both convolutions draw their columns from the same scratch pool; neither may overwrite the other's.
    w = cnnkit.tensor(rng.standard_normal((16, 8, 3, 3)).astype(np.float32), requires_grad=True)
    inputs = [rng.standard_normal((8, 8, 32, 32)).astype(np.float32) for _ in range(2)]
    outputs = [conv2d(cnnkit.tensor(x), w, padding=1) for x in inputs]
    for x, y in zip(inputs, outputs, strict=True):
        w.grad = None
        y.sum().backward(retain_graph=True)
        expected = _naive_im2col(x, Window((3, 3), padding=(1, 1, 1, 1))).sum(axis=(0, 2)).reshape(8, 3, 3)
        np.testing.assert_allclose(w.grad._data, np.broadcast_to(expected, w.shape), rtol=1e-4, atol=1e-3)
    w.grad = None
    outputs[0].sum().backward()  # the graph was retained: the columns are still intact
    np.testing.assert_allclose(w.grad._data[0], _naive_im2col(inputs[0], Window((3, 3), padding=(1, 1, 1, 1)))
                               .sum(axis=(0, 2)).reshape(8, 3, 3), rtol=1e-4, atol=1e-3)


def test_no_scatter_add_and_no_torch():
    for module in (conv_module, im2col_module):
        source = inspect.getsource(module)
        assert "add.at" not in source and "import torch" not in source


# ----------------------------------------------------------------- errors
def _zeros(*shape):
    return cnnkit.zeros(*shape)


CONV_ERRORS = [
    ((_zeros(8, 1, 28, 28), _zeros(16, 3, 3, 3)), {},
     r"conv2d: expected input of shape \(N, 3, H, W\) to match weight \(16, 3, 3, 3\), got \(8, 1, 28, 28\)"),
    ((_zeros(28, 28), _zeros(16, 1, 3, 3)), {}, r"conv2d: expected a 4-D input \(N, C, H, W\).*got shape \(28, 28\)"),
    ((_zeros(1, 1, 1, 8, 8), _zeros(2, 1, 3, 3)), {}, r"conv2d: expected a 4-D input.*\(1, 1, 1, 8, 8\)"),
    ((_zeros(1, 1, 8, 8), _zeros(2, 1, 3)), {}, r"conv2d: expected a 4-D weight.*got shape \(2, 1, 3\)"),
    ((_zeros(1, 4, 8, 8), _zeros(4, 1, 3, 3)), {"groups": 2},
     r"conv2d: expected input of shape \(N, 2, H, W\) to match weight \(4, 1, 3, 3\) with groups=2, "
     r"got \(1, 4, 8, 8\)"),
    ((_zeros(1, 3, 8, 8), _zeros(4, 1, 3, 3)), {"groups": 2}, r"conv2d: expected input channels divisible by groups=2"),
    ((_zeros(1, 4, 8, 8), _zeros(3, 2, 3, 3)), {"groups": 2},
     r"conv2d: expected weight's dim 0 divisible by groups=2, got weight \(3, 2, 3, 3\)"),
    ((_zeros(1, 1, 5, 5), _zeros(1, 1, 7, 3)), {}, r"conv2d: expected the kernel \(7, 3\).*padded input \(5, 5\)"),
    ((_zeros(1, 1, 5, 5), _zeros(1, 1, 3, 3)), {"dilation": 3},
     r"conv2d: expected the kernel \(3, 3\) with dilation \(3, 3\) \(spanning \(7, 7\)\)"),
    ((_zeros(1, 1, 5, 5), _zeros(1, 1, 3, 3)), {"padding": "full"},
     r"conv2d: expected padding 'same', 'valid', an int or a pair of ints, got 'full'"),
    ((_zeros(1, 1, 5, 5), _zeros(1, 1, 3, 3)), {"padding": "same", "stride": 2},
     r"conv2d: padding='same' needs stride 1, got stride \(2, 2\)"),
    ((_zeros(1, 1, 5, 5), _zeros(2, 1, 3, 3), _zeros(3)), {},
     r"conv2d: expected bias of shape \(2,\) to match weight \(2, 1, 3, 3\), got \(3,\)"),
    ((_zeros(1, 1, 5, 5), _zeros(1, 1, 3, 3)), {"stride": 0}, r"conv2d: expected stride to be a positive int"),
    ((_zeros(1, 1, 5, 5), _zeros(1, 1, 3, 3)), {"padding": -1}, r"conv2d: expected padding to be a non-negative"),
    ((_zeros(1, 1, 5, 5), _zeros(1, 1, 3, 3)), {"dilation": (1, 2, 3)}, r"conv2d: expected dilation to be a positive"),
    ((_zeros(1, 1, 5, 5), _zeros(1, 1, 3, 3)), {"groups": 0}, r"conv2d: expected groups to be a positive int, got 0"),
]


@pytest.mark.parametrize(("args", "kwargs", "match"), CONV_ERRORS, ids=range(len(CONV_ERRORS)))
def test_conv2d_errors(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        conv2d(*args, **kwargs)


TRANSPOSE_ERRORS = [
    ((_zeros(1, 3, 5, 5), _zeros(4, 3, 3, 3)), {},
     r"conv_transpose2d: expected input of shape \(N, 4, H, W\) to match weight \(4, 3, 3, 3\), got \(1, 3, 5, 5\)"),
    ((_zeros(3, 5), _zeros(3, 2, 3, 3)), {}, r"conv_transpose2d: expected a 4-D input"),
    ((_zeros(1, 4, 5, 5), _zeros(4, 3, 3, 3), _zeros(4)), {},
     r"conv_transpose2d: expected bias of shape \(3,\) to match weight \(4, 3, 3, 3\), got \(4,\)"),
    ((_zeros(1, 4, 5, 5), _zeros(4, 3, 3, 3), _zeros(3)), {"groups": 2},
     r"conv_transpose2d: expected bias of shape \(6,\)"),
    ((_zeros(1, 6, 5, 5), _zeros(6, 3, 3, 3)), {"groups": 4}, r"conv_transpose2d: expected input channels divisible"),
    ((_zeros(1, 4, 5, 5), _zeros(4, 3, 3, 3)), {"stride": 2, "output_padding": 2},
     r"conv_transpose2d: expected output_padding smaller than stride or dilation, got output_padding \(2, 2\)"),
    ((_zeros(1, 4, 5, 5), _zeros(4, 3, 3, 3)), {"output_padding": 1}, r"output_padding smaller than stride"),
    ((_zeros(1, 4, 5, 5), _zeros(4, 3, 3, 3)), {"padding": 4},
     r"conv_transpose2d: expected a positive output size .* got \(-1, -1\) for input \(1, 4, 5, 5\)"),
    ((_zeros(1, 4, 5, 5), _zeros(4, 3, 3, 3)), {"padding": "same"}, r"conv_transpose2d: expected padding to be"),
]


@pytest.mark.parametrize(("args", "kwargs", "match"), TRANSPOSE_ERRORS, ids=range(len(TRANSPOSE_ERRORS)))
def test_conv_transpose2d_errors(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        conv_transpose2d(*args, **kwargs)


def test_dtype_errors():
    x = cnnkit.zeros(1, 1, 5, 5)
    with pytest.raises(TypeError, match=r"conv2d: expected weight of dtype float32 to match the input, got float64"):
        conv2d(x, cnnkit.tensor(np.zeros((1, 1, 3, 3)), dtype=np.float64))
    with pytest.raises(TypeError, match=r"conv2d: expected a floating-point input, got dtype int64"):
        conv2d(cnnkit.tensor(np.zeros((1, 1, 5, 5), dtype=np.int64)), cnnkit.zeros(1, 1, 3, 3))


@pytest.mark.parametrize("width", [5, 7], ids=["exact-rows", "whole-rows"])
@pytest.mark.parametrize("with_bias", [False, True])
def test_product_columns_go_to_nchw_alike_by_the_compiled_loop_and_by_numpy(width, with_bias, rng):
    from cnnkit.ops.im2col import columns_to_images

    n, f, oh, ow = 3, 4, 2, 5
    y = rng.standard_normal((f, n * oh * width)).astype(np.float32)
    bias = rng.standard_normal(f).astype(np.float32) if with_bias else None
    expected = y.reshape(f, n, oh, width)[..., :ow].transpose(1, 0, 2, 3) + (0 if bias is None else bias[:, None, None])
    for compiled_loop in (True, False):
        out = np.full((n, f, oh, ow), np.nan, np.float32)
        columns_to_images(y, out, bias, compiled_loop)
        np.testing.assert_array_equal(out, expected)

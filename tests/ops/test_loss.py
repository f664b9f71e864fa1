"""Tests for cnnkit/ops/loss.py: finite differences (float64) for every loss and reduction, agreement with
PyTorch (values and input/target gradients) on randomised cases, dtype preservation and the error messages."""

from __future__ import annotations

import math

import numpy as np
import pytest

import cnnkit
from cnnkit.ops import loss as L
from cnnkit.ops.activation import log_softmax
from tests.gradcheck import check_gradients, compare_with_torch, requires_torch

REDUCTIONS = ["mean", "sum", "none"]


def _t(array, dtype=None):
    return None if array is None else cnnkit.tensor(array, dtype=dtype)


def _th(array):
    import torch

    return None if array is None else torch.tensor(array)


# ----------------------------------------------------------------------------------------- class-index cases
def _class_case(seed: int) -> dict:
    """A random classification case: input shape, targets (with ignore hits), weights, smoothing, reduction."""
    rng = np.random.default_rng(seed)
    classes = int(rng.integers(2, 6))
    kind = seed % 4
    batch = 1 if seed % 5 == 0 else int(rng.integers(2, 5))
    if kind == 0:
        shape = (batch, classes)
    elif kind == 1:
        shape = (batch, classes, int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    elif kind == 2:
        shape = (batch, classes, int(rng.integers(2, 4)))
    else:
        shape = (classes,)  # unbatched
    target_shape = () if len(shape) == 1 else (shape[0],) + shape[2:]
    ignore_index = -100 if seed % 3 else int(rng.integers(0, classes))  # sometimes a real class is ignored
    target = rng.integers(0, classes, target_shape)
    if target.size > 1 and seed % 3:
        target.flat[rng.integers(0, target.size)] = ignore_index  # an ignored position
    return {
        "x": (rng.standard_normal(shape) * 2).astype(np.float32),
        "target": np.asarray(target, dtype=np.int64),
        "weight": rng.uniform(0.2, 2.0, classes).astype(np.float32) if seed % 2 else None,
        "ignore_index": ignore_index,
        "label_smoothing": [0.0, 0.1, 0.4][seed % 3],
        "reduction": REDUCTIONS[(seed // 2) % 3],
    }


CLASS_SEEDS = list(range(24))


def _has_valid_target(case: dict) -> bool:
    return bool(np.any(case["target"] != case["ignore_index"]))


@requires_torch
@pytest.mark.parametrize("seed", CLASS_SEEDS)
def test_cross_entropy_matches_torch(seed):
    import torch.nn.functional as F

    c = _class_case(seed)
    kw = {"ignore_index": c["ignore_index"], "reduction": c["reduction"], "label_smoothing": c["label_smoothing"]}
    compare_with_torch(lambda x, t: L.cross_entropy(x, t, weight=_t(c["weight"]), **kw),
                       lambda x, t: F.cross_entropy(x, t, weight=_th(c["weight"]), **kw), c["x"], c["target"])


@pytest.mark.parametrize("seed", CLASS_SEEDS)
def test_cross_entropy_finite_differences(seed):
    c = _class_case(seed)
    if c["reduction"] == "mean" and not _has_valid_target(c):
        pytest.skip("every target ignored: the mean is nan")
    kw = {"ignore_index": c["ignore_index"], "reduction": c["reduction"], "label_smoothing": c["label_smoothing"]}
    target = cnnkit.tensor(c["target"])
    check_gradients(lambda x: L.cross_entropy(x, target, weight=_t(c["weight"], np.float64), **kw), c["x"])


@requires_torch
@pytest.mark.parametrize("seed", CLASS_SEEDS)
def test_nll_loss_matches_torch(seed):
    import torch.nn.functional as F

    c = _class_case(seed)
    kw = {"ignore_index": c["ignore_index"], "reduction": c["reduction"]}
    compare_with_torch(lambda x, t: L.nll_loss(x, t, weight=_t(c["weight"]), **kw),
                       lambda x, t: F.nll_loss(x, t, weight=_th(c["weight"]), **kw), c["x"], c["target"])


@pytest.mark.parametrize("seed", CLASS_SEEDS)
def test_nll_loss_finite_differences(seed):
    c = _class_case(seed)
    if c["reduction"] == "mean" and not _has_valid_target(c):
        pytest.skip("every target ignored: the mean is nan")
    target = cnnkit.tensor(c["target"])
    check_gradients(lambda x: L.nll_loss(x, target, weight=_t(c["weight"], np.float64), ignore_index=c["ignore_index"],
                                         reduction=c["reduction"]), c["x"])


@pytest.mark.parametrize("seed", [1, 2, 5, 6])
def test_cross_entropy_equals_log_softmax_then_nll(seed):
    c = _class_case(seed)
    x, t, w = cnnkit.tensor(c["x"]), cnnkit.tensor(c["target"]), _t(c["weight"])
    kw = {"weight": w, "ignore_index": c["ignore_index"], "reduction": c["reduction"]}
    fused = L.cross_entropy(x, t, **kw)
    composed = L.nll_loss(log_softmax(x, 0 if x.ndim == 1 else 1), t, **kw)
    np.testing.assert_allclose(fused._data, composed._data, rtol=1e-5, atol=1e-6)


@requires_torch
@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss"])
def test_strided_input_view_matches_torch(name):
    import torch.nn.functional as F

    # a (N, C, H, W) view of a channels-last array: the loss must not rely on the input being contiguous
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 4, 3, 5)).astype(np.float32)  # stored as (N, H, W, C)
    t = rng.integers(0, 5, (2, 4, 3))
    t[1, 0, 0] = -100
    w = rng.uniform(0.5, 2, 5).astype(np.float32)
    ck, th = getattr(L, name), getattr(F, name)
    # torch 2.13's nll_loss backward fails on this view ("grad_input must be contiguous"): it gets a copy
    compare_with_torch(lambda a, b: ck(a.permute(0, 3, 1, 2), b, weight=cnnkit.tensor(w)),
                       lambda a, b: th(a.permute(0, 3, 1, 2).contiguous(), b, weight=_th(w)), x, t)


def test_cross_entropy_known_value():
    x = cnnkit.tensor([[0.0, math.log(3.0)]], requires_grad=True)  # softmax = (1/4, 3/4)
    loss = L.cross_entropy(x, cnnkit.tensor([1]))
    assert loss.item() == pytest.approx(-math.log(0.75), rel=1e-6)
    loss.backward()
    np.testing.assert_allclose(x.grad._data, [[0.25, -0.25]], rtol=1e-6)  # softmax − onehot


@requires_torch
def test_cross_entropy_image_targets_with_weights_smoothing_and_ignore():
    import torch.nn.functional as F

    rng = np.random.default_rng(11)
    x = rng.standard_normal((3, 5, 6, 7)).astype(np.float32)
    t = rng.integers(0, 5, (3, 6, 7))
    t[0, :2] = 255
    w = rng.uniform(0.5, 2, 5).astype(np.float32)
    for reduction in REDUCTIONS:
        kw = {"ignore_index": 255, "reduction": reduction, "label_smoothing": 0.15}
        compare_with_torch(lambda a, b, kw=kw: L.cross_entropy(a, b, weight=cnnkit.tensor(w), **kw),
                           lambda a, b, kw=kw: F.cross_entropy(a, b, weight=_th(w), **kw), x, t)


@requires_torch
@pytest.mark.parametrize("spread", [0.0, 60.0, 200.0])
def test_plain_cross_entropy_matches_torch_when_rows_lie_far_apart(spread):
    """(N, C) logits, indices, no weights, 'mean': the short path shifts the batch by its largest logit and
    redoes rows whose sum of e^z would fall near underflow with their own maximum."""
    import torch.nn.functional as F

    rng = np.random.default_rng(3)
    x = (rng.standard_normal((6, 5)) + spread * np.arange(6).reshape(-1, 1)).astype(np.float32)
    for t in (np.array([0, 4, 2, 1, 3, 0]), np.array([0, 4, 2, 1, 3, 0], dtype=np.uint8)):
        compare_with_torch(L.cross_entropy, F.cross_entropy, x, t.astype(np.int64), grad_inputs=[0])
        loss = L.cross_entropy(cnnkit.tensor(x), cnnkit.tensor(t))  # unsigned indices take the same path
        np.testing.assert_allclose(loss.item(), F.cross_entropy(_th(x), _th(t.astype(np.int64))).item(), rtol=1e-6)


def test_negative_class_index_is_refused():
    with pytest.raises(IndexError, match="target -3 is out of range for 4 classes"):
        L.cross_entropy(cnnkit.tensor(np.zeros((2, 4), np.float32)), cnnkit.tensor(np.array([1, -3])))


@requires_torch
def test_cross_entropy_is_stable_for_huge_logits():
    import torch.nn.functional as F

    x = np.array([[1000.0, -1000.0, 0.0], [-500.0, 500.0, 499.0]], dtype=np.float32)
    t = np.array([1, 2])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out = L.cross_entropy(cnnkit.tensor(x), cnnkit.tensor(t))
    assert np.isfinite(out.item())
    compare_with_torch(L.cross_entropy, F.cross_entropy, x, t)
    compare_with_torch(lambda a, b: L.cross_entropy(a, b, label_smoothing=0.2),
                       lambda a, b: F.cross_entropy(a, b, label_smoothing=0.2), x, t)


@requires_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_every_target_ignored(reduction):
    import torch.nn.functional as F

    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    t = np.full(3, -100)
    for ck, th in [(L.cross_entropy, F.cross_entropy), (L.nll_loss, F.nll_loss)]:
        xt = cnnkit.tensor(x, requires_grad=True)
        with np.errstate(all="raise"):  # nan comes out as PyTorch's, without a NumPy warning
            out = ck(xt, cnnkit.tensor(t), reduction=reduction)
        expected = th(_th(x), _th(t), reduction=reduction).numpy()
        np.testing.assert_array_equal(out._data, expected)  # nan for 'mean', zeros otherwise
        out.sum().backward()
        np.testing.assert_array_equal(xt.grad._data, 0)


# ----------------------------------------------------------------------------------------- probability targets
def _prob_case(seed: int) -> dict:
    rng = np.random.default_rng(100 + seed)
    classes = int(rng.integers(2, 5))
    shape = [(3, classes), (2, classes, 3, 2), (classes,), (1, classes)][seed % 4]
    q = rng.random(shape).astype(np.float32)
    return {
        "x": (rng.standard_normal(shape) * 2).astype(np.float32),
        "q": q / q.sum(axis=0 if len(shape) == 1 else 1, keepdims=True),
        "weight": rng.uniform(0.2, 2.0, classes).astype(np.float32) if seed % 2 else None,
        "label_smoothing": [0.0, 0.25][(seed // 2) % 2],
        "reduction": REDUCTIONS[seed % 3],
    }


PROB_SEEDS = list(range(12))


@requires_torch
@pytest.mark.parametrize("seed", PROB_SEEDS)
def test_cross_entropy_probability_targets_match_torch(seed):
    import torch.nn.functional as F

    c = _prob_case(seed)
    kw = {"reduction": c["reduction"], "label_smoothing": c["label_smoothing"]}
    compare_with_torch(lambda x, q: L.cross_entropy(x, q, weight=_t(c["weight"]), **kw),
                       lambda x, q: F.cross_entropy(x, q, weight=_th(c["weight"]), **kw), c["x"], c["q"])


@pytest.mark.parametrize("seed", PROB_SEEDS)
def test_cross_entropy_probability_targets_finite_differences(seed):
    c = _prob_case(seed)
    kw = {"reduction": c["reduction"], "label_smoothing": c["label_smoothing"]}
    check_gradients(lambda x, q: L.cross_entropy(x, q, weight=_t(c["weight"], np.float64), **kw), c["x"], c["q"])


# ----------------------------------------------------------------------------------------- regression losses
def _regression_losses():
    return [
        ("mse", L.mse_loss, "mse_loss", {}),
        ("l1", L.l1_loss, "l1_loss", {}),
        ("smooth_l1", L.smooth_l1_loss, "smooth_l1_loss", {}),
        ("smooth_l1_beta_0.5", lambda x, t, **k: L.smooth_l1_loss(x, t, beta=0.5, **k), "smooth_l1_loss",
         {"beta": 0.5}),
        ("smooth_l1_beta_0", lambda x, t, **k: L.smooth_l1_loss(x, t, beta=0.0, **k), "smooth_l1_loss", {"beta": 0.0}),
    ]


REGRESSION = _regression_losses()


@requires_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 2, 2)])
@pytest.mark.parametrize(("name", "fn", "torch_name", "extra"), REGRESSION, ids=[r[0] for r in REGRESSION])
def test_regression_loss_matches_torch(name, fn, torch_name, extra, shape, reduction):
    import torch.nn.functional as F

    rng = np.random.default_rng(len(shape))
    x = (rng.standard_normal(shape) * 2).astype(np.float32)
    t = (rng.standard_normal(shape) * 2).astype(np.float32)
    t.flat[0] = x.flat[0]  # a zero difference: the gradient there is 0 (sign) as in PyTorch
    compare_with_torch(lambda a, b: fn(a, b, reduction=reduction),
                       lambda a, b: getattr(F, torch_name)(a, b, reduction=reduction, **extra), x, t)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(("name", "fn", "torch_name", "extra"), REGRESSION, ids=[r[0] for r in REGRESSION])
def test_regression_loss_finite_differences(name, fn, torch_name, extra, reduction):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 5)) * 2
    t = rng.standard_normal((3, 5)) * 2
    d = x - t  # keep |x − t| away from 0 and from beta, where the loss has kinks
    for kink in (0.0, 0.5, -0.5, 1.0, -1.0):
        d = np.where(np.abs(d - kink) < 0.05, kink + 0.1, d)
    check_gradients(lambda a, b: fn(a, b, reduction=reduction), t + d, t)


def test_regression_known_values():
    x, t = cnnkit.tensor([1.0, -2.0, 0.5]), cnnkit.tensor([0.0, 0.0, 0.0])
    assert L.mse_loss(x, t).item() == pytest.approx((1 + 4 + 0.25) / 3)
    assert L.l1_loss(x, t, reduction="sum").item() == pytest.approx(3.5)
    np.testing.assert_allclose(L.smooth_l1_loss(x, t, reduction="none")._data, [0.5, 1.5, 0.125])


def test_mse_target_gets_a_gradient_and_integer_target_does_not():
    x = cnnkit.tensor([1.0, 2.0], requires_grad=True)
    t = cnnkit.tensor([0.0, 0.0], requires_grad=True)
    L.mse_loss(x, t, reduction="sum").backward()
    np.testing.assert_allclose(x.grad._data, [2.0, 4.0])
    np.testing.assert_allclose(t.grad._data, [-2.0, -4.0])
    out = L.cross_entropy(cnnkit.tensor([[1.0, 2.0]], requires_grad=True), cnnkit.tensor([1]))
    assert out.grad_fn.backward(np.asarray(1.0, dtype=np.float32))[1] is None


# ----------------------------------------------------------------------------------------- binary losses
def _binary_case(seed: int) -> dict:
    rng = np.random.default_rng(200 + seed)
    shape = [(6,), (3, 4), (2, 3, 2, 2)][seed % 3]
    return {
        "p": rng.uniform(0.05, 0.95, shape).astype(np.float32),
        "logits": (rng.standard_normal(shape) * 3).astype(np.float32),
        "t": rng.uniform(0, 1, shape).astype(np.float32),
        "weight": rng.uniform(0.5, 2, shape[-1:]).astype(np.float32) if seed % 2 else None,  # broadcast weight
        "pos_weight": rng.uniform(0.5, 3, shape[-1:]).astype(np.float32) if seed % 4 >= 2 else None,
        "reduction": REDUCTIONS[seed % 3],
    }


BINARY_SEEDS = list(range(12))


@requires_torch
@pytest.mark.parametrize("seed", BINARY_SEEDS)
def test_binary_cross_entropy_matches_torch(seed):
    import torch.nn.functional as F

    c = _binary_case(seed)
    compare_with_torch(lambda x, t: L.binary_cross_entropy(x, t, weight=_t(c["weight"]), reduction=c["reduction"]),
                       lambda x, t: F.binary_cross_entropy(x, t, weight=_th(c["weight"]), reduction=c["reduction"]),
                       c["p"], c["t"])


@pytest.mark.parametrize("seed", BINARY_SEEDS)
def test_binary_cross_entropy_finite_differences(seed):
    c = _binary_case(seed)
    check_gradients(lambda x, t: L.binary_cross_entropy(x, t, weight=_t(c["weight"], np.float64),
                                                        reduction=c["reduction"]), c["p"], c["t"])


@requires_torch
@pytest.mark.parametrize("seed", BINARY_SEEDS)
def test_binary_cross_entropy_with_logits_matches_torch(seed):
    import torch.nn.functional as F

    c = _binary_case(seed)
    compare_with_torch(
        lambda x, t: L.binary_cross_entropy_with_logits(x, t, weight=_t(c["weight"]), reduction=c["reduction"],
                                                        pos_weight=_t(c["pos_weight"])),
        lambda x, t: F.binary_cross_entropy_with_logits(x, t, weight=_th(c["weight"]), reduction=c["reduction"],
                                                        pos_weight=_th(c["pos_weight"])),
        c["logits"], c["t"])


@pytest.mark.parametrize("seed", BINARY_SEEDS)
def test_binary_cross_entropy_with_logits_finite_differences(seed):
    c = _binary_case(seed)
    check_gradients(lambda x, t: L.binary_cross_entropy_with_logits(
        x, t, weight=_t(c["weight"], np.float64), reduction=c["reduction"],
        pos_weight=_t(c["pos_weight"], np.float64)), c["logits"], c["t"])


@requires_torch
def test_binary_losses_at_the_edges_match_torch():
    import torch.nn.functional as F

    # probabilities of exactly 0 and 1: each log is clamped at −100, the input gradient uses a 1e−12 floor
    p = np.array([0.0, 1.0, 0.0, 1.0, 1e-30], dtype=np.float32)
    t = np.array([1.0, 0.0, 0.0, 1.0, 0.3], dtype=np.float32)
    compare_with_torch(lambda a, b: L.binary_cross_entropy(a, b, reduction="none"),
                       lambda a, b: F.binary_cross_entropy(a, b, reduction="none"), p, t, grad_inputs=[0])
    np.testing.assert_allclose(L.binary_cross_entropy(cnnkit.tensor(p), cnnkit.tensor(t), reduction="none")._data[:2],
                               [100.0, 100.0])
    # huge logits: the stable formula gives |x| where the naive one overflows
    x = np.array([100.0, -100.0, 1e4, -1e4], dtype=np.float32)
    t = np.array([0.0, 1.0, 0.0, 0.5], dtype=np.float32)
    pw = np.array([3.0, 2.0, 1.5, 0.5], dtype=np.float32)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        L.binary_cross_entropy_with_logits(cnnkit.tensor(x), cnnkit.tensor(t), pos_weight=cnnkit.tensor(pw))
    compare_with_torch(lambda a, b: L.binary_cross_entropy_with_logits(a, b, reduction="none", pos_weight=_t(pw)),
                       lambda a, b: F.binary_cross_entropy_with_logits(a, b, reduction="none", pos_weight=_th(pw)),
                       x, t)


# ----------------------------------------------------------------------------------------- dtypes
def _all_losses():
    x2, t2 = np.array([[0.2, -1.0, 0.5], [1.0, 0.3, -0.2]]), np.array([2, 0])
    probs = np.array([[0.2, 0.3, 0.5], [0.1, 0.6, 0.3]])
    return [
        ("cross_entropy", L.cross_entropy, x2, t2),
        ("cross_entropy_smooth", lambda x, t, **k: L.cross_entropy(x, t, label_smoothing=0.1, **k), x2, t2),
        ("cross_entropy_probs", L.cross_entropy, x2, probs),
        ("nll_loss", L.nll_loss, x2, t2),
        ("mse_loss", L.mse_loss, x2, probs),
        ("l1_loss", L.l1_loss, x2, probs),
        ("smooth_l1_loss", L.smooth_l1_loss, x2, probs),
        ("binary_cross_entropy", L.binary_cross_entropy, probs, probs[::-1].copy()),
        ("binary_cross_entropy_with_logits", L.binary_cross_entropy_with_logits, x2, probs),
    ]


ALL_LOSSES = _all_losses()


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("name", "fn", "x", "t"), ALL_LOSSES, ids=[a[0] for a in ALL_LOSSES])
def test_loss_keeps_dtype_in_forward_and_backward(name, fn, x, t, dtype, reduction):
    xt = cnnkit.tensor(x, dtype=dtype, requires_grad=True)
    tt = cnnkit.tensor(t, dtype=dtype if t.dtype.kind == "f" else None, requires_grad=t.dtype.kind == "f")
    out = fn(xt, tt, reduction=reduction)
    assert out.dtype == dtype
    assert out.shape == (() if reduction != "none" else (x.shape if name in {"mse_loss", "l1_loss", "smooth_l1_loss",
                                                                             "binary_cross_entropy",
                                                                             "binary_cross_entropy_with_logits"}
                                                          else (2,)))
    grads = out.grad_fn.backward(np.ones(out.shape, dtype=dtype))
    for grad, inp in zip(grads, (xt, tt), strict=True):
        if grad is not None:
            assert grad.dtype == dtype and grad.shape == inp.shape


# ----------------------------------------------------------------------------------------- errors
def test_cross_entropy_target_out_of_range():
    x = cnnkit.tensor(np.zeros((3, 10)))
    with pytest.raises(IndexError, match="cross_entropy: target 12 is out of range for 10 classes"):
        L.cross_entropy(x, cnnkit.tensor([1, 12, 3]))
    with pytest.raises(IndexError, match="nll_loss: target -1 is out of range for 10 classes"):
        L.nll_loss(x, cnnkit.tensor([1, -1, -100]))
    with pytest.raises(IndexError, match="cross_entropy: target -100 is out of range for 10 classes"):
        L.cross_entropy(x, cnnkit.tensor([1, -100, 3]), ignore_index=3)


def test_cross_entropy_wrong_target_shape():
    with pytest.raises(ValueError, match=r"cross_entropy: expected target of shape \(4,\) for input of shape "
                                         r"\(4, 3\), got \(5,\)"):
        L.cross_entropy(cnnkit.tensor(np.zeros((4, 3))), cnnkit.tensor(np.zeros(5, dtype=np.int64)))
    with pytest.raises(ValueError, match=r"nll_loss: expected target of shape \(2, 4, 5\) for input of shape "
                                         r"\(2, 3, 4, 5\), got \(2, 4, 4\)"):
        L.nll_loss(cnnkit.tensor(np.zeros((2, 3, 4, 5))), cnnkit.tensor(np.zeros((2, 4, 4), dtype=np.int64)))


def test_cross_entropy_float_target_of_the_wrong_shape():
    with pytest.raises(TypeError, match=r"cross_entropy: expected a target of integer class indices of shape "
                                        r"\(4,\) for input of shape \(4, 3\), got a float32 target of shape \(4,\)"):
        L.cross_entropy(cnnkit.tensor(np.zeros((4, 3))), cnnkit.tensor([0.0, 1.0, 2.0, 1.0]))


def test_cross_entropy_integer_target_of_the_input_shape():
    with pytest.raises(TypeError, match=r"cross_entropy: a target of the input's shape \(4, 3\) holds class "
                                        r"probabilities and must be floating-point, got dtype int64"):
        L.cross_entropy(cnnkit.tensor(np.zeros((4, 3))), cnnkit.tensor(np.zeros((4, 3), dtype=np.int64)))


def test_cross_entropy_weight_errors():
    x, t = cnnkit.tensor(np.zeros((4, 3))), cnnkit.tensor([0, 1, 2, 1])
    with pytest.raises(ValueError, match=r"cross_entropy: expected weight of shape \(3,\) \(one per class\), "
                                         r"got \(2,\)"):
        L.cross_entropy(x, t, weight=cnnkit.ones(2))
    with pytest.raises(RuntimeError, match="nll_loss: weight is not differentiable"):
        L.nll_loss(x, t, weight=cnnkit.tensor(np.ones(3), requires_grad=True))


def test_cross_entropy_other_argument_errors():
    x, t = cnnkit.tensor(np.zeros((4, 3))), cnnkit.tensor([0, 1, 2, 1])
    with pytest.raises(ValueError, match="cross_entropy: label_smoothing must be between 0.0 and 1.0, got 1.5"):
        L.cross_entropy(x, t, label_smoothing=1.5)
    with pytest.raises(ValueError, match="cross_entropy: ignore_index is not supported for class-probability"):
        L.cross_entropy(x, cnnkit.tensor(np.full((4, 3), 1 / 3)), ignore_index=1)
    with pytest.raises(ValueError, match=r"cross_entropy: expected input of shape \(N, C\), \(N, C, d1, ...\) or "
                                         r"\(C,\), got a 0-d tensor"):
        L.cross_entropy(cnnkit.tensor(1.0), cnnkit.tensor(0))
    with pytest.raises(TypeError, match="nll_loss: expected a floating-point input, got dtype int64"):
        L.nll_loss(cnnkit.tensor(np.zeros((4, 3), dtype=np.int64)), t)


@pytest.mark.parametrize(("name", "fn", "x", "t"), ALL_LOSSES, ids=[a[0] for a in ALL_LOSSES])
def test_unknown_reduction(name, fn, x, t):
    op = name.removesuffix("_smooth").removesuffix("_probs")
    with pytest.raises(ValueError, match=f"{op}: reduction must be 'mean', 'sum' or 'none', got 'avg'"):
        fn(cnnkit.tensor(x), cnnkit.tensor(t), reduction="avg")


@pytest.mark.parametrize("fn", [L.mse_loss, L.l1_loss, L.smooth_l1_loss, L.binary_cross_entropy,
                                L.binary_cross_entropy_with_logits])
def test_elementwise_losses_refuse_to_broadcast(fn):
    x, t = cnnkit.tensor(np.full((4, 3), 0.5)), cnnkit.tensor(np.full((4, 1), 0.5))
    with pytest.raises(ValueError, match=rf"{fn.__name__}: expected target of the same shape as input \(4, 3\), "
                                         r"got \(4, 1\) \(PyTorch would warn and broadcast"):
        fn(x, t)


def test_binary_loss_argument_errors():
    x, t = cnnkit.tensor(np.full((4, 3), 0.5)), cnnkit.tensor(np.full((4, 3), 0.5))
    with pytest.raises(ValueError, match=r"binary_cross_entropy: all elements of input should be between 0 and 1, "
                                         r"got values in \[0.5, 1.5\]"):
        L.binary_cross_entropy(cnnkit.tensor([0.5, 1.5]), cnnkit.tensor([1.0, 0.0]))
    with pytest.raises(ValueError, match=r"binary_cross_entropy_with_logits: pos_weight of shape \(4,\) does not "
                                         r"broadcast to the input shape \(4, 3\)"):
        L.binary_cross_entropy_with_logits(x, t, pos_weight=cnnkit.ones(4))
    with pytest.raises(ValueError, match=r"binary_cross_entropy: weight of shape \(2, 4, 3\) does not broadcast"):
        L.binary_cross_entropy(x, t, weight=cnnkit.ones((2, 4, 3)))
    with pytest.raises(RuntimeError, match="binary_cross_entropy_with_logits: pos_weight is not differentiable"):
        L.binary_cross_entropy_with_logits(x, t, pos_weight=cnnkit.tensor(np.ones(3), requires_grad=True))


def test_smooth_l1_rejects_negative_beta():
    with pytest.raises(ValueError, match="smooth_l1_loss: beta must be non-negative, got -1.0"):
        L.smooth_l1_loss(cnnkit.ones(3), cnnkit.ones(3), beta=-1.0)

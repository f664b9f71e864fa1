"""Tests for cnnkit/ops/dice.py (the soft Dice loss, and `nn.DiceLoss`): the value against a direct per-class
computation, known values, the classes it scores, float64 finite differences and PyTorch autograd of the same
formula; plus the segmentation use of cross-entropy (N, C, H, W logits, ignore_index=255, class weights)."""

from __future__ import annotations

import numpy as np
import pytest

import cnnkit
import cnnkit.nn.functional as F
from cnnkit import nn
from tests.gradcheck import check_gradients, compare_with_torch, requires_torch


def direct_dice_loss(logits: np.ndarray, target: np.ndarray, ignore_index=255, exclude_background=True, eps=1.0):
    """The formula written out class by class, in float64."""
    z = logits.astype(np.float64)
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    valid = target != ignore_index
    scores = []
    for c in range(logits.shape[1]):
        g = (target == c) & valid
        if not g.any() or (exclude_background and c == 0):
            continue
        pc = p[:, c][valid]
        scores.append((2 * (pc * g[valid]).sum() + eps) / (pc.sum() + g.sum() + eps))
    return 1 - np.mean(scores) if scores else 0.0


def scene_case(seed: int, shape=(2, 4, 5, 6)):
    rng = np.random.default_rng(seed)
    n, c, h, w = shape
    logits = rng.standard_normal(shape).astype(np.float32) * 2
    target = rng.integers(0, c, (n, h, w))
    target[0, :2, :3] = 255  # an ignored band
    target[target == c - 1] = 0  # the last class is absent from the batch
    return logits, target


@pytest.mark.parametrize("exclude_background", [True, False])
@pytest.mark.parametrize("eps", [1.0, 1e-3])
def test_value_matches_direct_formula(exclude_background, eps):
    logits, target = scene_case(0)
    out = F.dice_loss(cnnkit.tensor(logits), cnnkit.tensor(target), exclude_background=exclude_background, eps=eps)
    assert out.dtype == np.float32 and out.shape == ()
    expected = direct_dice_loss(logits, target, exclude_background=exclude_background, eps=eps)
    assert out.item() == pytest.approx(expected, rel=1e-5)


def test_known_values():
    target = np.array([[[0, 1], [1, 255]]])  # one image, 2×2, class 1 on two pixels, one pixel ignored
    perfect = np.where(target[:, None] == np.arange(2)[None, :, None, None], 30.0, -30.0).astype(np.float32)
    assert F.dice_loss(cnnkit.tensor(perfect), cnnkit.tensor(target)).item() == pytest.approx(0, abs=1e-6)
    # all background predicted: I_1 = 0, P_1 ≈ 0, G_1 = 2, so D_1 = ε / (2 + ε) = 1/3 with ε = 1
    background = np.zeros((1, 2, 2, 2), np.float32)
    background[:, 0] = 30
    assert F.dice_loss(cnnkit.tensor(background), cnnkit.tensor(target)).item() == pytest.approx(2 / 3, rel=1e-6)
    # uniform probabilities ½ on the 3 valid pixels: I_1 = 1, P_1 = 1.5, G_1 = 2 → D_1 = 3 / 4.5
    uniform = np.zeros((1, 2, 2, 2), np.float32)
    assert F.dice_loss(cnnkit.tensor(uniform), cnnkit.tensor(target)).item() == pytest.approx(1 - 3 / 4.5, rel=1e-6)


def test_only_classes_present_in_the_batch_are_scored():
    rng = np.random.default_rng(1)
    logits = rng.standard_normal((1, 3, 4, 4)).astype(np.float32)
    target = np.zeros((1, 4, 4), np.int64)
    target[0, 1:3, 1:3] = 2  # class 1 absent: it must not count as 0 or as 1
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    g = target[0] == 2
    d2 = (2 * p[0, 2][g].sum() + 1) / (p[0, 2].sum() + g.sum() + 1)
    assert F.dice_loss(cnnkit.tensor(logits), cnnkit.tensor(target)).item() == pytest.approx(1 - d2, rel=1e-5)
    g0 = target[0] == 0
    d0 = (2 * p[0, 0][g0].sum() + 1) / (p[0, 0].sum() + g0.sum() + 1)
    with_background = F.dice_loss(cnnkit.tensor(logits), cnnkit.tensor(target), exclude_background=False)
    assert with_background.item() == pytest.approx(1 - (d0 + d2) / 2, rel=1e-5)


def test_nothing_to_score_gives_zero_and_zero_gradient():
    x = cnnkit.tensor(np.random.default_rng(2).standard_normal((2, 3, 2, 2)), requires_grad=True)
    for target in (np.zeros((2, 2, 2), np.int64), np.full((2, 2, 2), 255)):
        x.grad = None
        loss = F.dice_loss(x, cnnkit.tensor(target))
        loss.backward()
        assert loss.item() == 0 and not np.any(x.grad.numpy())


@pytest.mark.parametrize("exclude_background", [True, False])
def test_finite_differences(exclude_background):
    logits, target = scene_case(3, shape=(2, 3, 3, 4))
    check_gradients(lambda x: F.dice_loss(x, cnnkit.tensor(target), exclude_background=exclude_background), logits)


def test_finite_differences_flat_input():
    rng = np.random.default_rng(4)
    target = np.array([0, 2, 1, 255, 2])
    check_gradients(lambda x: F.dice_loss(x, cnnkit.tensor(target), eps=0.5), rng.standard_normal((5, 3)))


@requires_torch
def test_matches_pytorch_autograd_of_the_formula():
    import torch

    logits, target = scene_case(5, shape=(3, 5, 8, 8))

    def torch_dice(x, t):
        valid = (t != 255).unsqueeze(1)
        g = torch.nn.functional.one_hot(torch.where(t == 255, 0, t), 5).permute(0, 3, 1, 2) * valid
        p = torch.softmax(x, dim=1) * valid
        dice = (2 * (p * g).sum((0, 2, 3)) + 1) / (p.sum((0, 2, 3)) + g.sum((0, 2, 3)) + 1)
        scored = g.sum((0, 2, 3)) > 0
        scored[0] = False
        return 1 - dice[scored].mean()

    compare_with_torch(lambda x, t: F.dice_loss(x, t), torch_dice, logits, target)


def test_module_matches_functional_and_shows_its_settings():
    logits, target = scene_case(6)
    module = nn.DiceLoss(exclude_background=False, eps=0.5)
    assert repr(module) == "DiceLoss(ignore_index=255, exclude_background=False, eps=0.5)"
    expected = F.dice_loss(cnnkit.tensor(logits), cnnkit.tensor(target), exclude_background=False, eps=0.5)
    assert module(cnnkit.tensor(logits), target).item() == expected.item()


def test_bad_inputs_are_refused():
    x = cnnkit.zeros(2, 3, 4, 4)
    with pytest.raises(IndexError, match="dice_loss: target 7 is out of range for 3 classes"):
        F.dice_loss(x, cnnkit.tensor(np.full((2, 4, 4), 7)))
    with pytest.raises(ValueError, match=r"dice_loss: expected target of shape \(2, 4, 4\) .* got \(2, 4, 5\)"):
        F.dice_loss(x, cnnkit.tensor(np.zeros((2, 4, 5), np.int64)))
    with pytest.raises(TypeError, match="dice_loss: expected a target of integer class indices"):
        F.dice_loss(x, cnnkit.tensor(np.zeros((2, 4, 4), np.float32)))
    with pytest.raises(ValueError, match=r"dice_loss: expected logits of shape \(N, C\)"):
        F.dice_loss(cnnkit.zeros(3), cnnkit.tensor(np.zeros((), np.int64)))
    with pytest.raises(ValueError, match="eps must be non-negative"):
        F.dice_loss(x, cnnkit.tensor(np.zeros((2, 4, 4), np.int64)), eps=-1)


# --------------------------------------------------------------------------- cross-entropy for segmentation
@requires_torch
def test_pixelwise_cross_entropy_ignore_255_and_class_weights_match_pytorch():
    import torch

    logits, target = scene_case(7, shape=(2, 4, 6, 5))
    weight = np.array([0.2, 1.0, 3.0, 0.5], np.float32)
    module = nn.CrossEntropyLoss(weight=cnnkit.tensor(weight), ignore_index=255)
    theirs = torch.nn.CrossEntropyLoss(weight=torch.tensor(weight), ignore_index=255)
    compare_with_torch(module, theirs, logits, target)
    # 'mean' divides by the weights of the non-ignored pixels only: check against the sum
    total = F.cross_entropy(cnnkit.tensor(logits), cnnkit.tensor(target), cnnkit.tensor(weight), 255, "sum")
    valid = target != 255
    mean = module(cnnkit.tensor(logits), target).item()
    assert mean == pytest.approx(total.item() / weight[target[valid]].sum(), rel=1e-5)

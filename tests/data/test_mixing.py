"""MixUp and CutMix: the mixed images and soft labels by their definitions, λ's distribution, repeatability and
refusals."""

from __future__ import annotations

import numpy as np
import pytest

import cnnkit
from cnnkit.data.mixing import CutMix, MixUp, MixUpOrCutMix

CLASSES = 5


def constant_images(batch: int, size: int = 8) -> np.ndarray:
    """Image b is filled with b + 1, so each pixel of a mixed image tells which image it came from."""
    return np.broadcast_to(np.arange(1, batch + 1, dtype=np.float32)[:, None, None, None],
                           (batch, 1, size, size)).copy()


def test_mixup_blends_each_image_with_the_previous_one_by_the_drawn_lambda(rng):
    images = rng.standard_normal((6, 3, 4, 5)).astype(np.float32)
    labels = np.array([0, 1, 2, 3, 4, 0])
    lam = np.random.default_rng(7).beta(0.4, 0.4)  # the transform's first draw with seed 7
    out, targets = MixUp(alpha=0.4, num_classes=CLASSES, seed=7)(images, labels)
    assert out.dtype == np.float32 and targets.dtype == np.float32 and targets.shape == (6, CLASSES)
    for b in range(6):
        np.testing.assert_allclose(out[b], lam * images[b] + (1 - lam) * images[b - 1], rtol=1e-5, atol=1e-6)
        wanted = np.zeros(CLASSES)
        wanted[labels[b]] += lam
        wanted[labels[b - 1]] += 1 - lam
        np.testing.assert_allclose(targets[b], wanted, rtol=1e-6)
    assert not np.shares_memory(out, images)


def test_cutmix_pastes_one_box_of_the_previous_image_and_weights_labels_by_area():
    images = constant_images(4, size=10)
    labels = np.array([1, 2, 3, 4])
    draws = np.random.default_rng(3)
    lam, cx, cy = draws.beta(1.0, 1.0), draws.integers(0, 10), draws.integers(0, 10)
    half = int(0.5 * np.sqrt(1 - lam) * 10)
    out, targets = CutMix(alpha=1.0, num_classes=CLASSES, seed=3)(images, labels)
    pasted = np.zeros((10, 10), bool)
    pasted[max(cy - half, 0):min(cy + half, 10), max(cx - half, 0):min(cx + half, 10)] = True
    for b in range(4):
        np.testing.assert_array_equal(out[b, 0], np.where(pasted, images[b - 1, 0, 0, 0], images[b, 0, 0, 0]))
        kept = (out[b] == b + 1).mean()  # the share of the image's own pixels is its label's weight
        assert targets[b, labels[b]] == pytest.approx(kept)
        assert targets[b, labels[b - 1]] == pytest.approx(1 - kept)
    np.testing.assert_array_equal(images, constant_images(4, size=10))  # the input is left as it was


@pytest.mark.parametrize("mixer", [MixUp, CutMix])
@pytest.mark.parametrize("alpha", [0.2, 1.0])
def test_the_label_weights_follow_beta_alpha_alpha(mixer, alpha):
    # Beta(α, α) has mean ½ and variance 1 / (4(2α + 1)); CutMix's clipped boxes keep a little more of the image
    transform = mixer(alpha=alpha, num_classes=2, seed=11)
    kept = np.array([transform(constant_images(2, size=32), np.array([0, 1]))[1][1, 1] for _ in range(3000)])
    assert kept.min() >= 0 and kept.max() <= 1
    if mixer is MixUp:
        assert kept.mean() == pytest.approx(0.5, abs=0.03)
        assert kept.var() == pytest.approx(1 / (4 * (2 * alpha + 1)), rel=0.1)
    else:
        assert 0.5 < kept.mean() < 0.75


def test_a_seed_repeats_the_sequence_and_the_global_seed_does_too():
    images, labels = constant_images(3), np.array([0, 1, 2])
    runs = [[MixUpOrCutMix(num_classes=3, seed=5)(images, labels)[1] for _ in range(4)] for _ in range(2)]
    np.testing.assert_array_equal(runs[0], runs[1])
    unseeded = []
    for _ in range(2):
        cnnkit.manual_seed(9)
        mixer = MixUpOrCutMix(num_classes=3)
        unseeded.append([mixer(images, labels)[1] for _ in range(4)])
    np.testing.assert_array_equal(unseeded[0], unseeded[1])


def test_mixup_or_cutmix_picks_each_about_half_the_time():
    images, labels = constant_images(2, size=16), np.array([0, 1])
    chooser = MixUpOrCutMix(mixup_alpha=1.0, cutmix_alpha=1.0, num_classes=2, seed=2)
    # a MixUp image holds one value everywhere; a CutMix image holds its own and its neighbour's
    blended = [len(np.unique(chooser(images, labels)[0][0])) == 1 for _ in range(400)]
    assert 0.4 < np.mean(blended) < 0.6
    only_cutmix = MixUpOrCutMix(mixup_alpha=None, cutmix_alpha=1.0, num_classes=2, seed=2)
    assert not any(len(np.unique(only_cutmix(images, labels)[0][0])) == 1 for _ in range(50))


@pytest.mark.parametrize(("make", "message"), [
    (lambda: MixUp(alpha=0, num_classes=3), "MixUp: alpha must be a positive finite number, got 0"),
    (lambda: CutMix(alpha=float("inf"), num_classes=3), "CutMix: alpha must be a positive finite number"),
    (lambda: MixUp(num_classes=0), "MixUp: num_classes must be a positive integer, got 0"),
    (lambda: MixUpOrCutMix(mixup_alpha=None, cutmix_alpha=None, num_classes=3), "give mixup_alpha, cutmix_alpha"),
])
def test_bad_arguments_are_refused(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize(("images", "labels", "message"), [
    (np.zeros((2, 1, 4, 4), np.float32), np.array([0, 3]), r"labels must be in \[0, 3\), got 0..3"),
    (np.zeros((2, 1, 4, 4), np.float32), np.array([0]), r"labels of shape \(2,\), got dtype int64 and shape \(1,\)"),
    (np.zeros((2, 1, 4, 4), np.float32), np.array([0.0, 1.0]), "integer class labels"),
    (np.zeros((1, 4, 4), np.float32), np.array([0]), "expected a batch"),
])
def test_bad_batches_are_refused(images, labels, message):
    with pytest.raises(ValueError, match=message):
        MixUp(num_classes=3)(images, labels)

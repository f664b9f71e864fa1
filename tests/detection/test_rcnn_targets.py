"""Propose-then-classify's training data and loss: R-CNN's IoU rules for labelling crops, the sampler, and the loss
against the same loss written in PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

import cnnkit
from cnnkit.detection.boxes import box_iou
from cnnkit.detection.proposals import Proposer
from cnnkit.detection.rcnn_targets import IGNORED, ProposeClassifyLoss, jitter_boxes, label_proposals, sample_crops
from tests.gradcheck import requires_torch

TRUTH = np.array([[0, 0, 10, 10], [30, 30, 50, 40]], np.float32)
LABELS = np.array([3, 7])


def test_labels_follow_the_iou_rules_by_hand() -> None:
    proposals = np.array(
        [
            [0, 0, 10, 10],  # IoU 1 with box 0 → class 3
            [0, 0, 10, 20],  # IoU 0.5 exactly → class 3 (≥ 0.5)
            [0, 0, 10, 25],  # 0.4 → between: not used
            [0, 0, 10, 33],  # 0.303 → not used
            [0, 0, 10, 34],  # 0.294 < 0.3 → background
            [30, 30, 50, 41],  # 200 / 220 with box 1 → class 7
            [60, 60, 64, 64],  # no overlap → background
        ],
        np.float32,
    )
    labels, match = label_proposals(proposals, TRUTH, LABELS)
    np.testing.assert_array_equal(labels, [3, 3, IGNORED, IGNORED, 0, 7, 0])
    np.testing.assert_array_equal(match[[0, 1, 5]], [0, 0, 1])


def test_fast_rcnn_rule_makes_every_window_below_half_overlap_background() -> None:
    proposals = np.array([[0, 0, 10, 20], [0, 0, 10, 25], [0, 0, 10, 33], [0, 0, 10, 34]], np.float32)  # 0.5 … 0.29
    labels, _ = label_proposals(proposals, TRUTH, LABELS, background_iou=0.5)
    np.testing.assert_array_equal(labels, [3, 0, 0, 0])


def test_near_miss_share_draws_backgrounds_that_touch_an_object(rng, monkeypatch) -> None:
    import cnnkit.detection.rcnn_targets as targets_module

    cut = []  # the boxes sample_crops crops, in its order: positives, near misses, then any background
    monkeypatch.setattr(targets_module, "crop_and_resize",
                        lambda images, boxes, owners, size: cut.append(boxes) or np.zeros((len(boxes), 1, size, size)))
    padded = np.array([[[7, 20, 20, 44, 44]]], np.float32)
    _, targets = sample_crops(np.zeros((1, 1, 64, 64), np.float32), padded, Proposer(), rng, positives=2,
                              negatives=8, background_iou=0.5, near_miss_share=0.75)
    iou = box_iou(cut[0], padded[0, :, 1:])[:, 0]
    np.testing.assert_array_equal(targets[:, 0], [7, 7] + [0] * 8)
    assert (iou[:2] >= 0.5).all() and (iou[2:] < 0.5).all()
    assert ((iou[2:8] >= 0.1) & (iou[2:8] < 0.5)).all()  # round(0.75 · 8) = 6 near misses, then 2 from all


def test_without_ground_truth_everything_is_background() -> None:
    labels, _ = label_proposals(np.array([[0, 0, 5, 5]], np.float32), np.zeros((0, 4), np.float32), np.zeros(0))
    np.testing.assert_array_equal(labels, [0])


def test_jittered_boxes_stay_near_their_box_and_inside_the_image(rng) -> None:
    jittered = jitter_boxes(TRUTH, rng, copies=50, image_size=64)
    assert jittered.shape == (100, 4) and (jittered >= 0).all() and (jittered <= 64).all()
    iou = box_iou(jittered[50:], TRUTH[1:])[:, 0]
    assert np.median(iou) > 0.6


def test_sampled_crops_are_labelled_by_the_rules_and_carry_offsets_to_their_box(rng) -> None:
    images = np.zeros((2, 1, 64, 64), np.float32)
    images[0, 0, 30:40, 30:50] = 1
    images[1, 0, 5:25, 40:60] = 1
    padded = np.zeros((2, 2, 5), np.float32)
    padded[0] = [[7, 30, 30, 50, 40], [0, 0, 0, 0, 0]]
    padded[1] = [[2, 40, 5, 60, 25], [0, 0, 0, 0, 0]]
    crops, targets = sample_crops(images, padded, Proposer(), rng, positives=3, negatives=5)
    assert crops.shape == (16, 1, 28, 28) and targets.shape == (16, 5)
    np.testing.assert_array_equal(targets[:, 0], [7] * 3 + [0] * 5 + [2] * 3 + [0] * 5)
    assert (np.abs(targets[[0, 1, 2, 8, 9, 10], 1:]) < 10).all() and not targets[[3, 4, 5, 6, 7], 1:].any()
    assert crops[:3].mean() > 0.5 and crops[3:8].mean() < crops[:3].mean()
    _, labels_only = sample_crops(images, padded, Proposer(), rng, positives=3, negatives=5, box_regression=False)
    assert labels_only.shape == (16, 1)


@requires_torch
def test_loss_and_gradient_match_pytorch(rng) -> None:
    import torch

    outputs = rng.standard_normal((12, 15)).astype(np.float32)
    targets = np.zeros((12, 5), np.float32)
    targets[:, 0] = [0, 3, 0, 0, 10, 1, 0, 0, 5, 0, 0, 2]
    positive = targets[:, 0] > 0
    targets[positive, 1:] = rng.standard_normal((positive.sum(), 4))
    x = cnnkit.tensor(outputs, requires_grad=True)
    loss = ProposeClassifyLoss()(x, cnnkit.tensor(targets))
    loss.backward()
    tx = torch.tensor(outputs, requires_grad=True)
    expected = torch.nn.functional.cross_entropy(tx[:, :11], torch.tensor(targets[:, 0]).long())
    box = torch.nn.functional.smooth_l1_loss(
        tx[positive][:, 11:], torch.tensor(targets[positive, 1:]), reduction="sum", beta=1 / 9
    )
    expected = expected + box / 12
    expected.backward()
    np.testing.assert_allclose(loss.item(), expected.item(), rtol=1e-5)
    np.testing.assert_allclose(x.grad._data, tx.grad.numpy(), rtol=1e-4, atol=1e-6)


def test_loss_refuses_targets_of_the_wrong_width() -> None:
    with pytest.raises(ValueError, match=r"targets \(M, 5\), got \(4, 15\) and \(4, 1\)"):
        ProposeClassifyLoss()(cnnkit.zeros(4, 15), cnnkit.zeros(4, 1))

"""Proposals: sliding windows (shapes, positions, the far edges), the empty-window filter, connected-component
boxes, and the recall of the windows on scenes built from a tiny Fashion-MNIST."""

from __future__ import annotations

import numpy as np
import pytest

from cnnkit.detection.boxes import box_iou
from cnnkit.detection.proposals import (
    Proposer,
    component_boxes,
    foreground_fraction,
    positions,
    sliding_windows,
    window_shapes,
)
from tests.training.tiny_data import write_tiny_fashion


def test_window_shapes_keep_the_area_and_the_aspect_ratio() -> None:
    assert window_shapes([16], [0.5, 1, 2], 64) == [(23, 11), (16, 16), (11, 23)]  # 16/√0.5 = 22.6, 16·√0.5 = 11.3
    assert window_shapes([48], [2.0], 64) == [(34, 64)]  # 67.9 px tall, cut to the image


def test_positions_end_flush_with_the_far_edge() -> None:
    np.testing.assert_array_equal(positions(64, 16, 4), np.arange(0, 49, 4))
    np.testing.assert_array_equal(positions(64, 23, 6), [0, 6, 12, 18, 24, 30, 36, 41])


def test_sliding_windows_lie_inside_the_image_and_cover_every_pixel() -> None:
    windows = sliding_windows(64, sizes=(16, 32), ratios=(1.0,), stride=8)  # 7 × 7 + 5 × 5
    assert windows.dtype == np.float32 and len(windows) == 7 * 7 + 5 * 5
    assert (windows >= 0).all() and (windows[:, 2:] <= 64).all()
    covered = np.zeros((64, 64), bool)
    for x1, y1, x2, y2 in windows[:49].astype(int):
        covered[y1:y2, x1:x2] = True
    assert covered.all()
    with pytest.raises(ValueError, match="stride must be at least 1"):
        sliding_windows(stride=0)


def test_foreground_fraction_by_hand() -> None:
    mask = np.zeros((1, 8, 8), bool)
    mask[0, 0:4, 0:2] = True
    boxes = np.array([[0, 0, 2, 4], [0, 0, 4, 4], [4, 4, 8, 8]], np.float32)
    np.testing.assert_allclose(foreground_fraction(mask, boxes), [[1.0, 0.5, 0.0]])


def test_empty_windows_are_dropped_and_a_blank_image_proposes_nothing() -> None:
    images = np.zeros((2, 1, 64, 64), np.float32)
    images[0, 0, 40:56, 40:56] = 1  # exactly one of the 16×16 windows at stride 4
    proposer = Proposer(stride=4, min_foreground=0.2)
    first, blank = proposer(images)
    assert len(blank) == 0 and 0 < len(first) < len(proposer.windows())
    assert (np.nan_to_num(box_iou(np.array([[40, 40, 56, 56]], np.float32), first)).max()) == 1.0


def test_component_boxes_find_separate_blobs_and_the_union_of_touching_ones() -> None:
    images = np.zeros((1, 1, 32, 32), np.float32)
    images[0, 0, 2:8, 2:10] = 0.9  # a blob
    images[0, 0, 8:12, 9:14] = 0.5  # touching it diagonally-below
    images[0, 0, 20:30, 20:28] = 0.7  # a separate blob
    images[0, 0, 0, 31] = 0.9  # one pixel: below min_area
    [boxes] = component_boxes(images, min_area=12)
    expected = {(2, 2, 14, 12), (20, 20, 28, 30)}  # the two touching rectangles are one 8-connected component
    assert {tuple(int(v) for v in b) for b in boxes} == expected


def test_components_add_their_boxes_to_the_windows() -> None:
    images = np.zeros((1, 1, 64, 64), np.float32)
    images[0, 0, 5:17, 30:37] = 1
    plain, with_components = Proposer(components=False)(images), Proposer(components=True)(images)
    assert len(with_components[0]) == len(plain[0]) + 1
    np.testing.assert_array_equal(with_components[0][-1], [30, 5, 37, 17])


def test_sliding_windows_cover_the_true_boxes_of_scenes(tmp_path) -> None:
    from cnnkit.data.scenes import FashionScenes

    data = write_tiny_fashion(tmp_path, n_train=200, n_test=20)
    scenes = FashionScenes(root=data, split="train", num_scenes=40, val_items=60)
    images = scenes.images[:, None].astype(np.float32) / 255
    proposals = Proposer()(images)  # the model's defaults: stride 6, empty windows dropped
    found = total = 0
    for i, own in enumerate(proposals):
        truth = scenes.scenes.boxes[scenes.scenes.objects(i)]
        best = np.nan_to_num(box_iou(truth, own)).max(axis=1)
        found, total = found + int((best >= 0.5).sum()), total + len(truth)
    assert total > 60 and found / total >= 0.98
    assert np.mean([len(p) for p in proposals]) < 640  # about 400 windows a scene survive

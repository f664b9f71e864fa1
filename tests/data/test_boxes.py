"""Tight boxes (pixel edges, half-open) and box IoU (from cnnkit.detection) on hand-computed cases."""

from __future__ import annotations

import numpy as np

from cnnkit.data.boxes import tight_box, tight_boxes
from cnnkit.detection.boxes import box_iou


def test_tight_box_is_half_open_in_pixel_edges():
    mask = np.zeros((6, 8), dtype=bool)
    mask[2:4, 3:7] = True
    assert tight_box(mask).tolist() == [3, 2, 7, 4]


def test_empty_masks_get_zero_boxes():
    masks = np.zeros((2, 4, 4), dtype=bool)
    masks[1, 3, 3] = True
    assert tight_boxes(masks).tolist() == [[0, 0, 0, 0], [3, 3, 4, 4]]


def test_box_iou_hand_values():
    a = np.array([[0, 0, 2, 2]])
    b = np.array([[1, 1, 3, 3], [2, 0, 4, 2], [0, 0, 2, 2], [0, 0, 0, 0]])
    assert np.allclose(box_iou(a, b), [[1 / 7, 0, 1, 0]])

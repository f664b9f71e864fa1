"""Box operations against a direct pair-by-pair reference written here (torchvision does not install beside
torch 2.13), on 1,000+ random cases, and on hand-made cases: score ties, IoU exactly at the threshold, empty
input, degenerate boxes; box_convert round trips; dtypes and errors."""

from __future__ import annotations

import numpy as np
import pytest

from cnnkit.detection import (
    batched_nms,
    box_area,
    box_convert,
    box_iou,
    clip_boxes_to_image,
    generalized_box_iou,
    nms,
    remove_small_boxes,
)


def pair_iou(a, b) -> float:
    """IoU of two xyxy boxes, one pair at a time in Python floats (0/0 → NaN, as torchvision)."""
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float("nan") if union == 0 else inter / union


def reference_nms(boxes, scores, threshold, groups=None) -> list[int]:
    """torchvision's CPU kernel written out: visit by descending score, suppress later boxes of the same group
    whose IoU with the visited kept box is > threshold."""
    order = sorted(range(len(boxes)), key=lambda i: -scores[i])
    suppressed = [False] * len(boxes)
    keep = []
    for pos, i in enumerate(order):
        if suppressed[i]:
            continue
        keep.append(i)
        for j in order[pos + 1 :]:
            same = groups is None or groups[i] == groups[j]
            if not suppressed[j] and same and pair_iou(boxes[i], boxes[j]) > threshold:
                suppressed[j] = True
    return keep


def random_boxes(rng: np.random.Generator, n: int, size: float = 64.0) -> np.ndarray:
    xy = rng.uniform(0, size, (n, 2))
    wh = rng.uniform(1, size / 2, (n, 2))
    return np.concatenate([xy, xy + wh], axis=1).astype(np.float32)


def test_box_iou_agrees_with_pairs_on_random_cases(rng):
    for _ in range(1000):
        a, b = random_boxes(rng, rng.integers(0, 5)), random_boxes(rng, rng.integers(0, 5))
        iou = box_iou(a, b)
        assert iou.shape == (len(a), len(b)) and iou.dtype == np.float32
        expected = [[pair_iou(x.astype(float), y.astype(float)) for y in b] for x in a]
        np.testing.assert_allclose(iou, np.reshape(expected, iou.shape), rtol=1e-5, atol=1e-6)


def test_box_iou_hand_values_and_degenerate_boxes():
    a = np.array([[0, 0, 2, 2]], np.float32)
    b = np.array([[1, 1, 3, 3], [2, 0, 4, 2], [0, 0, 2, 2], [0, 0, 0, 0], [5, 5, 5, 9]], np.float32)
    np.testing.assert_allclose(box_iou(a, b), [[1 / 7, 0, 1, 0, 0]])  # touching edges: 0; zero-area box: 0
    # two zero-area boxes: 0 / 0 = NaN, as torchvision
    assert np.isnan(box_iou([[1, 1, 1, 1]], [[1, 1, 1, 1]])[0, 0])
    assert np.isnan(box_iou([[1, 1, 1, 5]], [[3, 3, 3, 3]])[0, 0])
    assert box_iou(np.zeros((0, 4)), b).shape == (0, 5) and box_iou(a, []).shape == (1, 0)


def test_dtypes_float32_in_float32_out_float64_kept_indices_int64():
    ints = np.array([[0, 0, 4, 4], [2, 2, 6, 6]])
    assert box_iou(ints, ints).dtype == np.float32 and box_area(ints).dtype == np.float32
    assert box_iou(ints.astype(np.float64), ints).dtype == np.float64
    assert box_convert(ints, "xyxy", "cxcywh").dtype == np.float32
    assert nms(ints, np.array([0.5, 0.9]), 0.5).dtype == np.int64
    assert nms(np.zeros((0, 4)), np.zeros(0), 0.5).dtype == np.int64


def test_box_area_and_generalized_iou_hand_values():
    boxes = np.array([[0, 0, 2, 3], [1, 1, 1, 4]], np.float32)
    np.testing.assert_array_equal(box_area(boxes), [6, 0])
    a, b = np.array([[0, 0, 2, 2]]), np.array([[0, 0, 2, 2], [3, 0, 5, 2], [1, 1, 3, 3]])
    # disjoint: IoU 0, enclosing box 5×2 = 10, union 8 → −2/10; overlapping: 1/7 − (9 − 7)/9
    np.testing.assert_allclose(generalized_box_iou(a, b), [[1.0, -0.2, 1 / 7 - 2 / 9]], rtol=1e-6)


def test_nms_agrees_with_pairs_on_random_cases(rng):
    for case in range(1000):
        n = int(rng.integers(0, 25))
        boxes = random_boxes(rng, n, size=40.0)
        scores = rng.permutation(n).astype(np.float32) / max(n, 1)  # distinct scores: order among ties unspecified
        threshold = float(rng.choice([0.1, 0.3, 0.5, 0.7]))
        expected = reference_nms(boxes.astype(float).tolist(), scores.tolist(), threshold)
        assert nms(boxes, scores, threshold).tolist() == expected, f"case {case}"


def test_batched_nms_agrees_with_pairs_on_random_cases(rng):
    for case in range(1000):
        n = int(rng.integers(0, 25))
        boxes = random_boxes(rng, n, size=40.0)
        scores = rng.permutation(n).astype(np.float32) / max(n, 1)
        idxs = rng.integers(0, 3, n)
        threshold = float(rng.choice([0.1, 0.3, 0.5, 0.7]))
        expected = reference_nms(boxes.astype(float).tolist(), scores.tolist(), threshold, idxs.tolist())
        assert batched_nms(boxes, scores, idxs, threshold).tolist() == expected, f"case {case}"


def test_nms_iou_exactly_at_the_threshold_is_kept():
    boxes = np.array([[0, 0, 2, 1], [0, 0, 1, 1], [0, 0, 2, 1.5]], np.float32)  # IoU(0, 1) = 1/2, IoU(0, 2) = 2/3
    scores = np.array([0.9, 0.8, 0.7], np.float32)
    assert nms(boxes, scores, 0.5).tolist() == [0, 1]  # 0.5 is not > 0.5: kept; 2/3 > 0.5: suppressed
    assert nms(boxes, scores, 0.4999).tolist() == [0]
    assert nms(boxes, scores, 2 / 3).tolist() == [0, 1, 2]


def test_nms_chain_suppressed_box_does_not_suppress():
    # A suppresses B, B would suppress C, but B is gone, so C survives
    boxes = np.array([[0, 0, 10, 10], [4, 0, 14, 10], [8, 0, 18, 10]], np.float32)
    assert nms(boxes, np.array([0.9, 0.8, 0.7]), 0.3).tolist() == [0, 2]


def test_nms_score_ties_follow_input_order():
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [30, 30, 40, 40], [0, 1, 10, 11]], np.float32)
    scores = np.array([0.5, 0.5, 0.9, 0.5], np.float32)
    # the documented rule: a stable sort, so among equal scores the lower index is visited first
    assert nms(boxes, scores, 0.5).tolist() == [2, 0]
    assert nms(boxes[::-1].copy(), scores[::-1].copy(), 0.5).tolist() == [1, 0]


def test_nms_output_is_in_descending_score_order_and_keeps_disjoint_boxes():
    boxes = np.array([[0, 0, 1, 1], [5, 5, 6, 6], [10, 10, 11, 11]], np.float32)
    scores = np.array([0.1, 0.7, 0.4], np.float32)
    assert nms(boxes, scores, 0.0).tolist() == [1, 2, 0]


def test_nms_degenerate_boxes_never_suppress():
    # zero-area boxes: IoU 0 with others and NaN with each other; neither is > threshold
    boxes = np.array([[2, 2, 2, 2], [2, 2, 2, 2], [0, 0, 4, 4]], np.float32)
    assert nms(boxes, np.array([0.9, 0.8, 0.7]), 0.0).tolist() == [0, 1, 2]


def test_empty_input():
    assert nms(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), 0.5).shape == (0,)
    assert batched_nms(np.zeros((0, 4)), np.zeros(0), np.zeros(0, np.int64), 0.5).shape == (0,)
    assert box_area(np.zeros((0, 4))).shape == (0,)
    assert box_convert(np.zeros((0, 4)), "xyxy", "xywh").shape == (0, 4)


def test_batched_nms_keeps_overlapping_boxes_of_other_classes():
    boxes = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [1, 0, 11, 10]], np.float32)
    scores = np.array([0.9, 0.8, 0.7], np.float32)
    assert batched_nms(boxes, scores, np.array([1, 2, 1]), 0.5).tolist() == [0, 1]
    assert batched_nms(boxes, scores, np.array([1, 2, 3]), 0.5).tolist() == [0, 1, 2]


@pytest.mark.parametrize("fmt", ["xywh", "cxcywh", "xyxy"])
def test_box_convert_round_trips(rng, fmt):
    boxes = random_boxes(rng, 50)
    there = box_convert(boxes, "xyxy", fmt)
    np.testing.assert_allclose(box_convert(there, fmt, "xyxy"), boxes, rtol=1e-6, atol=1e-5)
    for other in ("xyxy", "xywh", "cxcywh"):
        np.testing.assert_allclose(box_convert(box_convert(there, fmt, other), other, fmt), there, rtol=1e-6, atol=1e-5)


def test_box_convert_hand_values():
    box = np.array([[1, 2, 5, 8]], np.float32)
    np.testing.assert_array_equal(box_convert(box, "xyxy", "xywh"), [[1, 2, 4, 6]])
    np.testing.assert_array_equal(box_convert(box, "xyxy", "cxcywh"), [[3, 5, 4, 6]])
    np.testing.assert_array_equal(box_convert([[3, 5, 4, 6]], "cxcywh", "xywh"), [[1, 2, 4, 6]])
    out = box_convert(box, "xyxy", "xyxy")
    out[0, 0] = 99
    assert box[0, 0] == 1  # a copy, never the input


def test_clip_and_remove_small():
    boxes = np.array([[-3, -1, 70, 20], [10, 60, 20, 80]], np.float32)
    np.testing.assert_array_equal(clip_boxes_to_image(boxes, (64, 48)), [[0, 0, 48, 20], [10, 60, 20, 64]])
    small = np.array([[0, 0, 2, 5], [0, 0, 3, 3], [0, 0, 5, 2.9]], np.float32)
    assert remove_small_boxes(small, 3).tolist() == [1]
    assert remove_small_boxes(small, 3).dtype == np.int64


def test_bad_input_names_the_function_and_shapes():
    with pytest.raises(ValueError, match=r"box_iou: expected boxes2 of shape \(N, 4\), got shape \(2, 3\)"):
        box_iou(np.zeros((1, 4)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"nms: expected scores of shape \(2,\) for 2 boxes, got shape \(3,\)"):
        nms(np.zeros((2, 4)), np.zeros(3), 0.5)
    with pytest.raises(ValueError, match=r"batched_nms: expected idxs of shape \(2,\)"):
        batched_nms(np.zeros((2, 4)), np.zeros(2), np.zeros(1), 0.5)
    with pytest.raises(ValueError, match="box_convert: in_fmt must be one of xyxy, xywh, cxcywh; got 'xyzz'"):
        box_convert(np.zeros((1, 4)), "xyzz", "xyxy")

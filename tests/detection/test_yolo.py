"""YOLO v1: the network's shapes and output ranges, target encoding and decoding (a round trip), collisions,
mirrored targets, and decoding's scores, NMS and limits."""

from __future__ import annotations

import numpy as np
import pytest

import cnnkit
from cnnkit.detection.yolo import YOLOv1, decode_predictions, encode_targets, flip_targets, yolo_v1

BOXES = [
    np.array([[3, 5, 20, 30], [30, 2, 60, 24], [33, 40, 48, 63]], np.float32),
    np.zeros((0, 4), np.float32),
    np.array([[0, 0, 64, 64]], np.float32),
]
LABELS = [np.array([1, 10, 4]), np.zeros(0, np.int64), np.array([7])]


def test_network_output_shape_and_ranges() -> None:
    cnnkit.manual_seed(0)
    model = yolo_v1(width=4)
    out = model(cnnkit.randn(2, 1, 64, 64))._data
    assert out.shape == (2, 8, 8, 20) and out.dtype == np.float32
    assert ((out[..., :10] > 0) & (out[..., :10] < 1)).all()  # sigmoids on x, y, √w, √h, conf
    np.testing.assert_allclose(out[..., 10:].sum(-1), 1, rtol=1e-5)  # a softmax over the 10 classes


def test_default_model_has_the_registered_parameter_count() -> None:
    from cnnkit.models import model_info

    model = yolo_v1()
    assert sum(p._data.size for p in model.parameters()) == model_info("yolo").num_params


def test_wrong_input_size_is_refused_naming_the_expected_shape() -> None:
    with pytest.raises(ValueError, match=r"expected input of shape \(N, 1, 64, 64\), got \(1, 1, 32, 32\)"):
        yolo_v1(width=4)(cnnkit.zeros(1, 1, 32, 32))
    with pytest.raises(ValueError, match="power of two"):
        YOLOv1(grid=7)


def test_encoding_by_hand() -> None:
    targets, dropped = encode_targets(BOXES, LABELS, num_classes=10)
    assert targets.shape == (3, 8, 8, 15) and dropped == 0
    assert (targets[..., 4] > 0).sum() == 4
    # box (3, 5, 20, 30): centre (11.5, 17.5) → cell row 2, col 1, offsets (11.5/8 − 1, 17.5/8 − 2)
    np.testing.assert_allclose(
        targets[0, 2, 1, :5], [11.5 / 8 - 1, 17.5 / 8 - 2, np.sqrt(17 / 64), np.sqrt(25 / 64), 1], rtol=1e-6
    )
    assert targets[0, 2, 1, 5:].argmax() == 0 and targets[0, 2, 1, 5:].sum() == 1
    assert targets[2, 4, 4, 5 + 6] == 1  # the whole-image box: centre (32, 32) is cell (4, 4); label 7
    assert not targets[1].any()


def test_encode_then_decode_gives_back_every_box() -> None:
    targets, _ = encode_targets(BOXES, LABELS, num_classes=10)
    decoded = decode_predictions(targets, boxes_per_cell=1, score_threshold=0.5)
    for got, boxes, labels in zip(decoded, BOXES, LABELS, strict=True):
        order = np.argsort(got["labels"])
        expected = np.argsort(labels)
        np.testing.assert_allclose(got["boxes"][order], boxes[expected], atol=1e-4)
        np.testing.assert_array_equal(got["labels"][order], labels[expected])
        np.testing.assert_allclose(got["scores"], 1)
        assert got["boxes"].dtype == np.float32 and got["labels"].dtype == np.int64


def test_two_centres_in_one_cell_keep_the_larger_box_and_are_counted() -> None:
    boxes = [np.array([[2, 2, 12, 12], [0, 0, 14, 14], [40, 40, 50, 50]], np.float32)]  # both centres in (0, 0)
    targets, dropped = encode_targets(boxes, [np.array([3, 5, 2])], num_classes=10)
    assert dropped == 1
    assert targets[0, 0, 0, 5:].argmax() == 4  # the 14×14 box's label 5
    np.testing.assert_allclose(targets[0, 0, 0, 2], np.sqrt(14 / 64))


def test_labels_out_of_range_are_refused() -> None:
    with pytest.raises(ValueError, match=r"labels must be 1…10.*got 0…3"):
        encode_targets([np.array([[0, 0, 5, 5], [9, 9, 20, 20]], np.float32)], [np.array([0, 3])], num_classes=10)


def test_flipped_targets_are_the_targets_of_the_mirrored_boxes() -> None:
    targets, _ = encode_targets(BOXES, LABELS, num_classes=10)
    mirrored = [np.stack([64 - b[:, 2], b[:, 1], 64 - b[:, 0], b[:, 3]], axis=1) for b in BOXES]
    expected, _ = encode_targets(mirrored, LABELS, num_classes=10)
    chosen = np.array([True, True, False])  # (the whole-image box's centre lies on a cell edge: see below)
    got = flip_targets(targets, chosen)
    np.testing.assert_allclose(got[chosen], expected[chosen], atol=1e-6)
    np.testing.assert_array_equal(got[~chosen], targets[~chosen])


def test_a_centre_on_a_cell_edge_stays_in_its_mirrored_cell_as_the_same_box() -> None:
    boxes = [np.array([[33, 40, 47, 63]], np.float32)]  # centre x = 40: the left edge of column 5
    targets, _ = encode_targets(boxes, [np.array([2])], num_classes=10)
    got = flip_targets(targets, np.array([True]))
    assert got[0, 6, 2, 0] == 1.0  # column 5 mirrored is column 2, with the centre on its right edge
    [out] = decode_predictions(got, boxes_per_cell=1, score_threshold=0.5)
    np.testing.assert_allclose(out["boxes"], [[64 - 47, 40, 64 - 33, 63]], atol=1e-4)


def test_decoding_scores_are_confidence_times_class_probability_and_nms_applies_per_class() -> None:
    p = np.zeros((1, 8, 8, 20), np.float32)
    p[0, 3, 3, :5] = [0.5, 0.5, 0.5, 0.5, 0.8]  # a 16×16 box centred on (28, 28): (20, 20)–(36, 36)
    p[0, 3, 3, 5:10] = [0.5, 0.5, 0.5, 0.5, 0.6]  # the same box again, less confident
    p[0, 3, 3, 10:] = 0.0
    p[0, 3, 3, 10 + 2], p[0, 3, 3, 10 + 5] = 0.75, 0.25
    [out] = decode_predictions(p, boxes_per_cell=2, score_threshold=0.1, iou_threshold=0.5)
    # class 3: 0.8·0.75 = 0.6 kept, 0.6·0.75 = 0.45 suppressed by it (IoU 1); class 6: 0.8·0.25 = 0.2 kept,
    # 0.6·0.25 = 0.15 suppressed
    np.testing.assert_allclose(out["scores"], [0.6, 0.2], rtol=1e-6)
    np.testing.assert_array_equal(out["labels"], [3, 6])
    np.testing.assert_allclose(out["boxes"], [[20, 20, 36, 36]] * 2, atol=1e-5)
    [few] = decode_predictions(p, boxes_per_cell=2, score_threshold=0.1, max_detections=1)
    np.testing.assert_allclose(few["scores"], [0.6], rtol=1e-6)
    [none] = decode_predictions(p, boxes_per_cell=2, score_threshold=0.7)
    assert none["boxes"].shape == (0, 4) and none["labels"].shape == (0,)


def test_decoded_boxes_are_clipped_to_the_image() -> None:
    p = np.zeros((1, 8, 8, 15), np.float32)
    p[0, 0, 0, :5] = [0.0, 0.0, 0.5, 0.5, 1.0]  # a 16×16 box centred on the corner
    p[0, 0, 0, 5] = 1
    [out] = decode_predictions(p, boxes_per_cell=1)
    np.testing.assert_allclose(out["boxes"], [[0, 0, 8, 8]])


def test_decoding_refuses_a_wrong_layout() -> None:
    with pytest.raises(ValueError, match=r"expected predictions \(N, S, S, 2·5 \+ C\), got \(1, 8, 8, 10\)"):
        decode_predictions(np.zeros((1, 8, 8, 10), np.float32), boxes_per_cell=2)

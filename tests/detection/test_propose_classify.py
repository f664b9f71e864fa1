"""The propose-then-classify model: its classifier's shapes, and detect() on whole scenes (format, scores,
per-class NMS, the cap of 100)."""

from __future__ import annotations

import numpy as np
import pytest

import cnnkit
from cnnkit.detection.propose_classify import ProposeClassify, crop_rules, propose_classify, select


def test_classifier_has_eleven_classes_and_four_offsets() -> None:
    cnnkit.manual_seed(0)
    model = propose_classify()
    assert model(cnnkit.randn(5, 1, 28, 28)).shape == (5, 15)
    assert ProposeClassify(box_regression=False)(cnnkit.randn(2, 1, 28, 28)).shape == (2, 11)
    with pytest.raises(ValueError, match=r"detect\(\) takes whole images"):
        model(cnnkit.zeros(1, 1, 64, 64))
    with pytest.raises(ValueError, match="backbone must be one of"):
        ProposeClassify(backbone="resnet50")


def test_crop_labelling_rules_are_checked_and_follow_the_model_arguments() -> None:
    assert crop_rules({}) == {"box_regression": True, "background_iou": 0.3, "near_miss_share": 0.0}
    fast = {"background_iou": 0.5, "near_miss_share": 0.5, "box_regression": False}
    model = ProposeClassify(**fast)
    assert crop_rules(fast) == {key: getattr(model, key) for key in fast}
    assert model.crop_rules() == crop_rules(fast) and propose_classify().crop_rules() == crop_rules({})
    with pytest.raises(ValueError, match=r"background_iou must lie in \(0.1, 0.5\]"):
        ProposeClassify(background_iou=0.6)
    with pytest.raises(ValueError, match=r"near_miss_share must lie in \[0, 1\]"):
        ProposeClassify(near_miss_share=-0.1)


def test_detect_gives_boxes_scores_and_labels_per_image() -> None:
    cnnkit.manual_seed(0)
    model = propose_classify()
    images = np.zeros((3, 1, 64, 64), np.float32)
    images[:2, 0, 10:40, 20:44] = 1
    found = model.detect(images, score_threshold=0.0)
    assert len(found) == 3 and found[2]["boxes"].shape == (0, 4)  # a blank image has no proposals
    first = found[0]
    assert 0 < len(first["boxes"]) <= 100 and first["boxes"].dtype == np.float32
    assert ((first["labels"] >= 1) & (first["labels"] <= 10)).all() and first["labels"].dtype == np.int64
    assert (np.diff(first["scores"]) <= 0).all() and (first["boxes"] >= 0).all() and (first["boxes"] <= 64).all()
    # The same scene, the same answer: the same labelled boxes to a few float32 ulps, since BLAS may block the two
    # copies' columns of one matrix product differently (NumPy 2.4.6 gives 5 of 400 coordinates 1-5 ulps apart);
    # scores equal to an ulp may then list two boxes in either order, so compare them sorted.
    def ordered(detections):
        rows = np.column_stack([detections["labels"], detections["scores"].round(5), detections["boxes"].round(3)])
        return rows[np.lexsort(rows.T[::-1])]

    first_sorted, second_sorted = ordered(found[0]), ordered(found[1])
    np.testing.assert_array_equal(first_sorted[:, 0], second_sorted[:, 0])
    np.testing.assert_allclose(first_sorted[:, 2:], second_sorted[:, 2:], rtol=1e-5, atol=0)
    assert model.training  # detect() restores the mode it found


def test_select_keeps_the_best_box_of_each_class_among_overlapping_ones() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [40, 40, 50, 50]], np.float32)
    probabilities = np.zeros((3, 10), np.float32)
    probabilities[:, 4] = [0.9, 0.8, 0.7]  # class 5: the second box overlaps the first (IoU 0.82)
    probabilities[1, 0] = 0.2  # class 1 on the second box: another class, not suppressed
    out = select(boxes, probabilities, score_threshold=0.1, iou_threshold=0.5, max_detections=100)
    np.testing.assert_allclose(out["scores"], [0.9, 0.7, 0.2])
    np.testing.assert_array_equal(out["labels"], [5, 5, 1])
    np.testing.assert_array_equal(out["boxes"][0], [0, 0, 10, 10])


def test_the_trainer_proposes_as_the_model_does() -> None:
    from cnnkit.detection.propose_classify import proposer_for

    args = {"stride": 8, "sizes": [20, 30], "min_foreground": 0.3, "backbone": "lenet5"}
    assert proposer_for(args) == ProposeClassify(**args).proposer
    assert proposer_for({}) == propose_classify().proposer


def test_refinements_reclassify_the_moved_boxes_and_average_the_passes() -> None:
    from cnnkit.detection.crops import crop_and_resize
    from cnnkit.detection.propose_classify import softmax

    images = np.zeros((1, 1, 64, 64), np.float32)
    images[0, 0, :, 20:] = 1.0  # the right part of the image is bright

    class Classifier(cnnkit.nn.Module):
        def forward(self, crops: cnnkit.Tensor) -> cnnkit.Tensor:
            # class 1's logit grows with the crop's brightness; every box moves right by a tenth of its width (tx = 1)
            logits = np.zeros((len(crops._data), 15), np.float32)
            logits[:, 1] = 10 * crops._data.mean(axis=(1, 2, 3))
            logits[:, 11] = 1.0
            return cnnkit.Tensor(logits)

    start = np.array([[8, 8, 24, 24]], np.float32)
    for refinements in (0, 1, 2):
        model = ProposeClassify(refinements=refinements)
        model.proposer = lambda images: [start] * len(images)
        model.classifier = Classifier()
        found = model.detect(images, score_threshold=0.0, max_detections=1)[0]
        boxes = [start + np.float32([1.6 * k, 0, 1.6 * k, 0]) for k in range(refinements + 1)]
        brightness = [crop_and_resize(images, box, np.zeros(1)).mean() for box in boxes]
        expected = np.mean([softmax(np.float32([[0, 10 * b] + [0] * 9]))[0, 1] for b in brightness])
        np.testing.assert_allclose(found["boxes"][0], boxes[-1][0] + [1.6, 0, 1.6, 0], atol=1e-4)
        np.testing.assert_allclose(found["scores"][0], expected, rtol=1e-5)
        assert found["labels"][0] == 1
    assert ProposeClassify(box_regression=False, refinements=3).refinements == 0  # nothing would move
    with pytest.raises(ValueError, match="refinements must be an int"):
        ProposeClassify(refinements=-1)

"""Detection metrics: VOC AP against the VOC devkit's algorithm written out here (voc_eval.py), the COCO numbers
against pycocotools (a test dependency; skipped when absent) to 1e-6 on random ground truth and detections with
crowd regions, classes with no objects and images with none, and hand-made cases from the reference notes."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest

from cnnkit.metrics import DetectionEvaluator, average_precision, match_detections

# ----------------------------------------------------------------------------------- the VOC devkit, written out


def devkit_voc_ap(rec, prec, use_07_metric=False):
    """voc_eval.py's voc_ap, line for line."""
    if use_07_metric:
        ap = 0.0
        for t in np.arange(0.0, 1.1, 0.1):
            p = 0 if np.sum(rec >= t) == 0 else np.max(prec[rec >= t])
            ap = ap + p / 11.0
        return ap
    mrec = np.concatenate(([0.0], rec, [1.0]))
    mpre = np.concatenate(([0.0], prec, [0.0]))
    for i in range(mpre.size - 1, 0, -1):
        mpre[i - 1] = np.maximum(mpre[i - 1], mpre[i])
    i = np.where(mrec[1:] != mrec[:-1])[0]
    return np.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1])


def devkit_voc_eval(images, label, ovthresh=0.5, use_07_metric=False, plus_one=True):
    """voc_eval.py's per-class loop: images = [(pred_boxes, scores, labels, gt_boxes, gt_labels, difficult)]."""
    one = 1.0 if plus_one else 0.0
    class_recs, npos = {}, 0
    image_ids, confidence, boxes = [], [], []
    for index, (pb, ps, pl, gb, gl, diff) in enumerate(images):
        keep = gl == label
        class_recs[index] = {"bbox": gb[keep], "difficult": diff[keep], "det": [False] * int(keep.sum())}
        npos += int((~diff[keep]).sum())
        for box, score in zip(pb[pl == label], ps[pl == label], strict=True):
            image_ids.append(index)
            confidence.append(score)
            boxes.append(box)
    if npos == 0:
        return float("nan")
    sorted_ind = np.argsort(-np.array(confidence), kind="stable")
    BB = np.array(boxes).reshape(-1, 4)[sorted_ind]
    image_ids = [image_ids[x] for x in sorted_ind]
    nd = len(image_ids)
    tp, fp = np.zeros(nd), np.zeros(nd)
    for d in range(nd):
        R = class_recs[image_ids[d]]
        bb, ovmax, BBGT = BB[d], -np.inf, R["bbox"].astype(float)
        if BBGT.size > 0:
            ixmin, iymin = np.maximum(BBGT[:, 0], bb[0]), np.maximum(BBGT[:, 1], bb[1])
            ixmax, iymax = np.minimum(BBGT[:, 2], bb[2]), np.minimum(BBGT[:, 3], bb[3])
            iw, ih = np.maximum(ixmax - ixmin + one, 0.0), np.maximum(iymax - iymin + one, 0.0)
            inters = iw * ih
            uni = (
                (bb[2] - bb[0] + one) * (bb[3] - bb[1] + one)
                + (BBGT[:, 2] - BBGT[:, 0] + one) * (BBGT[:, 3] - BBGT[:, 1] + one)
                - inters
            )
            overlaps = inters / uni
            ovmax, jmax = np.max(overlaps), np.argmax(overlaps)
        if ovmax > ovthresh:
            if not R["difficult"][jmax]:
                if not R["det"][jmax]:
                    tp[d] = 1.0
                    R["det"][jmax] = 1
                else:
                    fp[d] = 1.0
        else:
            fp[d] = 1.0
    fp, tp = np.cumsum(fp), np.cumsum(tp)
    rec = tp / float(npos)
    prec = tp / np.maximum(tp + fp, np.finfo(np.float64).eps)
    return devkit_voc_ap(rec, prec, use_07_metric)


# ---------------------------------------------------------------------------------------------- random scenes


def random_boxes(rng, n, lo=4, hi=150, canvas=300, integer=False):
    wh = rng.uniform(lo, hi, (n, 2))
    xy = rng.uniform(0, canvas, (n, 2))
    boxes = np.concatenate([xy, xy + wh], axis=1)
    return np.round(boxes) if integer else boxes


def jitter(rng, boxes, scale):
    wh = np.repeat(boxes[:, 2:] - boxes[:, :2], 2, axis=0).reshape(-1, 4) if len(boxes) else boxes
    out = boxes + rng.normal(0, scale, boxes.shape) * np.concatenate([wh[:, :2], wh[:, :2]], axis=1)
    return np.concatenate([np.minimum(out[:, :2], out[:, 2:] - 1), np.maximum(out[:, 2:], out[:, :2] + 1)], axis=1)


def random_case(rng, num_images=10, num_classes=4, crowd_rate=0.15, ties=False, many=False, integer=False):
    """Images as dicts; class num_classes never has ground truth (detections only); image 0 has no ground truth."""
    images = []
    for index in range(num_images):
        m = 0 if index == 0 else int(rng.integers(0, 6))
        gt = random_boxes(rng, m, integer=integer)
        gt_labels = rng.integers(1, num_classes, m)  # never the last class
        crowd = rng.random(m) < crowd_rate
        area = (gt[:, 2] - gt[:, 0]) * (gt[:, 3] - gt[:, 1]) * rng.uniform(0.4, 1.0, m)  # COCO's area ≠ box area
        found = rng.random(m) < 0.8
        close = jitter(rng, gt[found], 0.04)
        clutter = random_boxes(rng, int(rng.integers(0, 130 if many and index % 3 == 1 else 8)), integer=integer)
        pred = np.concatenate([close, clutter]) if len(close) or len(clutter) else np.zeros((0, 4))
        pred = np.round(pred) if integer else pred
        labels = np.concatenate([gt_labels[found], rng.integers(1, num_classes + 1, len(clutter))])
        flip = rng.random(len(labels)) < 0.1
        labels[flip] = rng.integers(1, num_classes + 1, int(flip.sum()))
        scores = rng.random(len(pred))
        if ties:
            scores = np.round(scores, 1)
        images.append(
            dict(
                image_id=100 + 7 * index,
                pred_boxes=pred,
                pred_scores=scores,
                pred_labels=labels.astype(np.int64),
                gt_boxes=gt,
                gt_labels=gt_labels,
                gt_difficult=rng.random(m) < 0.2,
                gt_iscrowd=crowd,
                gt_area=area,
            )
        )
    return images


def evaluator_for(images, num_classes=4, coco=True):
    evaluator = DetectionEvaluator(num_classes)
    for image in images:
        fields = dict(image)
        if coco:
            fields["gt_difficult"] = None
        else:
            fields["gt_iscrowd"], fields["gt_area"] = None, None
        evaluator.update(**fields)
    return evaluator


# ------------------------------------------------------------------------------------------------- pycocotools


def pycocotools_eval(images, num_classes, max_dets=(1, 10, 100)):
    """(stats, precision, recall) of pycocotools' COCOeval on the same images, silenced."""
    coco_module = pytest.importorskip("pycocotools.coco")
    cocoeval = pytest.importorskip("pycocotools.cocoeval")
    gt = {"images": [], "annotations": [], "categories": [{"id": k + 1, "name": str(k)} for k in range(num_classes)]}
    results = []
    for image in images:
        gt["images"].append({"id": image["image_id"], "width": 400, "height": 400})
        for box, label, crowd, area in zip(
            image["gt_boxes"], image["gt_labels"], image["gt_iscrowd"], image["gt_area"], strict=True
        ):
            x1, y1, x2, y2 = (float(v) for v in box)
            gt["annotations"].append(
                {
                    "id": len(gt["annotations"]) + 1,  # pycocotools' matches store ids: they must not be 0
                    "image_id": image["image_id"],
                    "category_id": int(label),
                    "bbox": [x1, y1, x2 - x1, y2 - y1],
                    "area": float(area),
                    "iscrowd": int(crowd),
                }
            )
        for box, score, label in zip(image["pred_boxes"], image["pred_scores"], image["pred_labels"], strict=True):
            x1, y1, x2, y2 = (float(v) for v in box)
            results.append(
                {
                    "image_id": image["image_id"],
                    "category_id": int(label),
                    "bbox": [x1, y1, x2 - x1, y2 - y1],
                    "score": float(score),
                }
            )
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = coco_module.COCO()
        coco_gt.dataset = gt
        coco_gt.createIndex()
        evaluation = cocoeval.COCOeval(coco_gt, coco_gt.loadRes(results), "bbox")
        evaluation.params.maxDets = list(max_dets)
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    return evaluation.stats, evaluation.eval["precision"], evaluation.eval["recall"]


@pytest.mark.parametrize("seed", range(12))
def test_coco_numbers_equal_pycocotools_on_random_cases(seed):
    rng = np.random.default_rng(seed)
    images = random_case(rng, ties=seed % 3 == 0, many=seed % 4 == 1, integer=seed % 2 == 0)
    stats, precision, recall = pycocotools_eval(images, 4)
    result = evaluator_for(images).coco()
    np.testing.assert_allclose(result["stats"], stats, atol=1e-6, rtol=0)
    np.testing.assert_allclose(result["precision"], precision, atol=1e-6, rtol=0)
    np.testing.assert_allclose(result["recall"], recall, atol=1e-6, rtol=0)
    assert np.isnan(result["ap_per_class"][3])  # the class with no objects
    assert result["stats"][0] > 0.02 and (result["stats"] > -1).sum() >= 8  # the cases are not all trivial
    assert result["map_75"] > 0.02 and result["mar_100"] > 0.1


def test_coco_with_other_max_dets_follows_pycocotools_summarize():
    images = random_case(np.random.default_rng(7), many=True)
    stats, precision, _ = pycocotools_eval(images, 4, max_dets=(1, 5, 20))
    result = evaluator_for(images).coco(max_dets=(1, 5, 20))
    assert stats[0] == -1 and result["stats"][0] == -1  # the first line hard-codes maxDets=100 (torchmetrics #1153)
    np.testing.assert_allclose(result["stats"], stats, atol=1e-6, rtol=0)
    np.testing.assert_allclose(result["precision"], precision, atol=1e-6, rtol=0)


def test_coco_equal_ious_go_to_the_later_box_as_in_pycocotools():
    # the first detection overlaps A and B equally (IoU 90/110) and takes B, the later one; the second is exactly B
    # but must then settle for A (IoU 2/3), so it is a TP at .50–.65 only (taking A first would make both TPs
    # at every threshold up to .80)
    image = dict(
        image_id=1,
        pred_boxes=np.array([[1.0, 0, 11, 10], [2, 0, 12, 10]]),
        pred_scores=np.array([0.9, 0.8]),
        pred_labels=np.array([1, 1]),
        gt_boxes=np.array([[0.0, 0, 10, 10], [2, 0, 12, 10]]),
        gt_labels=np.array([1, 1]),
        gt_difficult=np.zeros(2, bool),
        gt_iscrowd=np.zeros(2, bool),
        gt_area=np.array([100.0, 100.0]),
    )
    stats, _, _ = pycocotools_eval([image], 1)
    result = evaluator_for([image], num_classes=1).coco()
    np.testing.assert_allclose(result["stats"], stats, atol=1e-6, rtol=0)
    # recall 1 at .50–.65; .5 at .70–.80 (B taken, A too far); .5 at .85–.95 (the first misses, the second takes B)
    assert result["mar_100"] == pytest.approx((4 * 1.0 + 6 * 0.5) / 10)


# ---------------------------------------------------------------------------------------------- VOC vs devkit


@pytest.mark.parametrize("seed", range(8))
def test_voc_ap_equals_the_devkit_on_random_cases_with_difficult_boxes(seed):
    rng = np.random.default_rng(100 + seed)
    images = random_case(rng, num_images=15, crowd_rate=0.0, integer=seed % 2 == 0)
    evaluator = evaluator_for(images, coco=False)
    as_tuples = [
        (i["pred_boxes"], i["pred_scores"], i["pred_labels"], i["gt_boxes"], i["gt_labels"], i["gt_difficult"])
        for i in sorted(images, key=lambda i: i["image_id"])
    ]
    for use_07 in (False, True):
        for plus_one in (False, True):
            for threshold in (0.5, 0.7):
                result = evaluator.voc(threshold, use_07_metric=use_07, plus_one=plus_one)
                expected = [devkit_voc_eval(as_tuples, k + 1, threshold, use_07, plus_one) for k in range(4)]
                np.testing.assert_allclose(result["ap"], expected, rtol=0, atol=1e-12)
                assert result["map"] == pytest.approx(np.nanmean(expected))
    assert np.isnan(result["ap"][3]) and result["npos"][3] == 0
    assert np.count_nonzero(np.concatenate([i["gt_difficult"] for i in images])) > 0


# -------------------------------------------------------------------------------------------- hand-made cases


def single(pred, gt, scores=None, labels=None, gt_labels=None, **kwargs) -> DetectionEvaluator:
    evaluator = DetectionEvaluator(2)
    pred, gt = np.asarray(pred, float).reshape(-1, 4), np.asarray(gt, float).reshape(-1, 4)
    scores = np.linspace(0.9, 0.1, len(pred)) if scores is None else scores
    labels = np.ones(len(pred), int) if labels is None else labels
    gt_labels = np.ones(len(gt), int) if gt_labels is None else gt_labels
    evaluator.update(pred, scores, labels, gt, gt_labels, **kwargs)
    return evaluator


def test_perfect_detections_give_ap_one():
    rng = np.random.default_rng(3)
    evaluator = DetectionEvaluator(3)
    for index in range(5):
        gt = random_boxes(rng, 3, lo=10, hi=120)
        labels = rng.integers(1, 4, 3)
        evaluator.update(gt, rng.random(3), labels, gt, labels, image_id=index)
    coco = evaluator.coco()
    assert coco["map"] == pytest.approx(1.0) and coco["map_50"] == pytest.approx(1.0)
    assert coco["mar_100"] == pytest.approx(1.0)
    assert evaluator.voc()["map"] == pytest.approx(1.0)


def test_a_detection_shrunk_one_pixel_per_side_gives_ap_070_and_ap50_one():
    coco = single([[1, 1, 19, 19]], [[0, 0, 20, 20]]).coco()  # IoU 18²/20² = 0.81: thresholds .50 to .80 pass
    assert coco["map"] == pytest.approx(0.70) and coco["map_50"] == pytest.approx(1.0)
    assert coco["map_75"] == pytest.approx(1.0) and coco["map_small"] == pytest.approx(0.70)
    assert coco["map_medium"] == -1 and coco["map_large"] == -1  # no object of those sizes


def test_iou_exactly_one_half_counts_for_coco_but_not_for_voc():
    evaluator = single([[0, 0, 20, 10]], [[0, 0, 20, 20]])  # IoU = 200 / 400
    assert evaluator.coco()["map_50"] == pytest.approx(1.0)  # pycocotools: IoU ≥ t
    assert evaluator.voc()["ap"][0] == 0.0  # the devkit: IoU > 0.5


def test_voc_all_point_and_eleven_point_by_hand():
    # two boxes; detections TP (0.9), FP (0.8), TP (0.7): recall .5 .5 1, precision 1 .5 2/3
    gt = [[0, 0, 10, 10], [20, 20, 30, 30]]
    evaluator = single([[0, 0, 10, 10], [50, 50, 60, 60], [20, 20, 30, 30]], gt)
    result = evaluator.voc()
    np.testing.assert_allclose(result["recall"][0], [0.5, 0.5, 1.0])
    np.testing.assert_allclose(result["precision"][0], [1.0, 0.5, 2 / 3])
    assert result["ap"][0] == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
    assert evaluator.voc(use_07_metric=True)["ap"][0] == pytest.approx((6 * 1 + 5 * 2 / 3) / 11)
    assert np.isnan(result["ap"][1]) and result["map"] == pytest.approx(result["ap"][0])  # class 2: no boxes


def test_difficult_boxes_are_neither_matched_nor_counted():
    gt = [[0, 0, 10, 10], [20, 20, 30, 30]]
    pred = [[20, 20, 30, 30], [0, 0, 10, 10]]  # the higher score hits the difficult box
    evaluator = single(pred, gt, gt_difficult=[False, True])
    result = evaluator.voc()
    assert result["ap"][0] == pytest.approx(1.0) and result["npos"][0] == 1 and result["num_ignored"][0] == 1
    assert single(pred, gt).voc()["ap"][0] == pytest.approx(1.0)
    undetected = single(pred[1:], gt, gt_difficult=[True, False]).voc()  # the only counted box is missed
    assert undetected["ap"][0] == 0.0 and undetected["precision"][0].tolist() == [0.0]


def test_voc_duplicate_and_no_fallback_to_the_next_best_box():
    gt = [[0, 0, 10, 10], [6, 0, 16, 10]]
    # both detections overlap box 0 most; the second is a duplicate (FP) although box 1 is free with IoU > .5
    pred = [[0, 0, 10, 10], [2, 0, 12, 10]]
    status, matched = match_detections(np.array(pred, float), np.array([0.9, 0.8]), np.array([1, 1]),
                                       np.array(gt, float), np.array([1, 1]))  # fmt: skip
    assert status.tolist() == [1, 0] and matched.tolist() == [True, False]


def test_plus_one_on_inclusive_coordinates_equals_pixel_edges():
    rng = np.random.default_rng(11)
    images = random_case(rng, num_images=8, crowd_rate=0.0, integer=True)
    edges = evaluator_for(images, coco=False).voc()["ap"]
    for image in images:  # VOC's 1-based inclusive boxes: xmin = x1 + 1, xmax = x2
        image["pred_boxes"] = image["pred_boxes"] + [1, 1, 0, 0]
        image["gt_boxes"] = image["gt_boxes"] + [1, 1, 0, 0]
    np.testing.assert_allclose(evaluator_for(images, coco=False).voc(plus_one=True)["ap"], edges, atol=1e-12)


def test_crowd_regions_absorb_detections_in_coco_and_are_skipped_by_voc():
    gt = [[0, 0, 100, 100], [200, 200, 220, 220]]
    pred = [[10, 10, 30, 30], [50, 50, 70, 70], [200, 200, 220, 220]]  # two inside the crowd, one on the object
    evaluator = single(pred, gt, gt_iscrowd=[True, False])
    assert evaluator.coco()["map"] == pytest.approx(1.0)  # the crowd swallows both, not false positives
    voc = evaluator.voc()
    assert voc["npos"][0] == 1
    assert voc["num_true_positives"][0] == 1 and voc["num_ignored"][0] == 0  # small boxes: IoU with crowd < .5


def test_average_precision_of_an_empty_curve_is_zero():
    assert average_precision(np.zeros(0), np.zeros(0)) == 0.0
    assert average_precision(np.zeros(0), np.zeros(0), use_07_metric=True) == 0.0


def test_pr_curves_and_format_table():
    gt = [[0, 0, 10, 10], [20, 20, 30, 30]]
    evaluator = single([[0, 0, 10, 10], [50, 50, 60, 60], [20, 20, 30, 30]], gt)
    (recall, precision), (recall2, _) = evaluator.pr_curves()
    np.testing.assert_allclose(recall, [0.5, 0.5, 1.0])
    np.testing.assert_allclose(precision, [1, 0.5, 2 / 3])
    assert recall2.size == 0
    table = evaluator.format_table(["shirt", "bag"])
    lines = table.splitlines()
    # COCO: 51 recall points (0 to .50) at precision 1, 50 (.51 to 1) at 2/3, at every IoU threshold
    assert lines[2].split() == ["shirt", "2", "3", "0.833", f"{(51 + 50 * 2 / 3) / 101:.3f}"]
    assert lines[3].split() == ["bag", "0", "0", "n/a", "n/a"]
    assert "VOC mAP@0.5: 0.8333" in table
    assert " Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.835" in lines
    assert " Average Recall     (AR) @[ IoU=0.50:0.95 | area= large | maxDets=100 ] = -1.000" in lines


def test_evaluator_accepts_empty_images_and_no_images():
    evaluator = DetectionEvaluator(2)
    assert np.isnan(evaluator.voc()["map"]) and evaluator.coco()["map"] == -1
    evaluator.update(np.zeros((0, 4)), [], [], np.zeros((0, 4)), [])
    evaluator.update([[0, 0, 5, 5]], [0.3], [2], np.zeros((0, 4)), [])  # a detection on an image with no object
    assert len(evaluator) == 2 and evaluator.voc()["num_detections"].tolist() == [0, 1]


def test_bad_input_gets_one_clear_message():
    evaluator = DetectionEvaluator(10)
    with pytest.raises(
        ValueError, match=r"image 0.*pred_labels must be class ids in 1\.\.10 \(0 is background\), got 0"
    ):
        evaluator.update([[0, 0, 1, 1]], [0.5], [0], np.zeros((0, 4)), [])
    with pytest.raises(
        ValueError, match=r"expected pred_scores of shape \(2,\) to go with the boxes, got shape \(1,\)"
    ):
        evaluator.update(np.zeros((2, 4)), [0.5], [1, 1], np.zeros((0, 4)), [])
    with pytest.raises(ValueError, match=r"expected gt_boxes of shape \(N, 4\) xyxy, got shape \(1, 5\)"):
        evaluator.update(np.zeros((0, 4)), [], [], np.zeros((1, 5)), [1])
    evaluator.update(np.zeros((0, 4)), [], [], np.zeros((0, 4)), [], image_id=3)
    with pytest.raises(ValueError, match="image_id 3 was already added"):
        evaluator.update(np.zeros((0, 4)), [], [], np.zeros((0, 4)), [], image_id=3)
    with pytest.raises(ValueError, match="expected 10 class names"):
        DetectionEvaluator(10, class_names=["a"])

"""Detection pictures: boxes on pixel edges in the right colours, the truth | predictions figure with TP / FP /
missed colours, precision–recall curves; checked on written PNGs and rendered pixels."""

from __future__ import annotations

import numpy as np
import pytest

from cnnkit.metrics import DetectionEvaluator
from cnnkit.viz.detection import (
    FALSE_POSITIVE,
    MISSED,
    TRUE_POSITIVE,
    class_colour,
    draw_boxes,
    match_colours,
    plot_detections,
    plot_pr_curves,
)
from tests.viz.png import has_colour, read_png

NAMES = ["background", "T-shirt/top", "Trouser", "Pullover"]


def scene() -> np.ndarray:
    image = np.zeros((1, 64, 64), np.float32)
    image[0, 10:30, 10:30] = 0.8
    image[0, 40:60, 36:50] = 0.5
    return image


def test_draw_boxes_puts_edges_on_pixel_boundaries(tmp_path):
    path = draw_boxes(scene(), [[10, 10, 30, 30]], [2], [0.9], NAMES, path=tmp_path / "b.png")
    pixels = read_png(path, (256, 256))  # 64 px magnified 4× to reach 256
    colour = np.array(class_colour(2)) * 255  # label 2's class colour
    column = pixels[60:110, 38:42]  # the left edge x1 = 10 → 40 in the magnified picture, inside rows 40..120
    assert np.any(np.all(np.abs(column - colour) < 8, axis=-1))
    assert not has_colour(pixels[60:110, 20:36], tuple(colour))  # nothing drawn left of it
    assert pixels[200:240, 200:240].mean() < 10  # the black background stays black


def test_draw_boxes_returns_pixels_with_one_colour_per_box():
    pixels = draw_boxes(
        scene(), [[10, 10, 30, 30], [36, 40, 50, 60]], [1, 3], colors=[TRUE_POSITIVE, FALSE_POSITIVE]
    ).astype(float)
    assert pixels.shape == (256, 256, 3)
    assert has_colour(pixels[40:120, 36:44], TRUE_POSITIVE) and not has_colour(pixels[40:120, 36:44], FALSE_POSITIVE)
    assert has_colour(pixels[160:240, 140:148], FALSE_POSITIVE)
    one = draw_boxes(scene(), [[10, 10, 30, 30]], [1], colors="blue").astype(float)
    assert has_colour(one[40:120, 38:42], (0, 0, 255))


@pytest.mark.parametrize("layout", ["chw float", "hwc float", "hwc uint8", "chw uint8"])
def test_draw_boxes_shows_colour_images_in_every_layout(layout):
    rgb = np.zeros((3, 64, 64), np.float32)
    rgb[0, 32:, :32] = 1.0  # a pure red quarter, bottom left
    image = rgb if layout.startswith("chw") else rgb.transpose(1, 2, 0)
    if layout.endswith("uint8"):
        image = (image * 255).astype(np.uint8)
    pixels = draw_boxes(image, [[40, 2, 60, 20]], [1], colors="blue").astype(float)
    assert pixels.shape == (256, 256, 3)
    assert np.all(np.abs(pixels[200, 40] - (255, 0, 0)) < 8)  # the red quarter stays red, not grey
    assert pixels[40, 60].max() < 10  # black stays black
    assert has_colour(pixels[8:80, 158:162], (0, 0, 255))  # the box's left edge x1 = 40 → 160


def test_match_colours_follow_vocs_matching():
    gt, gt_labels = [[10, 10, 30, 30], [36, 40, 50, 60]], [1, 3]
    pred = [[10, 10, 30, 31], [11, 10, 30, 30], [0, 0, 5, 5]]  # a hit, a duplicate, a miss of everything
    pred_colours, gt_colours = match_colours(pred, [0.9, 0.8, 0.7], [1, 1, 2], gt, gt_labels)
    assert pred_colours == [TRUE_POSITIVE, FALSE_POSITIVE, FALSE_POSITIVE]
    assert gt_colours == [TRUE_POSITIVE, MISSED]


def test_plot_detections_shows_truth_and_predictions_in_status_colours(tmp_path):
    images = [scene(), scene()]
    targets = [{"boxes": np.array([[10, 10, 30, 30], [36, 40, 50, 60]]), "labels": np.array([1, 3])}] * 2
    predictions = [
        {"boxes": np.array([[10, 10, 30, 30], [0, 0, 8, 8]]), "scores": np.array([0.9, 0.6]), "labels": [1, 2]},
        {"boxes": np.zeros((0, 4)), "scores": np.zeros(0), "labels": np.zeros(0, int)},
    ]
    path = plot_detections(images, targets, predictions, NAMES, tmp_path / "d.png")
    pixels = read_png(path, (520, 580))  # 2 × 2.6 in wide, 2 × 2.6 + 0.6 in high, at 100 dpi
    for colour in (TRUE_POSITIVE, FALSE_POSITIVE, MISSED):
        assert has_colour(pixels, colour)


def test_plot_pr_curves(tmp_path):
    evaluator = DetectionEvaluator(3)
    gt = np.array([[0, 0, 10, 10], [20, 20, 30, 30], [40, 40, 50, 50]], float)
    evaluator.update(gt[[0, 2]], [0.9, 0.4], [1, 1], gt, [1, 1, 2])  # class 1 perfect, class 2 missed, 3 absent
    evaluator.update([[0, 0, 9, 9], [5, 5, 9, 9]], [0.8, 0.7], [1, 1], gt[:1], [1])
    result = evaluator.voc()
    path = plot_pr_curves(result, NAMES, tmp_path / "pr.png")
    pixels = read_png(path, (640, 440))
    assert has_colour(pixels, tuple(round(255 * c) for c in class_colour(1)))
    assert not has_colour(pixels, tuple(round(255 * c) for c in class_colour(3)))  # no ground truth: no curve


def test_errors(tmp_path):
    with pytest.raises(ValueError, match=r"draw_boxes: expected one label \(and score\) per box: 1 boxes, 2 labels"):
        draw_boxes(scene(), [[0, 0, 4, 4]], [1, 2])
    with pytest.raises(ValueError, match=r"draw_boxes: label 5 has no name \(4 class names\)"):
        draw_boxes(scene(), [[0, 0, 4, 4]], [5], class_names=NAMES)
    with pytest.raises(ValueError, match=r"draw_boxes: expected boxes of shape \(N, 4\) xyxy, got shape \(1, 2\)"):
        draw_boxes(scene(), [[0, 0]], [1])
    with pytest.raises(ValueError, match="plot_pr_curves: expected DetectionEvaluator.voc\\(\\)'s result"):
        plot_pr_curves({"ap": []}, None, tmp_path / "x.png")
    with pytest.raises(ValueError, match="plot_detections: expected as many images, targets and predictions"):
        plot_detections([scene()], [], [], None, tmp_path / "y.png")

"""Detection pictures: boxes drawn on an image, ground truth beside predictions coloured by VOC's matching
(true positives, false positives, misses), and precision–recall curves per class.

Boxes are xyxy in pixel edges (0-based, x2 and y2 exclusive), so the image is drawn with extent (0, W, H, 0) and
a box's corners land on pixel boundaries. Class names are given for labels 1..K, or with "background" first (as
`FashionScenes.classes`), in which case label k is class_names[k].

Colours of the match picture: TRUE_POSITIVE green (a prediction that found a box, and a box that was found),
FALSE_POSITIVE red, MISSED orange (a box no prediction found), IGNORED grey (a prediction on a difficult box).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from cnnkit.metrics.voc_ap import FP, IGNORED, TP, match_detections
from cnnkit.viz.figure import DPI, bare, for_display, new_figure, save_figure

TRUE_POSITIVE = (0, 190, 0)
FALSE_POSITIVE = (230, 0, 0)
MISSED = (255, 150, 0)
IGNORED_COLOUR = (150, 150, 150)
STATUS_COLOURS = {TP: TRUE_POSITIVE, FP: FALSE_POSITIVE, IGNORED: IGNORED_COLOUR}
MIN_SIDE = 256  # pixels: small images (64×64 scenes) are drawn magnified so that labels stay readable
TILE = 2.6  # inches per picture in plot_detections


def _unit(colour: Any) -> Any:
    """A matplotlib colour; (r, g, b) tuples in 0..255 are scaled to 0..1."""
    if isinstance(colour, tuple | list | np.ndarray) and len(colour) in (3, 4) and max(colour) > 1:
        return tuple(float(c) / 255 for c in colour)
    return colour


def class_colour(label: int) -> tuple[float, float, float]:
    """The colour of class label (tab10 by label, cycling)."""
    r, g, b, _ = colormaps["tab10"](int(label) % 10)
    return (r, g, b)


def _name(label: int, class_names: Sequence[str] | None) -> str:
    """The name of label 1..K: class_names[label − 1], or class_names[label] when names start with background."""
    if class_names is None:
        return str(int(label))
    offset = 0 if len(class_names) and class_names[0] == "background" else 1
    index = int(label) - offset
    if not 0 <= index < len(class_names):
        raise ValueError(f"draw_boxes: label {int(label)} has no name ({len(class_names)} class names)")
    return class_names[index]


def _box_array(boxes: Any, what: str) -> np.ndarray:
    array = np.asarray(getattr(boxes, "_data", boxes), np.float64)
    if array.size == 0:
        return array.reshape(0, 4)
    if array.ndim != 2 or array.shape[1] != 4:
        raise ValueError(f"{what}: expected boxes of shape (N, 4) xyxy, got shape {array.shape}")
    return array


def _picture(image: Any) -> np.ndarray:
    """(H, W) or (H, W, 3) in [0, 1] from (H, W), (C, H, W) or channel-last (H, W, 3) pixels; uint8 ones are
    read as 0..255. A (3, H, 3) array is taken as channel-first."""
    array = np.asarray(getattr(image, "_data", image))
    if array.dtype == np.uint8:
        array = array.astype(np.float32) / 255
    if array.ndim == 3 and array.shape[-1] == 3 and array.shape[0] not in (1, 3):
        array = array.transpose(2, 0, 1)  # for_display takes channel-first
    return for_display(array, keep_unit=True)


def draw_on(
    ax: Any,
    image: Any,
    boxes: Any,
    labels: Any,
    scores: Any = None,
    class_names: Sequence[str] | None = None,
    colors: Any = None,
    fontsize: float = 7.0,
) -> None:
    """Draw the image and its boxes, each labelled "name score", on a matplotlib axes (bare, pixel-edge extent)."""
    picture = _picture(image)
    h, w = picture.shape[:2]
    boxes = _box_array(boxes, "draw_boxes")
    labels = np.asarray(getattr(labels, "_data", labels)).reshape(-1)
    if len(labels) != len(boxes) or (scores is not None and len(scores) != len(boxes)):
        raise ValueError(
            f"draw_boxes: expected one label (and score) per box: {len(boxes)} boxes, {len(labels)} labels"
            + ("" if scores is None else f", {len(scores)} scores")
        )
    if picture.ndim == 2:
        ax.imshow(picture, cmap="gray", vmin=0, vmax=1, interpolation="nearest", extent=(0, w, h, 0))
    else:
        ax.imshow(picture, interpolation="nearest", extent=(0, w, h, 0))
    for i, ((x1, y1, x2, y2), label) in enumerate(zip(boxes, labels, strict=True)):
        colour = _box_colour(colors, i, label)
        ax.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, edgecolor=colour, linewidth=1.5))
        text = _name(label, class_names) + ("" if scores is None else f" {float(scores[i]):.2f}")
        ax.text(
            x1,
            y1,
            text,
            color="white",
            fontsize=fontsize,
            va="top" if y1 < 0.08 * h else "bottom",  # at the top edge the label goes inside the box
            ha="left",
            bbox={"facecolor": colour, "edgecolor": "none", "pad": 1.0, "alpha": 0.85},
            clip_on=True,
        )
    ax.set_xlim(0, w)
    ax.set_ylim(h, 0)
    bare(ax)


def _box_colour(colors: Any, i: int, label: int) -> Any:
    if colors is None:
        return class_colour(label)
    if isinstance(colors, str) or (isinstance(colors, tuple) and len(colors) in (3, 4) and np.isscalar(colors[0])):
        return _unit(colors)  # one colour for every box
    return _unit(colors[i])


def draw_boxes(
    image: Any,
    boxes: Any,
    labels: Any,
    scores: Any = None,
    class_names: Sequence[str] | None = None,
    colors: Any = None,
    path: str | os.PathLike | None = None,
) -> Path | np.ndarray:
    """The image with its boxes, each labelled with its class (and score), at the image's own size magnified to
    at least MIN_SIDE pixels on its longer side (a whole factor). Written as a PNG when path is given (returns
    the path), else returned as uint8 RGB pixels (H·s, W·s, 3).

    colors: None (a colour per class), one matplotlib colour for all boxes, or one per box (names, 0..1 floats
    or 0..255 integer triples) — e.g. `match_colours(...)` for true positives, false positives and misses.
    """
    picture = _picture(image)
    h, w = picture.shape[:2]
    scale = max(1, -(-MIN_SIDE // max(h, w)))  # ceil(MIN_SIDE / longer side)
    fig = Figure(figsize=(w * scale / DPI, h * scale / DPI), dpi=DPI)
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    draw_on(ax, picture, boxes, labels, scores, class_names, colors, fontsize=max(6.0, 2.2 * scale))
    if path is not None:
        return save_figure(fig, path)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def match_colours(
    pred_boxes: Any,
    pred_scores: Any,
    pred_labels: Any,
    gt_boxes: Any,
    gt_labels: Any,
    gt_difficult: Any = None,
    iou_threshold: float = 0.5,
) -> tuple[list[tuple[int, int, int]], list[tuple[int, int, int]]]:
    """(colour of each prediction, colour of each ground-truth box) by VOC's matching in this image: TP green,
    FP red, on a difficult box grey; a found box green, a missed one orange."""
    status, matched = match_detections(
        _box_array(pred_boxes, "match_colours"),
        np.asarray(pred_scores, np.float64),
        np.asarray(pred_labels),
        _box_array(gt_boxes, "match_colours"),
        np.asarray(gt_labels),
        gt_difficult,
        iou_threshold,
    )
    return [STATUS_COLOURS[int(s)] for s in status], [TRUE_POSITIVE if m else MISSED for m in matched]


def plot_detections(
    images: Sequence[Any],
    targets: Sequence[dict[str, Any]],
    predictions: Sequence[dict[str, Any]],
    class_names: Sequence[str] | None,
    path: str | os.PathLike,
    iou_threshold: float = 0.5,
    score_threshold: float = 0.0,
    title: str = "",
) -> Path:
    """One row per image: ground truth (found green, missed orange) | predictions with class and score (true
    positives green, false positives red), matched as VOC does among the predictions shown (score ≥
    score_threshold). targets: {"boxes", "labels"[, "difficult"]}; predictions: {"boxes", "scores", "labels"}."""
    if not len(images) == len(targets) == len(predictions) or len(images) == 0:
        raise ValueError(
            f"plot_detections: expected as many images, targets and predictions (at least one), got "
            f"{len(images)}, {len(targets)} and {len(predictions)}"
        )
    fig = new_figure(2 * TILE, len(images) * TILE + 0.6)
    axes = fig.subplots(len(images), 2, squeeze=False)
    for row, (image, target, predicted) in enumerate(zip(images, targets, predictions, strict=True)):
        scores = np.asarray(predicted["scores"], np.float64).reshape(-1)
        shown = scores >= score_threshold
        boxes, labels = _box_array(predicted["boxes"], "plot_detections")[shown], np.asarray(predicted["labels"])[shown]
        pred_colours, gt_colours = match_colours(
            boxes, scores[shown], labels, target["boxes"], target["labels"], target.get("difficult"), iou_threshold
        )
        draw_on(axes[row, 0], image, target["boxes"], target["labels"], None, class_names, gt_colours)
        draw_on(axes[row, 1], image, boxes, labels, scores[shown], class_names, pred_colours)
    axes[0, 0].set_title("ground truth", fontsize=9)
    axes[0, 1].set_title(f"predictions (score ≥ {score_threshold:g})", fontsize=9)
    legend = [("true positive / found", TRUE_POSITIVE), ("false positive", FALSE_POSITIVE), ("missed", MISSED)]
    handles = [Patch(facecolor=_unit(c), edgecolor="none", label=text) for text, c in legend]
    fig.legend(handles=handles, loc="outside lower center", ncol=3, fontsize=7, frameon=False)
    if title:
        fig.suptitle(title, fontsize=10)
    return save_figure(fig, path)


def plot_pr_curves(
    evaluator_result: dict[str, Any], class_names: Sequence[str] | None, path: str | os.PathLike, title: str = ""
) -> Path:
    """Precision against recall of each class with ground truth (the raw curve, and its monotone envelope that
    all-point AP integrates, dashed), labelled with the class's AP; evaluator_result is DetectionEvaluator.voc()."""
    missing = [key for key in ("precision", "recall", "ap") if key not in evaluator_result]
    if missing:
        raise ValueError(f"plot_pr_curves: expected DetectionEvaluator.voc()'s result; it lacks {', '.join(missing)}")
    fig = new_figure(6.4, 4.4)
    ax = fig.subplots()
    for k, (precision, recall, ap) in enumerate(
        zip(evaluator_result["precision"], evaluator_result["recall"], evaluator_result["ap"], strict=True)
    ):
        if np.isnan(ap):
            continue  # no ground truth: no curve
        colour = class_colour(k + 1)
        recall = np.concatenate([[0.0], recall])
        precision = np.concatenate([[precision[0] if len(precision) else 0.0], precision])
        ax.plot(recall, precision, color=colour, linewidth=1.2, label=f"{_name(k + 1, class_names)} ({ap:.3f})")
        envelope = np.maximum.accumulate(precision[::-1])[::-1]
        ax.step(recall, envelope, where="pre", color=colour, linewidth=0.8, linestyle="--", alpha=0.6)
    ax.set_xlim(0, 1.0)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, loc="lower left", title="class (AP)", title_fontsize=7)
    threshold = evaluator_result.get("iou_threshold", 0.5)
    ax.set_title(
        title or f"precision–recall at IoU {threshold:g} (mAP {evaluator_result.get('map', np.nan):.3f})", fontsize=10
    )
    return save_figure(fig, path)

"""The figures of a detection run's report, written as PNG files into one folder, each with its section and
caption: training curves (loss, training cell accuracy, validation mAPs), the first test scenes and the hardest
ones as ground truth | predictions (true positives green, false positives red, misses orange, with class and
score), the precision–recall curve of every class, and the first conv layer's filters.

Predictions are drawn from score DISPLAY_THRESHOLD on (as `cnnkit predict` shows them); the scores, the curves and
the colours of a picture are VOC's matching at IoU 0.5 among the boxes drawn. The hardest scenes are those with
the most false positives plus misses at that threshold.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cnnkit.metrics.voc_ap import FP, match_detections
from cnnkit.report.detection_data import DetectionRun
from cnnkit.report.figures import FigureFile, first_layer_filters
from cnnkit.report.history_curves import plot_history
from cnnkit.viz.detection import plot_detections, plot_pr_curves

SECTIONS = ("Training curves", "Test scenes", "Hardest test scenes", "Precision–recall curves", "Learned filters")
DISPLAY_THRESHOLD = 0.3  # `cnnkit predict`'s default --score-threshold
LOSSES = (("train_loss", "train"), ("val_loss", "val"))
SCORES = (
    ("train_accuracy", "train class accuracy (cells or crops)"),
    ("val_map50", "val VOC mAP@0.5"),
    ("val_map", "val COCO mAP@[.5:.95]"),
)


def detection_figures(run: DetectionRun, folder: Path, images: int = 3) -> list[FigureFile]:
    """Write every figure of a detection report into folder; `images` scenes per scene figure."""
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{run.config.get('model', 'model')} on {run.info.dataset}"
    voc = run.evaluator.voc()
    figures = [
        FigureFile(
            "Training curves",
            plot_history(run.history, folder / "curves.png", LOSSES, SCORES, "val_map50", f"{name}: training"),
            "loss and scores per epoch (the best validation mAP@0.5 picks the checkpoint)",
        )
    ]
    shown = min(images, len(run.scenes))
    first = np.arange(shown)
    figures.append(_scenes(run, folder / "scenes.png", first, "Test scenes", f"the first {shown} test scenes"))
    errors = scene_errors(run)
    hardest = np.argsort(-errors, kind="stable")[:shown]
    counts = ", ".join(f"{i}: {errors[i]}" for i in hardest)
    caption = f"the {shown} scored test scenes with the most false positives plus misses (scene: count {counts})"
    figures.append(_scenes(run, folder / "hardest.png", hardest, "Hardest test scenes", caption))
    figures.append(
        FigureFile(
            "Precision–recall curves",
            plot_pr_curves(voc, run.classes, folder / "pr-curves.png"),
            f"precision against recall of each class at IoU 0.5 on the {len(run.scenes)} scored test scenes, "
            "with the envelope that VOC's all-point AP integrates (dashed); the legend gives each class's AP",
        )
    )
    return figures + first_layer_filters(run.model, folder)


def scene_errors(run: DetectionRun) -> np.ndarray:
    """int (N,): false positives plus missed boxes of each scored scene, among the predictions drawn."""
    errors = np.zeros(len(run.scenes), np.int64)
    for index in range(len(run.scenes)):
        predicted, target = run.prediction(index), run.target(index)
        shown = predicted["scores"] >= DISPLAY_THRESHOLD
        status, matched = match_detections(
            predicted["boxes"][shown],
            predicted["scores"][shown],
            predicted["labels"][shown],
            np.asarray(target["boxes"], np.float64).reshape(-1, 4),
            target["labels"],
        )
        errors[index] = int((status == FP).sum()) + int((~matched).sum())
    return errors


def _scenes(run: DetectionRun, path: Path, chosen: np.ndarray, section: str, caption: str) -> FigureFile:
    pictures = [run.scenes.images[i].astype(np.float32) / 255 for i in chosen]  # uint8 scenes drawn on [0, 1]
    drawn = plot_detections(
        pictures,
        [run.target(int(i)) for i in chosen],
        [run.prediction(int(i)) for i in chosen],
        run.classes,
        path,
        score_threshold=DISPLAY_THRESHOLD,
        title=f"test scenes {', '.join(str(i) for i in chosen)}",
    )
    return FigureFile(
        section,
        drawn,
        f"{caption}: ground truth (found green, missed orange) | predictions with score ≥ {DISPLAY_THRESHOLD:g} "
        "(true positives green, false positives red)",
    )

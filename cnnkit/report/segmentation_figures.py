"""The figures of a segmentation run's report, written as PNG files into one folder, each with its section and
caption: training curves, the pixel confusion matrix, the first test scenes and the hardest ones as
input | ground truth | prediction | errors (with the class legend), and the first conv layer's filters."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cnnkit.report.figures import FigureFile, first_layer_filters
from cnnkit.report.segmentation_data import IGNORE_INDEX, SegmentationRun
from cnnkit.viz.confusion import plot_confusion_matrix
from cnnkit.viz.segmentation import plot_segmentation
from cnnkit.viz.segmentation_curves import plot_segmentation_curves

SECTIONS = ("Training curves", "Pixel confusion matrix", "Test scenes", "Hardest test scenes", "Learned filters")


def segmentation_figures(run: SegmentationRun, folder: Path, images: int = 3) -> list[FigureFile]:
    """Write every figure of a segmentation report into folder; `images` scenes per scene figure."""
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{run.config.get('model', 'model')} on {run.info.dataset}"
    pixels = run.confusion.total
    figures = [
        FigureFile(
            "Training curves",
            plot_segmentation_curves(run.history, folder / "curves.png", f"{name}: training"),
            "loss, pixel accuracy and validation mean IoU per epoch (the best validation mIoU picks the checkpoint)",
        ),
        FigureFile(
            "Pixel confusion matrix",
            plot_confusion_matrix(
                run.confusion.matrix,
                run.classes,
                folder / "confusion.png",
                f"test pixels ({pixels:,}, ignore band left out), pixel accuracy {run.confusion.pixel_accuracy():.4f}",
            ),
            "rows: true class, columns: predicted; colour: share of the row; numbers: pixels",
        ),
    ]
    shown = min(images, len(run.images))
    first = np.arange(shown)
    figures.append(_scenes(run, folder / "scenes.png", first, "Test scenes", f"the first {shown} test scenes"))
    errors = run.scene_errors()
    hardest = np.argsort(-errors, kind="stable")[:shown]
    shares = ", ".join(f"{i}: {errors[i]:.1%}" for i in hardest)
    figures.append(
        _scenes(
            run,
            folder / "hardest.png",
            hardest,
            "Hardest test scenes",
            f"the {shown} test scenes with the largest share of wrong pixels (scene: share {shares})",
        )
    )
    return figures + first_layer_filters(run.model, folder)


def _scenes(run: SegmentationRun, path: Path, chosen: np.ndarray, section: str, caption: str) -> FigureFile:
    pictures = np.asarray(run.images[chosen], dtype=np.float32)
    if pictures.max(initial=0) > 1:
        pictures = pictures / 255  # uint8 scenes drawn on [0, 1], not stretched to each scene's own range
    drawn = plot_segmentation(
        pictures[:, None],
        run.masks[chosen],
        run.predictions[chosen],
        run.classes,
        path,
        ignore_index=IGNORE_INDEX,
        title=f"test scenes {', '.join(str(i) for i in chosen)}",
    )
    return FigureFile(section, drawn, f"{caption}: input | ground truth | prediction | errors (red)")

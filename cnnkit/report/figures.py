"""The figures of a run report, written as PNG files into one folder, each with its section and caption.

Which layers are shown: the filters of the first conv layer; feature maps of the first conv layer and of the
"patch layer" for a few test images; top-9 patches of the patch layer's first few channels. The patch layer is
the deepest conv layer whose units still see only part of the image (receptive field smaller than the input,
output larger than 1×1), so its patches show parts, not whole images (LeNet-5: C3, 14×14 fields).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cnnkit.receptive_field import receptive_field
from cnnkit.report.explain_figures import explanation_figures
from cnnkit.report.gradient_flow_figures import gradient_flow_figures
from cnnkit.report.run_data import RunData
from cnnkit.viz.confusion import plot_confusion_matrix
from cnnkit.viz.curves import plot_curves
from cnnkit.viz.feature_maps import plot_feature_maps
from cnnkit.viz.filters import plot_filters
from cnnkit.viz.hooks import conv_layers
from cnnkit.viz.kernels_figure import plot_kernels
from cnnkit.viz.misclassified import most_confident_mistakes, plot_misclassified
from cnnkit.viz.top_patches import plot_top_patches, top_patches


@dataclass
class FigureFile:
    section: str
    path: Path
    caption: str


def run_figures(
    run: RunData,
    folder: Path,
    summary: Any,
    images: int = 3,
    channels: int = 4,
    k: int = 9,
    mistakes: int = 18,
    max_images: int = 10000,
) -> list[FigureFile]:
    """Write every figure of the report into folder; `summary` (cnnkit.summary's result) gives layer shapes."""
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{run.config.get('model', 'model')} on {run.info.dataset}"
    figures = [
        FigureFile(
            "Training curves",
            plot_curves(run.history, folder / "curves.png", f"{name}: training"),
            "loss and accuracy per epoch, train and test",
        ),
        FigureFile(
            "Confusion matrix",
            plot_confusion_matrix(run.confusion, run.classes, folder / "confusion.png"),
            "rows: true class, columns: predicted; colour: share of the row",
        ),
    ]
    figures += gradient_flow_figures(run.history, folder, name)
    figures += _mistakes(run, folder, mistakes)
    convs = conv_layers(run.model)
    if not convs:
        return figures
    figures += explanation_figures(run, folder)
    first = convs[0][0]
    figures += first_layer_filters(run.model, folder)
    deep = patch_layer(run.model, summary, tuple(run.info.input_shape))
    figures += _feature_maps(run, folder, sorted({first, deep}, key=[n for n, _ in convs].index), images)
    figures += _patches(run, folder, deep, channels, k, max_images)
    first_image = np.asarray(run.test_set[0][0])
    figures.append(
        FigureFile(
            "Classic kernels",
            plot_kernels(first_image, folder / "kernels.png"),
            "hand-made 3×3 kernels on the first test image, for comparison with the learned ones",
        )
    )
    return figures


def first_layer_filters(model: Any, folder: Path) -> list[FigureFile]:
    """The first conv layer's kernels as a figure, when it reads images (1 or 3 channels); else none."""
    convs = conv_layers(model)
    if not convs or convs[0][1].in_channels not in (1, 3):
        return []
    name = convs[0][0]
    return [
        FigureFile(
            "Learned filters",
            plot_filters(model, folder / "filters.png", name),
            f"the kernels of the first conv layer ({name})",
        )
    ]


def patch_layer(model: Any, summary: Any, input_shape: tuple[int, int, int]) -> str:
    """The deepest Conv2d with output larger than 1×1 and a receptive field smaller than the input."""
    shapes = {row.name: row.output_shape for row in summary.rows}
    names = [name for name, _ in conv_layers(model)]
    for name in reversed(names):
        shape = shapes.get(name, ())
        try:
            size = receptive_field(model, name).size
        except ValueError:
            continue
        if len(shape) == 4 and shape[2] * shape[3] > 1 and size[0] < input_shape[1] and size[1] < input_shape[2]:
            return name
    return names[0]


def _mistakes(run: RunData, folder: Path, count: int) -> list[FigureFile]:
    chosen = most_confident_mistakes(run.evaluation.probabilities, run.evaluation.targets, count)
    if len(chosen) == 0:
        return []
    images = np.stack([np.asarray(run.test_set[int(i)][0]) for i in chosen])
    path = plot_misclassified(
        images,
        run.evaluation.targets[chosen],
        run.evaluation.probabilities[chosen],
        run.classes,
        folder / "mistakes.png",
    )
    return [
        FigureFile(
            "Most confident mistakes",
            path,
            f"the {len(chosen)} wrong predictions the model was surest of: true → predicted (probability)",
        )
    ]


def _feature_maps(run: RunData, folder: Path, layers: list[str], images: int) -> list[FigureFile]:
    figures = []
    for index in range(min(images, len(run.test_set))):
        image, label = run.test_set[index]
        model_input = run.transform(np.asarray(image, dtype=np.float32))
        for layer in layers:
            title = f"{layer} on test image {index} ({run.classes[int(label)]})"
            path = plot_feature_maps(run.model, layer, model_input, folder / f"maps-{layer}-{index}.png", title=title)
            figures.append(FigureFile("Feature maps", path, title))
    return figures


def _patches(run: RunData, folder: Path, layer: str, channels: int, k: int, max_images: int) -> list[FigureFile]:
    out_channels = dict(conv_layers(run.model))[layer].out_channels
    chosen = list(range(min(channels, out_channels)))
    found = top_patches(run.model, layer, chosen, run.test_set, k=k, transform=run.transform, max_images=max_images)
    labels = np.asarray(run.test_set.targets) if hasattr(run.test_set, "targets") else None
    figures = []
    for channel, patches in found.items():
        names = [run.classes[int(labels[p.index])] for p in patches] if labels is not None else None
        field = patches[0].image.shape[1:]
        title = f"{layer} channel {channel}: top {len(patches)} of {min(max_images, len(run.test_set))} test images"
        path = plot_top_patches(patches, folder / f"patches-{layer}-{channel}.png", title, names)
        figures.append(
            FigureFile("Top patches", path, f"{title}, cropped to the {field[0]}×{field[1]} receptive field")
        )
    return figures

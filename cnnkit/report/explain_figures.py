"""The report's "Where the model looks" figures: Grad-CAM and saliency of a few right and a few wrong test images.

The right ones are the first correctly classified test images; the wrong ones the most confident mistakes (the
images the "Most confident mistakes" figure starts with). Grad-CAM weighs `default_cam_layer`'s output.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cnnkit.report.run_data import RunData
from cnnkit.viz.explain import default_cam_layer, grad_cam, saliency
from cnnkit.viz.explain_figure import plot_explanations
from cnnkit.viz.misclassified import most_confident_mistakes

SECTION = "Where the model looks"


def explanation_figures(run: RunData, folder: Path, count: int = 4) -> list:
    """Up to two figures (right, wrong), each of up to `count` test images."""
    from cnnkit.report.figures import FigureFile

    evaluation = run.evaluation
    right = np.flatnonzero(evaluation.predictions == evaluation.targets)[:count]
    wrong = most_confident_mistakes(evaluation.probabilities, evaluation.targets, count)
    figures = []
    layer = None
    for kind, chosen in (("right", right), ("wrong", wrong)):
        if len(chosen) == 0:
            continue
        images = [run.transform(np.asarray(run.test_set[int(i)][0], dtype=np.float32)) for i in chosen]
        layer = layer or default_cam_layer(run.model, images[0])
        cams = [grad_cam(run.model, layer, image) for image in images]
        maps = [saliency(run.model, image) for image in images]
        targets = [int(evaluation.targets[int(i)]) for i in chosen]
        title = f"{len(chosen)} {kind} predictions: Grad-CAM at {layer} (top), saliency (bottom)"
        path = plot_explanations(images, cams, maps, targets, run.classes, folder / f"explain-{kind}.png", title)
        figures.append(FigureFile(SECTION, path, f"{title}; above each: true class → predicted (probability)"))
    return figures

"""Figures of Grad-CAM and saliency (`explain.py`): a heat map drawn over its image.

`plot_explanation` writes one image with its Grad-CAM (what `cnnkit predict --explain` writes);
`plot_explanations` a grid, one column per image: the image with its Grad-CAM over it, then its saliency,
with the true and predicted class above (what the run report shows for right and wrong test images).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cnnkit.viz.explain import GradCam, Saliency
from cnnkit.viz.figure import bare, for_display, new_figure, save_figure, show_image

ALPHA = 0.45  # the heat map's opacity over the image


def overlay(ax: Any, image: np.ndarray, heatmap: np.ndarray) -> None:
    """The image in grey (or colour) with `heatmap` in [0, 1] drawn over it in 'jet'."""
    show_image(ax, for_display(image))
    ax.imshow(heatmap, cmap="jet", vmin=0.0, vmax=1.0, alpha=ALPHA, interpolation="bilinear")
    bare(ax)


def plot_explanation(image: Any, cam: GradCam, classes: Sequence[str] | None, path: str | os.PathLike,
                     title: str | None = None) -> Path:
    """One image with its Grad-CAM over it, the class and its probability in the title."""
    fig = new_figure(3.2, 3.5)
    ax = fig.add_subplot(1, 1, 1)
    overlay(ax, np.asarray(getattr(image, "data", image)), cam.heatmap)
    name = classes[cam.target] if classes is not None else f"class {cam.target}"
    ax.set_title(title or f"{name}: {cam.probability:.1%}\nGrad-CAM at {cam.layer}", fontsize=9)
    return save_figure(fig, path)


def plot_explanations(images: Sequence[np.ndarray], cams: Sequence[GradCam], saliencies: Sequence[Saliency],
                      targets: Sequence[int], classes: Sequence[str], path: str | os.PathLike, title: str) -> Path:
    """One column per image: Grad-CAM over the image (top), saliency (bottom); 'true → predicted (p)' above."""
    n = len(images)
    if not n == len(cams) == len(saliencies) == len(targets):
        raise ValueError("plot_explanations: give as many Grad-CAMs, saliencies and targets as images")
    fig = new_figure(max(3.0, 1.45 * n), 3.6)
    for i, (image, cam, sal, true) in enumerate(zip(images, cams, saliencies, targets, strict=True)):
        top = fig.add_subplot(2, n, i + 1)
        overlay(top, image, cam.heatmap)
        mark = "" if cam.target == int(true) else " ✗"
        top.set_title(f"{classes[int(true)]} →\n{classes[cam.target]} ({cam.probability:.0%}){mark}", fontsize=7)
        bottom = fig.add_subplot(2, n, n + i + 1)
        bottom.imshow(sal.heatmap, cmap="hot", vmin=0.0, vmax=1.0, interpolation="nearest")
        bare(bottom)
    fig.axes[0].set_ylabel("Grad-CAM", fontsize=8)
    fig.axes[1].set_ylabel("saliency", fontsize=8)
    fig.suptitle(title, fontsize=10)  # constrained layout keeps it clear of the column titles
    return save_figure(fig, path)

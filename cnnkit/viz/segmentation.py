"""Segmentation pictures: label masks in VOC's colours, masks blended over their images, and the figure
input | ground truth | prediction | errors, one row per image, with a legend of the class colours.

Colours are VOC's palette (`cnnkit.data.formats.voc.voc_palette`): class 1 (128, 0, 0), class 2 (0, 128, 0), …,
and 255 = ignore (224, 224, 192). In an overlay the background (class 0) is left as the image, every other
pixel is (1 − alpha)·image + alpha·colour. The error map is black where the prediction is right, red where it
is wrong and the ignore colour where the ground truth is ignored.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.patches import Patch

from cnnkit.data.formats.voc import voc_palette
from cnnkit.viz.figure import bare, for_display, new_figure, save_figure

WRONG = (255, 0, 0)
CORRECT = (0, 0, 0)
IGNORED = (224, 224, 192)  # VOC's colour of 255
TILE = 1.6  # inches per picture
COLUMNS = ("input", "ground truth", "prediction", "errors (red)")


def colorize_mask(mask: Any, palette: np.ndarray | None = None) -> np.ndarray:
    """uint8 (H, W, 3): each class id of an (H, W) mask in its palette colour (VOC's by default)."""
    mask = _mask("colorize_mask", mask)
    return (voc_palette() if palette is None else np.asarray(palette, np.uint8))[mask]


def overlay_mask(image: Any, mask: Any, alpha: float = 0.5, palette: np.ndarray | None = None) -> np.ndarray:
    """uint8 (H, W, 3): the mask's colours blended over the image (background, class 0, left as it is).

    image: (H, W) or (C, H, W) with C = 1 or 3 (values in [0, 1] drawn as they are, others scaled by their own
    range), or uint8 (H, W, 3) as Pillow gives.
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"overlay_mask: alpha must be in [0, 1], got {alpha}")
    mask = _mask("overlay_mask", mask)
    rgb = _rgb(image)
    if rgb.shape[:2] != mask.shape:
        raise ValueError(f"overlay_mask: image of size {rgb.shape[:2]} and mask of size {mask.shape} differ")
    colours = colorize_mask(mask, palette).astype(np.float32)
    blended = (1 - alpha) * rgb + alpha * colours
    out = np.where((mask != 0)[..., None], blended, rgb)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def error_map(target: Any, prediction: Any, ignore_index: int = 255) -> np.ndarray:
    """uint8 (H, W, 3): black where prediction = target, red where not, the ignore colour at ignored pixels."""
    target, prediction = _mask("error_map", target), _mask("error_map", prediction)
    if target.shape != prediction.shape:
        raise ValueError(f"error_map: target of size {target.shape} and prediction of size {prediction.shape} differ")
    out = np.empty(target.shape + (3,), np.uint8)
    out[...] = CORRECT
    out[prediction != target] = WRONG
    out[target == ignore_index] = IGNORED
    return out


def plot_segmentation(
    images: Any,
    targets: Any,
    predictions: Any,
    class_names: Sequence[str],
    path: str | os.PathLike,
    ignore_index: int = 255,
    alpha: float = 0.5,
    title: str = "",
) -> Path:
    """One row per image — input | ground-truth overlay | prediction overlay | error map — and a legend of the
    colours of the classes that appear; returns the PNG's path. images (N, C, H, W), masks (N, H, W)."""
    images, targets, predictions = np.asarray(images), np.asarray(targets), np.asarray(predictions)
    if not len(images) == len(targets) == len(predictions) or len(images) == 0:
        raise ValueError(
            f"plot_segmentation: expected as many images, targets and predictions (at least one), got "
            f"{len(images)}, {len(targets)} and {len(predictions)}"
        )
    fig = new_figure(len(COLUMNS) * TILE, len(images) * TILE + 0.8)
    axes = fig.subplots(len(images), len(COLUMNS), squeeze=False)
    for row, (image, target, predicted) in enumerate(zip(images, targets, predictions, strict=True)):
        pictures = (
            np.rint(_rgb(image)).astype(np.uint8),
            overlay_mask(image, target, alpha),
            overlay_mask(image, predicted, alpha),
            error_map(target, predicted, ignore_index),
        )
        for ax, picture in zip(axes[row], pictures, strict=True):
            ax.imshow(picture, interpolation="nearest")
            bare(ax)
    for ax, name in zip(axes[0], COLUMNS, strict=True):
        ax.set_title(name, fontsize=8)
    fig.legend(handles=_legend(targets, predictions, class_names, ignore_index), loc="outside lower center",
               ncol=4, fontsize=7, frameon=False)  # fmt: skip
    if title:
        fig.suptitle(title, fontsize=10)
    return save_figure(fig, path)


def _legend(targets: np.ndarray, predictions: np.ndarray, class_names: Sequence[str], ignore_index: int) -> list:
    """A colour patch per class present in the targets or predictions (and one for ignored pixels)."""
    palette = voc_palette()
    present = np.union1d(np.unique(targets), np.unique(predictions))
    handles = []
    for value in present.tolist():
        if value == ignore_index:
            continue
        if not 0 <= value < len(class_names):
            raise ValueError(f"plot_segmentation: class id {value} has no name ({len(class_names)} class names)")
        handles.append(Patch(facecolor=palette[value] / 255, edgecolor="grey", label=class_names[value]))
    if np.any(targets == ignore_index):
        handles.append(Patch(facecolor=np.array(IGNORED) / 255, edgecolor="grey", label="ignored"))
    return handles


def _mask(op: str, mask: Any) -> np.ndarray:
    """An (H, W) integer mask of values in [0, 255], as an index array."""
    mask = np.asarray(mask)
    if mask.ndim != 2 or mask.dtype.kind not in "iub":
        raise ValueError(f"{op}: expected an (H, W) mask of integer class ids, got {mask.dtype} of shape {mask.shape}")
    if mask.size and (mask.min() < 0 or mask.max() > 255):
        raise ValueError(f"{op}: class ids must lie in [0, 255] to have a colour, got [{mask.min()}, {mask.max()}]")
    return mask.astype(np.intp, copy=False)


def _rgb(image: Any) -> np.ndarray:
    """float32 (H, W, 3) in [0, 255] from an (H, W) / (C, H, W) array or a uint8 (H, W, 3) picture."""
    array = np.asarray(image)
    if array.ndim == 3 and array.shape[-1] == 3 and array.dtype == np.uint8:
        return array.astype(np.float32)
    shown = for_display(array, keep_unit=True) * 255  # (H, W) or (H, W, 3)
    return np.repeat(shown[..., None], 3, axis=-1) if shown.ndim == 2 else shown

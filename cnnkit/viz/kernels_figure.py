"""The classic kernels at work: an image and each filtered result, with the kernel's numbers beneath it.

Colour images are turned grey first (the mean of the channels), since the edge kernels' point is the shape of
the intensity, not the colour. Blur and sharpen results are shown on the input's own grey scale, clipped;
edge and Laplacian responses, which are signed, in a diverging map centred on zero.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from cnnkit.signal.kernels import KERNELS, apply_kernel
from cnnkit.viz.figure import bare, new_figure, save_figure

TILE = 1.7  # inches per column


def plot_kernels(image: Any, path: str | os.PathLike, kernels: Mapping[str, Any] | None = None) -> Path:
    """Row 1: the image and its correlation with each kernel; row 2: the kernels' values. Returns the PNG's path."""
    grey = _grey(image)
    kernels = dict(KERNELS if kernels is None else kernels)
    if not kernels:
        raise ValueError("plot_kernels: no kernels given")
    low, high = float(grey.min()), float(grey.max())
    fig = new_figure(TILE * (len(kernels) + 1), 2 * TILE + 0.4)
    axes = fig.subplots(2, len(kernels) + 1, squeeze=False, height_ratios=[1.0, 0.8])
    for ax in axes.ravel():
        bare(ax)
    axes[0, 0].imshow(grey, cmap="gray", vmin=low, vmax=high, interpolation="nearest")
    axes[0, 0].set_title("image", fontsize=9)
    axes[1, 0].set_visible(False)
    for column, (name, kernel) in enumerate(kernels.items(), start=1):
        kernel = np.asarray(kernel, dtype=np.float32)
        _draw_result(axes[0, column], apply_kernel(grey, kernel), kernel, low, high)
        axes[0, column].set_title(name.replace("_", " "), fontsize=9)
        _draw_kernel(axes[1, column], kernel)
    return save_figure(fig, path)


def _grey(image: Any) -> np.ndarray:
    array = np.asarray(getattr(image, "_data", image), dtype=np.float32)
    if array.ndim == 3 and array.shape[0] in (1, 3):
        array = array.mean(axis=0)
    if array.ndim != 2:
        raise ValueError(f"plot_kernels: expected an image (H, W), (1, H, W) or (3, H, W), got shape {array.shape}")
    return array


def _draw_result(ax: Any, result: np.ndarray, kernel: np.ndarray, low: float, high: float) -> None:
    """Kernels summing to 1 (blur, sharpen) keep brightness: grey scale; others respond signed: red/blue."""
    if np.isclose(kernel.sum(), 1.0):
        ax.imshow(np.clip(result, low, high), cmap="gray", vmin=low, vmax=high, interpolation="nearest")
    else:
        peak = float(np.abs(result).max()) or 1.0
        ax.imshow(result, cmap="RdBu_r", vmin=-peak, vmax=peak, interpolation="nearest")


def _draw_kernel(ax: Any, kernel: np.ndarray) -> None:
    """The kernel as a small diverging heat map with its values written in the cells."""
    peak = float(np.abs(kernel).max()) or 1.0
    ax.imshow(kernel, cmap="RdBu_r", vmin=-peak, vmax=peak)
    for (i, j), value in np.ndenumerate(kernel):
        colour = "white" if abs(value) > 0.6 * peak else "black"  # readable on the dark cells
        ax.text(j, i, _number(value), ha="center", va="center", fontsize=8, color=colour)


def _number(value: float) -> str:
    """Whole numbers as integers, sixteenths (the blur) as fractions, anything else to two decimals."""
    if float(value).is_integer():
        return str(int(value))
    sixteenths = value * 16
    if float(sixteenths).is_integer():
        return f"{int(sixteenths)}/16"
    return f"{value:.2f}"

"""Making and saving figures without a window: matplotlib `Figure` objects (no pyplot), written as PNG by Agg.

`pyplot` is never imported, so no backend is chosen, no window can open and no global figure list grows;
each figure is a plain object that is saved and dropped. Also the shared helpers of the figure modules:
grid shapes, turning a (C, H, W) array into something `imshow` shows, and bare image axes.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

GREY = 0.5  # the colour of "outside the image" in patches: mid grey, unlike black or white backgrounds
DPI = 100


def new_figure(width: float, height: float) -> Figure:
    """A figure of width × height inches drawn by Agg (so it renders to pixels, never to a screen)."""
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig: Figure, path: str | os.PathLike) -> Path:
    """Write fig as a PNG at path (parent folders made) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=DPI, facecolor="white")
    return path


def grid_shape(n: int, max_cols: int = 8) -> tuple[int, int]:
    """(rows, cols) of a near-square grid holding n tiles, at most max_cols wide."""
    if n < 1:
        raise ValueError(f"grid_shape: expected at least one tile, got {n}")
    cols = min(max_cols, math.ceil(math.sqrt(n)))
    return math.ceil(n / cols), cols


def tile_figure(
    n: int,
    tile: float,
    max_cols: int = 8,
    label: float = 0.22,
    top: float = 0.45,
    right: float = 0.0,
    min_width: float = 0.0,
) -> tuple[Figure, list[Any]]:
    """A figure holding n bare image axes in a near-square grid, each tile × tile inches with `label` inches
    above it for a title; `top` inches above the grid for the figure's title, `right` inches beside it (e.g.
    for a colour bar). The grid is centred in the width left of `right`.
    """
    rows, cols = grid_shape(n, max_cols)
    width = max(min_width, cols * tile + right)
    height = top + rows * (tile + label) + 0.1
    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    left = (width - right - cols * tile) / 2
    pad = 0.04 * tile
    axes = []
    for i in range(n):
        row, col = divmod(i, cols)
        x = left + col * tile + pad
        y = height - top - (row + 1) * (tile + label) + pad  # bottom edge of the image box
        ax = fig.add_axes((x / width, y / height, (tile - 2 * pad) / width, (tile - 2 * pad) / height))
        bare(ax)
        axes.append(ax)
    return fig, axes


def suptitle(fig: Figure, text: str) -> None:
    """The figure's title, at the top of the space tile_figure leaves for it."""
    fig.suptitle(text, fontsize=10, y=1 - 0.08 / fig.get_figheight(), va="top")


def bare(ax: Any) -> None:
    """No ticks, no frame: the axes shows an image only."""
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)


def for_display(image: Any, keep_unit: bool = False) -> np.ndarray:
    """(C, H, W) or (H, W) → (H, W) or (H, W, 3) scaled to [0, 1] by its own min and max; NaN (outside) → grey.

    For images whose scale is arbitrary (normalised inputs, activations); a constant image shows as grey. With
    keep_unit, an image already within [0, 1] (stored pixels) is shown as it is, so dark stays dark.
    """
    array = np.asarray(getattr(image, "_data", image), dtype=np.float32)
    if array.ndim == 3:
        if array.shape[0] not in (1, 3):
            raise ValueError(f"for_display: expected 1 or 3 channels, got shape {array.shape}")
        array = array[0] if array.shape[0] == 1 else array.transpose(1, 2, 0)
    elif array.ndim != 2:
        raise ValueError(f"for_display: expected an image of shape (C, H, W) or (H, W), got shape {array.shape}")
    finite = np.isfinite(array)
    if not finite.any():
        return np.full(array.shape, GREY, np.float32)
    low, high = float(array[finite].min()), float(array[finite].max())
    if keep_unit and low >= 0.0 and high <= 1.0:
        low, high = 0.0, 1.0
    scaled = (array - low) / (high - low) if high > low else np.full(array.shape, GREY, np.float32)
    return np.where(finite, scaled, GREY).astype(np.float32)


def show_image(ax: Any, image: np.ndarray) -> None:
    """Draw a for_display() result: grey-scale for (H, W), colour for (H, W, 3); pixels as squares."""
    if image.ndim == 2:
        ax.imshow(image, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    else:
        ax.imshow(np.clip(image, 0.0, 1.0), interpolation="nearest")

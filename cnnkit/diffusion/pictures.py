"""Pictures of a diffusion model's output, as PNG: a grid of samples (one row per class when conditional) and
the denoising trajectory x_T … x_0 of a few samples (one row per sample, one column per kept step).

Each picture is one mosaic image drawn in a single axes (pixels as squares, one-pixel white gaps), so a
100-tile grid draws as fast as one tile; row labels (class names) sit at the left, step labels on top.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

TILE_INCHES = 0.45


def mosaic(images: np.ndarray, cols: int, gap: int = 1) -> np.ndarray:
    """Tiles (N, C, H, W) with values in [0, 1] laid out row by row, cols per row, on white: (H', W') or (H', W', 3)."""
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"mosaic: expected images of shape (N, 1 or 3, H, W), got {images.shape}")
    n, c, h, w = images.shape
    rows = -(-n // cols)
    canvas = np.ones((rows * (h + gap) - gap, cols * (w + gap) - gap, c), np.float32)
    for i in range(n):
        r, k = divmod(i, cols)
        canvas[r * (h + gap) : r * (h + gap) + h, k * (w + gap) : k * (w + gap) + w] = images[i].transpose(1, 2, 0)
    return canvas[..., 0] if c == 1 else canvas


def _draw(
    canvas: np.ndarray,
    rows: int,
    cols: int,
    path: str | os.PathLike,
    row_labels: Sequence[str] | None,
    col_labels: Sequence[str] | None,
    title: str | None,
) -> Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from cnnkit.viz.figure import DPI, bare, save_figure

    left = 1.1 if row_labels else 0.1
    top = (0.3 if col_labels else 0.05) + (0.3 if title else 0.0)
    width, height = left + cols * TILE_INCHES + 0.1, top + rows * TILE_INCHES + 0.1
    needed = 0.07 * len(title or "") + 0.2  # room for the title (about 0.07 inch per character)
    left, width = left + max(needed - width, 0) / 2, max(width, needed)  # the grid stays centred
    fig = Figure(figsize=(width, height), dpi=DPI)  # placed by hand: constrained layout doubles the drawing time
    FigureCanvasAgg(fig)
    ax = fig.add_axes((left / width, 0.1 / height, cols * TILE_INCHES / width, rows * TILE_INCHES / height))
    ax.imshow(
        np.clip(canvas, 0, 1),
        cmap="gray" if canvas.ndim == 2 else None,
        vmin=0,
        vmax=1,
        interpolation="nearest",
        aspect="auto",
    )
    bare(ax)
    tile_h, tile_w = (canvas.shape[0] + 1) / rows, (canvas.shape[1] + 1) / cols
    if row_labels:
        ax.set_yticks([(r + 0.5) * tile_h - 1 for r in range(len(row_labels))], list(row_labels), fontsize=8)
    if col_labels:
        ax.xaxis.tick_top()
        ax.set_xticks([(k + 0.5) * tile_w - 1 for k in range(len(col_labels))], list(col_labels), fontsize=7)
    ax.tick_params(length=0)
    if title:
        fig.suptitle(title, fontsize=9, y=1 - 0.05 / height, va="top")
    path = save_figure(fig, path)
    return path


def save_sample_grid(
    images: np.ndarray,
    path: str | os.PathLike,
    *,
    cols: int = 8,
    row_labels: Sequence[str] | None = None,
    title: str | None = None,
) -> Path:
    """Samples (N, C, H, W) in [0, 1] as a grid PNG, `cols` per row; `row_labels` names the rows (e.g. classes)."""
    images = np.asarray(images)
    rows = -(-len(images) // cols)
    if row_labels is not None and len(row_labels) != rows:
        raise ValueError(f"save_sample_grid: {len(row_labels)} row labels for {rows} rows")
    return _draw(mosaic(images, cols), rows, cols, path, row_labels, None, title)


def save_trajectory(
    trajectory: Sequence[tuple[int, np.ndarray]], path: str | os.PathLike, *, samples: int = 6, title: str | None = None
) -> Path:
    """The kept states (level t, x in [−1, 1]-scale) of the first `samples` samples: rows are samples, columns
    x_T … x_0 labelled by t; each state is shown as (x + 1)/2 clipped to [0, 1]."""
    if not trajectory:
        raise ValueError("save_trajectory: the trajectory is empty (sample with trajectory > 0)")
    levels = [level for level, _ in trajectory]
    states = np.stack([x[:samples] for _, x in trajectory], axis=1)  # (samples, steps, C, H, W)
    rows, cols = states.shape[0], states.shape[1]
    tiles = np.clip((states.reshape(rows * cols, *states.shape[2:]) + 1) / 2, 0, 1)
    return _draw(mosaic(tiles, cols), rows, cols, path, None, [f"t={t}" for t in levels], title)

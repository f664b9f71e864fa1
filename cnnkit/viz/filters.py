"""`plot_filters`: a conv layer's kernels (by default the first conv layer's) as a labelled grid of small images.

Kernels over 3 input channels are drawn in colour, each scaled to [0, 1] by its own min and max (so a
kernel's hue shows which colour it looks for). Single-channel kernels are drawn in a diverging colour map
(red positive, blue negative, white zero), each scaled by its own largest |weight| so that zero stays white.
Kernels over another number of channels have no faithful picture and are refused.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from cnnkit import nn
from cnnkit.viz.figure import bare, save_figure, suptitle, tile_figure
from cnnkit.viz.hooks import find_layer, first_conv

TILE = 0.9  # inches per kernel


def filter_images(weight: np.ndarray) -> np.ndarray:
    """(out, in, kH, kW) weights → per-kernel scaled images: (out, kH, kW, 3) in [0, 1] or (out, kH, kW) in [−1, 1]."""
    weight = np.asarray(weight, dtype=np.float32)
    if weight.shape[1] == 3:
        rgb = weight.transpose(0, 2, 3, 1)
        low = rgb.min(axis=(1, 2, 3), keepdims=True)
        span = rgb.max(axis=(1, 2, 3), keepdims=True) - low
        return (rgb - low) / np.where(span > 0, span, 1.0)
    peak = np.abs(weight[:, 0]).max(axis=(1, 2), keepdims=True)
    return weight[:, 0] / np.where(peak > 0, peak, 1.0)


def plot_filters(model: nn.Module, path: str | os.PathLike, layer: str | None = None, max_filters: int = 64) -> Path:
    """Draw the kernels of conv layer `layer` (default: the first Conv2d) as a grid; returns the PNG's path."""
    name, conv = (layer, find_layer(model, layer, "plot_filters")) if layer else first_conv(model, "plot_filters")
    if not isinstance(conv, nn.Conv2d):
        raise ValueError(f"plot_filters: layer {name!r} is a {type(conv).__name__}, not a Conv2d")
    weight = conv.weight._data
    if weight.shape[1] not in (1, 3):
        raise ValueError(
            f"plot_filters: layer {name!r} has kernels over {weight.shape[1]} input channels; only "
            "1 (grey) or 3 (RGB) channels can be drawn as images: choose the first conv layer"
        )
    images = filter_images(weight[:max_filters])
    n, colour = len(images), images.ndim == 4
    bar = 0.0 if colour else 1.0  # room for the colour bar
    fig, axes = tile_figure(n, TILE, right=bar, min_width=2.8 + bar)
    for index, (ax, image) in enumerate(zip(axes, images, strict=True)):
        if colour:
            ax.imshow(image, interpolation="nearest")
        else:
            shown = ax.imshow(image, cmap="RdBu_r", vmin=-1.0, vmax=1.0, interpolation="nearest")
        ax.set_title(str(index), fontsize=8, pad=2)
        bare(ax)
    if not colour:
        width = fig.get_figwidth()
        fig.colorbar(shown, cax=fig.add_axes(((width - 0.8) / width, 0.15, 0.12 / width, 0.6)), label="w / max|w|")
    kh, kw = weight.shape[2:]
    shown_count = f"first {n} of {len(weight)}" if n < len(weight) else f"{n}"
    suptitle(fig, f"{name}: {shown_count} filters, {kh}×{kw}")
    return save_figure(fig, path)

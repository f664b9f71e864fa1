"""Feature maps: a layer's activations for one input image, captured with a forward hook, one tile per channel.

The first tile is the input itself; each channel's tile is scaled by its own min and max (viridis: dark low,
yellow high), so a channel that fires weakly everywhere still shows where it fires most. The tile titles give
the channel index and its maximum.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

import cnnkit
from cnnkit import nn
from cnnkit.viz.figure import bare, for_display, save_figure, show_image, suptitle, tile_figure
from cnnkit.viz.hooks import as_batch, capturing

TILE = 1.1  # inches per map


def feature_maps(model: nn.Module, layer: str, images: Any) -> np.ndarray:
    """Activations of `layer` for a (C, H, W) image or an (N, C, H, W) batch: (C', H', W') or (N, C', H', W')."""
    batch = as_batch(images, "feature_maps")
    with capturing(model, layer, "feature_maps") as captured:
        model(cnnkit.tensor(batch))
    maps = captured["output"]
    if maps.ndim != 4:
        raise ValueError(
            f"feature_maps: layer {layer!r} gives output of shape {maps.shape}, not feature maps "
            "(N, C, H, W); choose a conv, pooling or activation layer before the flatten"
        )
    single = np.asarray(getattr(images, "_data", images)).ndim == 3
    return maps[0] if single else maps


def plot_feature_maps(
    model: nn.Module, layer: str, image: Any, path: str | os.PathLike, max_channels: int = 32, title: str | None = None
) -> Path:
    """Draw the input image and the maps of `layer`'s first max_channels channels; returns the PNG's path."""
    batch = as_batch(image, "plot_feature_maps")
    if len(batch) != 1:
        raise ValueError(f"plot_feature_maps: expected one image (C, H, W), got a batch of {len(batch)}")
    all_maps = feature_maps(model, layer, batch)[0]
    maps = all_maps[:max_channels]
    total = len(maps)
    fig, axes = tile_figure(total + 1, TILE, min_width=3.0)
    show_image(axes[0], for_display(batch[0]))
    axes[0].set_title("input", fontsize=8, pad=2)
    for channel, (ax, fmap) in enumerate(zip(axes[1:], maps, strict=True)):
        ax.imshow(for_display(fmap), cmap="viridis", vmin=0.0, vmax=1.0, interpolation="nearest")
        ax.set_title(f"{channel}: max {fmap.max():.2g}", fontsize=7, pad=2)
        bare(ax)
    shape = "×".join(str(d) for d in maps.shape[1:])
    count = f"first {total} of {len(all_maps)}" if total < len(all_maps) else str(total)
    suptitle(fig, title or f"{layer}: {count} channels of {shape}")
    return save_figure(fig, path)

"""Top-k patches (Zeiler & Fergus 2014): the input patches that excite one channel of a conv layer most.

`top_patches` scans a dataset in batches under `no_grad`, takes each image's maximum activation of each
chosen channel and where it occurs, and keeps the k largest over the whole dataset (a running top-k: one
vectorised merge per batch). Each winner is cropped from the dataset's own image (before the batch transform,
so the pixels look as stored) to the receptive field of the unit that fired (`cnnkit.receptive_field`); where
the field reaches past the image border the crop holds NaN, drawn mid-grey. `plot_top_patches` draws them as a
grid (3×3 for the default k = 9), each titled with its activation and dataset index.

The batch transform must not move pixels (normalisation is fine; a random crop would misplace the boxes).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cnnkit import nn
from cnnkit.receptive_field import ReceptiveField, receptive_field
from cnnkit.viz.figure import GREY, save_figure, show_image, suptitle, tile_figure
from cnnkit.viz.hooks import capturing

TILE = 1.2  # inches per patch


@dataclass
class Patch:
    """One of a channel's top activations: where it came from and the cropped input."""

    index: int  # dataset index of the image
    value: float  # the channel's activation at (row, col)
    row: int
    col: int
    box: tuple[int, int, int, int]  # (top, left, bottom, right) in input pixels, bottom/right exclusive
    image: np.ndarray  # (C, box height, box width); NaN where the box lies outside the image


@dataclass
class _Best:
    """The running top-k of every channel: arrays of shape (channels, ≤ k), largest first."""

    values: np.ndarray
    indices: np.ndarray
    places: np.ndarray  # flat position in the feature map (row · width + col)


def top_patches(
    model: nn.Module,
    layer: str,
    channels: int | Sequence[int],
    dataset: Any,
    k: int = 9,
    batch_size: int = 256,
    transform: Callable | None = None,
    max_images: int | None = None,
) -> dict[int, list[Patch]]:
    """For each channel of `layer`, its k strongest activations over `dataset` (largest first) as Patches.

    `transform` is the batch transform the model was trained with (e.g. Normalize); `max_images` limits the
    scan to the dataset's first images.
    """
    channels = [int(channels)] if np.isscalar(channels) else [int(c) for c in channels]
    if k < 1:
        raise ValueError(f"top_patches: k must be at least 1, got {k}")
    field = receptive_field(model, layer)
    best, width = _scan(model, layer, channels, dataset, k, batch_size, transform, max_images)
    result = {}
    for i, channel in enumerate(channels):
        patches = []
        for value, index, place in zip(best.values[i], best.indices[i], best.places[i], strict=True):
            row, col = divmod(int(place), width)
            image = np.asarray(dataset[int(index)][0], dtype=np.float32)
            patches.append(
                Patch(int(index), float(value), row, col, field.box(row, col), crop_patch(image, field, row, col))
            )
        result[channel] = patches
    return result


def _scan(
    model: nn.Module,
    layer: str,
    channels: list[int],
    dataset: Any,
    k: int,
    batch_size: int,
    transform: Callable | None,
    max_images: int | None,
) -> tuple[_Best, int]:
    """One pass over the dataset; returns the running top-k and the feature maps' width."""
    from cnnkit.data import DataLoader, Subset

    if max_images is not None and max_images < len(dataset):
        dataset = Subset(dataset, np.arange(max_images))
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, transform=transform)
    n = len(channels)
    best = _Best(np.zeros((n, 0), np.float32), np.zeros((n, 0), np.int64), np.zeros((n, 0), np.int64))
    seen, width = 0, 1
    with capturing(model, layer, "top_patches") as captured:
        for images, _ in loader:
            model(images)
            maps = _checked(captured["output"], layer, channels)
            width = maps.shape[3]
            chosen = maps[:, channels].reshape(len(maps), n, -1)  # (B, channels, H·W)
            places = chosen.argmax(axis=2)
            values = np.take_along_axis(chosen, places[..., None], axis=2)[..., 0]
            indices = np.broadcast_to(seen + np.arange(len(maps)), (n, len(maps)))
            best = _merge(best, values.T, indices, places.T, k)
            seen += len(maps)
    return best, width


def _merge(best: _Best, values: np.ndarray, indices: np.ndarray, places: np.ndarray, k: int) -> _Best:
    """Keep the k largest of the old best and a batch's values per channel (ties: the earlier image first)."""
    all_values = np.concatenate([best.values, values], axis=1)
    order = np.argsort(-all_values, axis=1, kind="stable")[:, :k]

    def pick(old: np.ndarray, new: np.ndarray) -> np.ndarray:
        return np.take_along_axis(np.concatenate([old, new], axis=1), order, axis=1)

    return _Best(pick(best.values, values), pick(best.indices, indices), pick(best.places, places))


def _checked(maps: np.ndarray, layer: str, channels: list[int]) -> np.ndarray:
    if maps.ndim != 4:
        raise ValueError(
            f"top_patches: layer {layer!r} gives output of shape {maps.shape}, not feature maps (N, C, H, W)"
        )
    bad = [c for c in channels if not 0 <= c < maps.shape[1]]
    if bad:
        raise ValueError(
            f"top_patches: layer {layer!r} has {maps.shape[1]} channels (0 to {maps.shape[1] - 1}), "
            f"got channel {bad[0]}"
        )
    return maps


def crop_patch(image: np.ndarray, field: ReceptiveField, row: int, col: int) -> np.ndarray:
    """The (C, H, W) image inside unit (row, col)'s receptive field, NaN where the field leaves the image."""
    top, left, bottom, right = field.box(row, col)
    channels, height, width = image.shape
    patch = np.full((channels, bottom - top, right - left), np.nan, np.float32)
    t, l, b, r = max(top, 0), max(left, 0), min(bottom, height), min(right, width)
    if t < b and l < r:
        patch[:, t - top : b - top, l - left : r - left] = image[:, t:b, l:r]
    return patch


def plot_top_patches(
    patches: Sequence[Patch], path: str | os.PathLike, title: str = "", names: Sequence[str] | None = None
) -> Path:
    """Draw patches as a grid in the given order; titles give the activation, the index and names[i] if given."""
    if not patches:
        raise ValueError("plot_top_patches: no patches to draw")
    fig, axes = tile_figure(len(patches), TILE, min_width=3.0)
    low, high = _pixel_range(patches)
    for i, (ax, patch) in enumerate(zip(axes, patches, strict=True)):
        show_image(ax, _display(patch.image, low, high))
        name = f" {names[i]}" if names is not None else ""
        ax.set_title(f"{patch.value:.2f} #{patch.index}{name}", fontsize=7, pad=2)
    height, width = patches[0].image.shape[1:]
    suptitle(fig, title or f"top {len(patches)} patches ({height}×{width} receptive field)")
    return save_figure(fig, path)


def _pixel_range(patches: Sequence[Patch]) -> tuple[float, float]:
    """[0, 1] for images stored as [0, 1] pixels, else the patches' common min and max (brightness comparable)."""
    values = np.concatenate([p.image[np.isfinite(p.image)] for p in patches])
    if values.size == 0 or (values.min() >= 0 and values.max() <= 1):
        return 0.0, 1.0
    return float(values.min()), float(max(values.max(), values.min() + 1e-12))


def _display(image: np.ndarray, low: float, high: float) -> np.ndarray:
    """(C, h, w) → (h, w) or (h, w, 3) in [0, 1]; NaN (outside the image) → grey."""
    scaled = np.where(np.isnan(image), GREY, (image - low) / (high - low))
    return scaled[0] if scaled.shape[0] == 1 else scaled.transpose(1, 2, 0)

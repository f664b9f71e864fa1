"""torchvision.utils' `make_grid` and `save_image`: a batch of images tiled into one picture, as torchvision.

make_grid(tensor (B, C, H, W) or a list of (C, H, W), nrow=8, padding=2, normalize=False, value_range=None,
scale_each=False, pad_value=0.0) → Tensor (3 or C, rows·(H + p) + p, nrow·(W + p) + p): one-channel images
become three, `normalize` maps value_range (default: the min and max) to [0, 1], clamping first.
save_image writes the grid as 8-bit through Pillow: round(255·x + 0.5) clamped, as torchvision's.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

from cnnkit.tensor import Tensor


def as_batch(tensor: Any) -> np.ndarray:
    if isinstance(tensor, list | tuple):
        tensor = np.stack([t.numpy() if isinstance(t, Tensor) else np.asarray(t) for t in tensor])
    array = tensor.numpy() if isinstance(tensor, Tensor) else np.asarray(tensor)
    array = array.astype(np.float32) if array.dtype.kind != "f" else array.copy()
    if array.ndim == 2:
        array = array[None]
    if array.ndim == 3:
        array = np.repeat(array, 3, axis=0) if array.shape[0] == 1 else array
        array = array[None]
    if array.ndim != 4:
        raise ValueError(f"make_grid: expected a (B, C, H, W) tensor or a list of (C, H, W) tensors, got {array.shape}")
    if array.shape[1] == 1:
        array = np.repeat(array, 3, axis=1)
    return array


def normalize_range(array: np.ndarray, value_range: tuple[float, float] | None) -> np.ndarray:
    low, high = (float(array.min()), float(array.max())) if value_range is None else value_range
    np.clip(array, low, high, out=array)
    array -= low
    array /= max(high - low, 1e-5)
    return array


def make_grid(tensor: Any, nrow: int = 8, padding: int = 2, normalize: bool = False,
              value_range: tuple[float, float] | None = None, scale_each: bool = False,
              pad_value: float = 0.0) -> Tensor:
    """The images tiled nrow to a row, `padding` pixels of `pad_value` between and around them."""
    array = as_batch(tensor)
    if normalize:
        if scale_each:
            for image in array:
                normalize_range(image, value_range)
        else:
            normalize_range(array, value_range)
    if array.shape[0] == 1:
        return Tensor(array[0])
    count, channels, h, w = array.shape
    xmaps = min(nrow, count)
    ymaps = int(math.ceil(count / xmaps))
    height, width = h + padding, w + padding
    grid = np.full((channels, height * ymaps + padding, width * xmaps + padding), pad_value, dtype=array.dtype)
    for k in range(count):
        y, x = divmod(k, xmaps)
        grid[:, y * height + padding: (y + 1) * height, x * width + padding: (x + 1) * width] = array[k]
    return Tensor(grid)


def save_image(tensor: Any, fp: str | os.PathLike | Any, format: str | None = None, **kwargs: Any) -> None:  # noqa: A002
    """make_grid(tensor, **kwargs) written as an 8-bit image (the format from the file name, or `format`)."""
    from PIL import Image

    grid = make_grid(tensor, **kwargs).numpy()
    pixels = np.clip(grid * 255 + 0.5, 0, 255).astype(np.uint8).transpose(1, 2, 0)
    image = Image.fromarray(np.ascontiguousarray(pixels[:, :, 0] if pixels.shape[2] == 1 else pixels))
    image.save(fp, format=format)


__all__ = ["make_grid", "save_image"]

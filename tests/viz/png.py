"""Reading a written figure back: its pixel size, that it is not blank, and whether it holds a given colour."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def read_png(path: Path, size: tuple[int, int]) -> np.ndarray:
    """The PNG's RGB pixels, after checking it is a PNG of (width, height) = size with non-zero pixel variance."""
    with Image.open(path) as image:
        assert image.format == "PNG", f"{path} is {image.format}, not PNG"
        assert image.size == size, f"{path} is {image.size} pixels, expected {size}"
        pixels = np.asarray(image.convert("RGB"), dtype=np.float64)
    assert pixels.var() > 0, f"{path} is blank"
    return pixels


def has_colour(pixels: np.ndarray, rgb: tuple[int, int, int], tolerance: float = 6.0) -> bool:
    """True when some pixel is within `tolerance` (per channel) of rgb."""
    return bool(np.any(np.all(np.abs(pixels - np.asarray(rgb)) <= tolerance, axis=-1)))


def colormap_rgb(name: str, value: float) -> tuple[int, int, int]:
    """The 8-bit colour matplotlib's colour map `name` gives to value in [0, 1]."""
    from matplotlib import colormaps

    r, g, b, _ = colormaps[name](value)
    return round(r * 255), round(g * 255), round(b * 255)

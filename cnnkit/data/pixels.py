"""Image files to float pixels, the one way every reader does it: bounded, 16-bit aware, refused by name.

- `open_image(path)` opens a file's header with Pillow. An image larger than `PIL.Image.MAX_IMAGE_PIXELS`
  (Pillow's decompression-bomb bound, ~89 megapixels) is refused before its pixels are decoded, as is a file
  Pillow cannot read; the message names the file.
- `unit_pixels(picture, mode)` gives float32 (H, W, C) in [0, 1] for mode "L" (C = 1) or "RGB" (C = 3).
  8-bit images are divided by 255 (as torchvision's `to_tensor`); 16-bit grey images (Pillow modes I;16…,
  and I, which Pillow gives 16-bit PNGs) by 65535, so a 16-bit image and its 8-bit version agree to 1/255.
  Colour, palette and CMYK images go through Pillow's conversion to the mode. 32-bit float images (mode F)
  are refused: their range is not defined (Pillow's conversion would clip them).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from cnnkit.data.errors import DatasetFormatError

SIXTEEN_BIT_MODES = {"I;16", "I;16L", "I;16B", "I;16N", "I"}
GREY_MODES = {"1", "L", "LA", "F", *SIXTEEN_BIT_MODES}


def open_image(path: str | os.PathLike, reader: str = "image", unreadable: str = "is not a readable image"):
    """A Pillow image with only its header read; bombs and unreadable files refused naming the file (after
    `reader: ` unless `reader` is empty; `unreadable` says what a file Pillow cannot identify is)."""
    from PIL import Image, UnidentifiedImageError

    prefix = f"{reader}: " if reader else ""

    with warnings.catch_warnings():
        # Pillow warns above MAX_IMAGE_PIXELS and raises only above twice that: refuse from the first bound
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            return Image.open(path)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise DatasetFormatError(f"{prefix}{path} is refused as a possible decompression bomb ({error})"
                                     ) from None
        except FileNotFoundError:
            raise DatasetFormatError(f"{prefix}{path}: file not found") from None
        except (UnidentifiedImageError, OSError, ValueError) as error:
            raise DatasetFormatError(f"{prefix}{path} {unreadable} ({error})") from None


def unit_pixels(picture, mode: str, size: tuple[int, int] | None = None) -> np.ndarray:
    """float32 (H, W, C) in [0, 1] of a Pillow image in `mode` ("L" or "RGB"), resized (bilinear) to `size`
    (width, height) when given."""
    from PIL import Image

    if picture.mode == "F":  # Pillow's convert would clip at 0–255 and turn 0–1 images black, NaN into 0
        raise ValueError("32-bit float pixels (Pillow mode F) have no defined range to scale from; save the "
                         "image with 8 or 16-bit pixels")
    if picture.mode in SIXTEEN_BIT_MODES:  # Pillow's convert("L") would clip these at 255, not scale them
        grey = Image.fromarray(np.asarray(picture, dtype=np.float32) / np.float32(65535))  # mode "F"
        if size is not None and grey.size != size:
            grey = grey.resize(size, Image.BILINEAR)
        values = np.clip(np.asarray(grey, dtype=np.float32), 0, 1)[..., None]
        return values if mode == "L" else np.repeat(values, 3, axis=-1)
    picture = picture.convert(mode)
    if size is not None and picture.size != size:
        picture = picture.resize(size, Image.BILINEAR)
    values = np.asarray(picture, dtype=np.float32) / np.float32(255)
    return values[..., None] if values.ndim == 2 else values


def read_pixels(path: str | os.PathLike, mode: str, size: tuple[int, int] | None = None,
                reader: str = "image", unreadable: str = "is not a readable image") -> np.ndarray:
    """float32 (C, H, W) in [0, 1] of an image file (see `unit_pixels`); a file that fails to decode is named."""
    path = Path(path)
    try:
        with open_image(path, reader, unreadable) as picture:
            values = unit_pixels(picture, mode, size)
    except (OSError, ValueError, SyntaxError) as error:
        if isinstance(error, DatasetFormatError):
            raise
        raise DatasetFormatError(f"{f'{reader}: ' if reader else ''}cannot decode {path} ({error})") from None
    return np.ascontiguousarray(values.transpose(2, 0, 1))

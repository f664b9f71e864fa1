"""Image and mask files for the dataset formats, through Pillow: write lossless PNG or JPEG, read back as arrays.

Readers return float32 (C, H, W) in [0, 1]: one channel for grey images (modes 1, L, I;16…), three for anything
else (converted to RGB). Label masks are read as stored indices from palette ('P') or grey ('L') PNGs, never
through colours (converting a VOC mask to RGB and back loses the 255 "ignore" value, d2l's pitfall).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from cnnkit.data.errors import DatasetFormatError
from cnnkit.data.pixels import GREY_MODES, open_image, unit_pixels

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")
JPEG_QUALITY = 95


def save_image(path: str | os.PathLike, image: np.ndarray, quality: int = JPEG_QUALITY) -> Path:
    """Write a uint8 image (H, W) or (H, W, 3); the suffix picks the format (.png lossless, .jpg at `quality`)."""
    from PIL import Image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    options = {"quality": quality} if path.suffix.lower() in (".jpg", ".jpeg") else {}
    Image.fromarray(np.ascontiguousarray(image)).save(path, **options)
    return path


def save_index_png(path: str | os.PathLike, indices: np.ndarray, palette: np.ndarray | None = None) -> Path:
    """Write uint8 indices (H, W) as a PNG: palette mode 'P' when a (256, 3) palette is given, else grey 'L'."""
    from PIL import Image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    picture = Image.fromarray(np.ascontiguousarray(indices, dtype=np.uint8))  # 2-D uint8: mode "L"
    if palette is not None:
        picture = picture.copy()
        picture.putpalette(np.asarray(palette, dtype=np.uint8).ravel().tolist())  # 'L' becomes 'P', values kept
    picture.save(path)
    return path


def open_picture(path: Path):
    """A decoded Pillow image; bombs and unreadable files are refused naming the file (`pixels.open_image`)."""
    picture = open_image(path, "image")
    try:
        picture.load()
    except (OSError, ValueError, SyntaxError) as error:
        raise DatasetFormatError(f"{path}: cannot be read as an image ({error})") from None
    return picture


def load_image(path: str | os.PathLike) -> np.ndarray:
    """float32 (1 or 3, H, W) in [0, 1]; 16-bit grey images scaled by 65535."""
    picture = open_picture(Path(path))
    try:
        values = unit_pixels(picture, "L" if picture.mode in GREY_MODES else "RGB")
    except ValueError as error:
        raise DatasetFormatError(f"{path}: {error}") from None
    return np.ascontiguousarray(values.transpose(2, 0, 1))


def load_index_png(path: str | os.PathLike) -> np.ndarray:
    """uint8 (H, W): the stored indices of a palette or grey mask image (never its colours)."""
    path = Path(path)
    picture = open_picture(path)
    if picture.mode not in ("P", "L"):
        raise DatasetFormatError(
            f"{path}: expected a palette ('P') or grey ('L') PNG of class indices, got mode "
            f"{picture.mode!r} (a colour mask would need a colour-to-class table)"
        )
    return np.asarray(picture, dtype=np.uint8)


def find_image(folder: Path, stem: str) -> Path:
    """folder/stem with the first image extension that exists (.jpg, .jpeg, .png, .bmp, any case)."""
    for extension in IMAGE_EXTENSIONS:
        for candidate in (folder / (stem + extension), folder / (stem + extension.upper())):
            if candidate.is_file():
                return candidate
    raise DatasetFormatError(f"{folder}: no image named {stem} with an extension among {', '.join(IMAGE_EXTENSIONS)}")


def image_files(folder: Path) -> list[Path]:
    """The image files directly in folder, sorted by name."""
    if not folder.is_dir():
        raise DatasetFormatError(f"{folder}: not a folder of images")
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)

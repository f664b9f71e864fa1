"""ImageFolder: images in one sub-folder per class (root/cat/001.png, root/dog/xyz.jpg, ...), read with Pillow.

As torchvision: classes are the sorted sub-folder names, `samples` the sorted (path, class index) pairs, files
filtered by extension (case-insensitive). Every image is converted to 'L' when all the folder's images are
grayscale, else to 'RGB', so items are float32 (1 or 3, H, W) in [0, 1]. Images of different sizes need a
transform that resizes (e.g. `Resize((32, 32))`); otherwise the DataLoader refuses to stack them, naming the files.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cnnkit.data.dataset import Dataset
from cnnkit.data.errors import DatasetFormatError
from cnnkit.data.transforms import image_to_float

IMG_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp")
GRAYSCALE_MODES = {"1", "L", "LA", "I", "I;16", "I;16L", "I;16B", "I;16N", "F"}


def find_classes(root: Path) -> tuple[list[str], dict[str, int]]:
    """Sorted class-folder names and their indices."""
    if not root.is_dir():
        raise FileNotFoundError(f"ImageFolder: {root} is not a folder")
    classes = sorted(entry.name for entry in os.scandir(root) if entry.is_dir())
    if not classes:
        raise FileNotFoundError(f"ImageFolder: {root} has no class sub-folders (expected root/<class>/<image>)")
    return classes, {c: i for i, c in enumerate(classes)}


def make_samples(root: Path, class_to_idx: dict[str, int], extensions: Sequence[str]) -> list[tuple[str, int]]:
    """(path, class index) for every file with an accepted extension, classes in order, files sorted within each."""
    lowered = tuple(e.lower() for e in extensions)
    samples = []
    empty = []
    for name, index in sorted(class_to_idx.items(), key=lambda kv: kv[1]):
        found = [
            (os.path.join(dirpath, f), index)
            for dirpath, _, files in sorted(os.walk(root / name, followlinks=True))
            for f in sorted(files)
            if f.lower().endswith(lowered)
        ]
        if not found:
            empty.append(name)
        samples += found
    if empty:
        raise FileNotFoundError(f"ImageFolder: no image with an extension in {tuple(extensions)} in the class "
                                f"folder(s) {', '.join(empty)} under {root}")
    return samples


def image_mode(path: str) -> str:
    """The file's Pillow mode, from its header only; a file Pillow cannot read is refused, by name."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return image.mode
    except (UnidentifiedImageError, OSError) as error:
        raise DatasetFormatError(f"ImageFolder: {path} is not a readable image ({error})") from None


class ImageFolder(Dataset):
    """A classification dataset from a folder tree; items are (float32 (C, H, W) after `transform`, int)."""

    def __init__(self, root: str | os.PathLike, transform: Callable | None = None,
                 extensions: Sequence[str] = IMG_EXTENSIONS, target_transform: Callable | None = None) -> None:
        self.root = Path(root).expanduser()
        self.transform = transform
        self.target_transform = target_transform
        self.extensions = tuple(extensions)
        self.classes, self.class_to_idx = find_classes(self.root)
        self.samples = make_samples(self.root, self.class_to_idx, self.extensions)
        self.imgs = self.samples  # torchvision's alias
        self.targets = np.array([target for _, target in self.samples], dtype=np.int64)
        modes = {image_mode(path) for path, _ in self.samples}
        self.mode = "L" if modes <= GRAYSCALE_MODES else "RGB"

    def __len__(self) -> int:
        return len(self.samples)

    def load_image(self, path: str) -> np.ndarray:
        """float32 (C, H, W) in [0, 1]; a file that fails to decode is refused, by name."""
        from PIL import Image

        try:
            with Image.open(path) as image:
                pixels = np.asarray(image.convert(self.mode))
        except OSError as error:
            raise DatasetFormatError(f"ImageFolder: cannot decode {path} ({error})") from None
        return image_to_float(pixels, batched=False)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        path, target = self.samples[index]
        image: Any = self.load_image(path)
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

    def describe(self, index: int) -> str:
        """How the DataLoader names an item in messages."""
        return self.samples[index][0]

    def __repr__(self) -> str:
        return f"ImageFolder(root={str(self.root)!r}, n={len(self)}, classes={len(self.classes)}, mode={self.mode!r})"

"""torchvision.datasets.ImageFolder: root/<class>/<image>, items (PIL RGB image via `loader`, class index).

Classes are the sorted sub-folder names; `samples` / `imgs` the (path, index) pairs; the files are those with an
image extension (case-insensitive) or accepted by `is_valid_file`. Unlike `cnnkit.data.ImageFolder`, nothing is
converted to arrays: the transform gets what `loader` returns (a PIL image in RGB by default), as torchvision's.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cnnkit.data.errors import DatasetFormatError
from cnnkit.data.image_folder import find_classes
from cnnkit.utils.data.dataset import Dataset

IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


def pil_loader(path: str) -> Any:
    """The image at path, converted to RGB; a file Pillow cannot read is refused by name."""
    from PIL import Image, UnidentifiedImageError

    try:
        with open(path, "rb") as f, Image.open(f) as img:
            return img.convert("RGB")
    except (UnidentifiedImageError, OSError) as error:
        raise DatasetFormatError(f"ImageFolder: cannot read {path} as an image ({error})") from None


default_loader = pil_loader


def make_dataset(root: Path, class_to_idx: dict[str, int], extensions: tuple[str, ...] | None,
                 is_valid_file: Callable[[str], bool] | None, allow_empty: bool) -> list[tuple[str, int]]:
    if (extensions is None) == (is_valid_file is None):
        raise ValueError("ImageFolder: both extensions and is_valid_file cannot be None or not None at the same time")
    if is_valid_file is None:
        lowered = tuple(e.lower() for e in extensions)

        def is_valid_file(path: str) -> bool:
            return path.lower().endswith(lowered)

    samples, empty = [], []
    for name, index in sorted(class_to_idx.items(), key=lambda kv: kv[1]):
        found = [(os.path.join(dirpath, f), index)
                 for dirpath, _, files in sorted(os.walk(root / name, followlinks=True))
                 for f in sorted(files) if is_valid_file(os.path.join(dirpath, f))]
        if not found:
            empty.append(name)
        samples += found
    if empty and not allow_empty:
        raise FileNotFoundError(f"ImageFolder: found no valid file for the classes {', '.join(empty)} under {root}; "
                                f"supported extensions are: {', '.join(extensions or ())}")
    return samples


class DatasetFolder(Dataset):
    """root/<class>/<file>, each file read by `loader`."""

    def __init__(self, root: str | os.PathLike, loader: Callable[[str], Any],
                 extensions: tuple[str, ...] | None = None, transform: Callable | None = None,
                 target_transform: Callable | None = None, is_valid_file: Callable[[str], bool] | None = None,
                 allow_empty: bool = False) -> None:
        self.root = str(Path(root).expanduser())
        self.loader, self.extensions = loader, extensions
        self.transform, self.target_transform = transform, target_transform
        self.classes, self.class_to_idx = find_classes(Path(self.root))
        self.samples = make_dataset(Path(self.root), self.class_to_idx, extensions, is_valid_file, allow_empty)
        self.targets = [target for _, target in self.samples]

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        path, target = self.samples[index]
        sample = self.loader(path)
        if self.transform is not None:
            sample = self.transform(sample)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return sample, target

    def describe(self, index: int) -> str:
        return self.samples[index][0]


class ImageFolder(DatasetFolder):
    """ImageFolder(root, transform=None, target_transform=None, loader=default_loader, is_valid_file=None)."""

    def __init__(self, root: str | os.PathLike, transform: Callable | None = None,
                 target_transform: Callable | None = None, loader: Callable[[str], Any] = default_loader,
                 is_valid_file: Callable[[str], bool] | None = None, allow_empty: bool = False) -> None:
        super().__init__(root, loader, IMG_EXTENSIONS if is_valid_file is None else None, transform,
                         target_transform, is_valid_file, allow_empty)
        self.imgs = self.samples

"""ImageFolder: images in one sub-folder per class (root/cat/001.png, root/dog/xyz.jpg, ...), read with Pillow.

As torchvision: classes are the sorted sub-folder names, `samples` the sorted (path, class index) pairs, files
filtered by extension (case-insensitive). Every image is converted to 'L' when all the folder's images are
grayscale, else to 'RGB' (or to the `mode` given), so items are float32 (1 or 3, H, W) in [0, 1], 16-bit
images scaled by 65535 (`pixels`). Images of different sizes need a
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
from cnnkit.data.pixels import GREY_MODES, open_image, read_pixels

IMG_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp")
GRAYSCALE_MODES = GREY_MODES


def find_classes(root: Path) -> tuple[list[str], dict[str, int]]:
    """Sorted class-folder names and their indices."""
    if not root.is_dir():
        raise FileNotFoundError(f"ImageFolder: {root} is not a folder")
    classes = sorted(entry.name for entry in os.scandir(root) if entry.is_dir())
    if not classes:
        raise FileNotFoundError(f"ImageFolder: {root} has no class sub-folders (expected root/<class>/<image>)")
    for name in classes:  # a class name is stored as text (checkpoints, reports): undecodable bytes cannot be
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:
            raw = os.fsencode(name)
            raise DatasetFormatError(f"ImageFolder: the class folder {raw!r} in {root} is not named in UTF-8; "
                                     "rename it (class names are stored as text)") from None
    return classes, {c: i for i, c in enumerate(classes)}


def class_folders(folder: Path) -> list[tuple[str, list[str]]]:
    """(folder, file names) of folder and every folder under it, links followed but each real folder read once:
    a link that leads back into the walk (a loop) is refused naming it, where os.walk would list the same images
    again at every level until the path grows too long."""
    seen: dict[str, str] = {}
    walked = []
    for dirpath, _, files in os.walk(folder, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in seen:
            raise DatasetFormatError(f"ImageFolder: {dirpath} is {seen[real]} again, through a link that loops "
                                     "(a folder linked into itself or a folder above it); remove the link")
        seen[real] = dirpath
        walked.append((dirpath, files))
    return walked


def make_samples(root: Path, class_to_idx: dict[str, int], extensions: Sequence[str]) -> list[tuple[str, int]]:
    """(path, class index) for every file with an accepted extension, classes in order, files sorted within each."""
    lowered = tuple(e.lower() for e in extensions)
    samples = []
    empty = []
    for name, index in sorted(class_to_idx.items(), key=lambda kv: kv[1]):
        found = [
            (os.path.join(dirpath, f), index)
            for dirpath, files in sorted(class_folders(root / name))
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


def image_header(path: str) -> tuple[str, tuple[int, int]]:
    """The file's Pillow mode and (width, height), from its header only; a bomb or an unreadable file is refused."""
    with open_image(path, "ImageFolder") as image:
        return image.mode, image.size


def image_mode(path: str) -> str:
    """The file's Pillow mode, from its header only; a file Pillow cannot read is refused, by name."""
    return image_header(path)[0]


class ImageFolder(Dataset):
    """A classification dataset from a folder tree; items are (float32 (C, H, W) after `transform`, int)."""

    def __init__(self, root: str | os.PathLike, transform: Callable | None = None,
                 extensions: Sequence[str] = IMG_EXTENSIONS, target_transform: Callable | None = None,
                 mode: str | None = None) -> None:
        self.root = Path(root).expanduser()
        self.transform = transform
        self.target_transform = target_transform
        self.extensions = tuple(extensions)
        self.classes, self.class_to_idx = find_classes(self.root)
        self.samples = make_samples(self.root, self.class_to_idx, self.extensions)
        self.imgs = self.samples  # torchvision's alias
        self.targets = np.array([target for _, target in self.samples], dtype=np.int64)
        self.headers = [image_header(path) for path, _ in self.samples]  # (mode, (width, height)) per file
        if mode not in (None, "L", "RGB"):
            raise ValueError(f"ImageFolder: mode must be None, 'L' or 'RGB', got {mode!r}")
        self.mode = mode or ("L" if {m for m, _ in self.headers} <= GRAYSCALE_MODES else "RGB")

    def check_same_size(self, size: tuple[int, int] | None = None) -> tuple[int, int]:
        """The (width, height) all images share (or must share: `size`); the first that differs is named."""
        size = size or self.headers[0][1]
        for (path, _), (_, found) in zip(self.samples, self.headers, strict=True):
            if found != size:
                raise DatasetFormatError(f"ImageFolder: {path} is {found[0]}×{found[1]} pixels but the images are "
                                         f"{size[0]}×{size[1]}; resize the images to one size (or give a transform "
                                         "that resizes)")
        return size

    def __len__(self) -> int:
        return len(self.samples)

    def load_image(self, path: str) -> np.ndarray:
        """float32 (C, H, W) in [0, 1] (16-bit images scaled by 65535); a file that fails to decode is named."""
        return read_pixels(path, self.mode, reader="ImageFolder")

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

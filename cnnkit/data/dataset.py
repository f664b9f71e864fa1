"""The dataset protocol (len + indexing to (image, label)) and the generic datasets: in-memory arrays, subsets, splits.

An "array-backed" dataset has `data` (uint8 (N, H, W) / (N, H, W, C) images as torchvision stores them, or float
(N, C, H, W) images already in model layout) and `targets` (int64 (N,)); the DataLoader batches those with one
fancy-indexing op instead of calling `__getitem__` per image.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cnnkit.data.transforms import image_to_float
from cnnkit.random import default_generator
from cnnkit.utils.data.dataset import Dataset as BaseDataset
from cnnkit.utils.data.dataset import Subset as BaseSubset


class Dataset(BaseDataset):
    """Base class: subclasses define `__len__` and `__getitem__(i) -> (image, label)` (torch.utils.data.Dataset)."""

    def __len__(self) -> int:
        raise NotImplementedError


class ArrayDataset(Dataset):
    """Images and labels already in memory: uint8 (N, H, W[, C]) or float (N, C, H, W) images, integer labels (N,)."""

    def __init__(self, data: np.ndarray, targets: Sequence[int] | np.ndarray, transform: Callable | None = None,
                 target_transform: Callable | None = None, classes: Sequence[str] | None = None) -> None:
        data = np.asarray(data)
        targets = np.asarray(targets)
        if data.dtype != np.uint8 and data.dtype.kind != "f":
            raise TypeError(f"ArrayDataset: expected uint8 or floating images, got dtype {data.dtype}")
        if data.ndim not in (3, 4):
            raise ValueError(f"ArrayDataset: expected images of shape (N, H, W), (N, H, W, C) or (N, C, H, W), "
                             f"got {data.shape}")
        if targets.ndim != 1 or targets.dtype.kind not in "iu":
            raise ValueError(f"ArrayDataset: expected integer labels of shape (N,), "
                             f"got {targets.dtype} {targets.shape}")
        if len(data) != len(targets):
            raise ValueError(f"ArrayDataset: {len(data)} images but {len(targets)} labels")
        self.data = data
        self.targets = targets.astype(np.int64, copy=False)
        self.transform = transform
        self.target_transform = target_transform
        if classes is not None:
            self.classes = list(classes)
        elif not hasattr(self, "classes"):  # subclasses may name their classes at class level
            self.classes = [str(c) for c in range(int(targets.max(initial=-1)) + 1)]

    @property
    def class_to_idx(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.classes)}

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        image: Any = self.item_image(self.data[index])
        target: Any = int(self.targets[index])
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

    def item_image(self, pixels: np.ndarray) -> Any:
        """One stored image as an item gives it, before `transform`: float32 (C, H, W) in [0, 1]."""
        return image_to_float(pixels, batched=False)


class SplitDataset(ArrayDataset):
    """A standard dataset read from its files (MNIST, CIFAR10...): subclasses define `load` and name `classes`.

    Constructor as torchvision's, except that `root` is optional and `download` defaults to True: see `locate`.
    """

    def __init__(self, root: str | os.PathLike | None = None, train: bool = True, transform: Callable | None = None,
                 target_transform: Callable | None = None, download: bool = True) -> None:
        self.root = root
        self.train = train
        self.folder, data, targets = self.load(root, download)
        super().__init__(data, targets, transform, target_transform)

    @property
    def split(self) -> str:
        return "train" if self.train else "test"

    def load(self, root: str | os.PathLike | None, download: bool) -> tuple[Path, np.ndarray, np.ndarray]:
        """(folder the files were found in, images, labels) of this split."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(split={self.split!r}, n={len(self)}, folder={str(self.folder)!r})"


class Subset(BaseSubset):
    """The items of `dataset` at `indices`, in that order (torch.utils.data.Subset), indices kept as an int64 array
    so the DataLoader can map a whole batch of them at once."""

    def __init__(self, dataset: Any, indices: Sequence[int] | np.ndarray) -> None:
        super().__init__(dataset, np.asarray(indices, dtype=np.int64))
        if self.indices.ndim != 1:
            raise ValueError(f"Subset: expected a 1-D sequence of indices, got shape {self.indices.shape}")
        n = len(dataset)
        if self.indices.size and (self.indices.min() < -n or self.indices.max() >= n):
            raise IndexError(f"Subset: indices must lie in [0, {n}) for a dataset of {n} items, "
                             f"got range [{self.indices.min()}, {self.indices.max()}]")

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        return self.dataset[int(self.indices[index])]


def hold_out_last(total: int, count: int, what: str = "items") -> tuple[np.ndarray, np.ndarray]:
    """(kept indices, held-out indices): the last `count` of `total` items held out, the rest kept, in order.

    The one hold-out rule of the trainer's validation splits: classification holds out the last training
    images, the scenes are built from the training items before the last ones and validated on those."""
    if not 0 < count < total:
        raise ValueError(f"a validation split of {count} must leave {what} to train on: the training set has "
                         f"{total} {what}; choose between 1 and {total - 1}")
    return np.arange(total - count), np.arange(total - count, total)


def split_lengths(total: int, lengths: Sequence[float]) -> list[int]:
    """Whole lengths summing to total; fractions summing to 1 are floored, the remainder dealt out one by one."""
    if all(isinstance(n, int | np.integer) for n in lengths):
        lengths = [int(n) for n in lengths]
    elif math.isclose(sum(lengths), 1.0) and all(0 <= f <= 1 for f in lengths):
        counts = [int(math.floor(total * f)) for f in lengths]
        for i in range(total - sum(counts)):  # torch's rule: the first splits get the leftovers
            counts[i % len(counts)] += 1
        lengths = counts
    else:
        raise ValueError(f"random_split: lengths must be integers or fractions summing to 1, got {list(lengths)}")
    if any(n < 0 for n in lengths) or sum(lengths) != total:
        raise ValueError(f"random_split: lengths {lengths} do not add up to the dataset's {total} items")
    return lengths


def random_split(dataset: Any, lengths: Sequence[float], seed: int | None = None) -> list[Subset]:
    """Disjoint random Subsets of the given lengths (or fractions); seeded by `seed`, else by cnnkit's generator."""
    counts = split_lengths(len(dataset), lengths)
    rng = np.random.default_rng(seed) if seed is not None else default_generator()
    order = rng.permutation(len(dataset))
    bounds = np.cumsum([0, *counts])
    return [Subset(dataset, order[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]

"""`FashionScenes`: the Fashion-MNIST scenes as a dataset, generated once and then read from the cache.

Item hold-out (so no item is ever seen in two splits): train scenes are made of Fashion-MNIST training items
0 … N − 5001, validation scenes of the last 5,000 training items, test scenes of the 10,000 test items. Each
object's source item index is kept (`items`), so the hold-out can be checked. Default sizes: 20,000 train,
2,000 validation, 2,000 test scenes; `num_scenes=n` gives the first n (the same n scenes whatever the size).
Items are (image float32 (1, 64, 64) in [0, 1], {"mask": int64 (64, 64), "boxes": float32 (n, 4) xyxy,
"labels": int64 (n,), "masks": uint8 (n, 64, 64)}): labels = Fashion-MNIST class + 1 (0 is the background),
mask 255 = ignore, "masks" each object's visible pixels (as torchvision's Mask R-CNN targets; joint crops and
resizes recompute the boxes from them, so boxes stay the tight boxes of the visible pixels).
As torchvision's datasets: `transform` takes the image, `target_transform` the target, `transforms` both
(`cnnkit.data.joint_transforms`, which keep mask and boxes aligned with the image).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from cnnkit.data.dataset import Dataset, hold_out_last
from cnnkit.data.errors import DatasetNotFoundError
from cnnkit.data.formats.record import AnnotatedImage
from cnnkit.data.joint_transforms import apply_to_sample, check_transform_args
from cnnkit.data.mnist import FashionMNIST
from cnnkit.data.scenes.cache import cache_folder, load_split, save_split, split_file
from cnnkit.data.scenes.compose import GENERATOR_VERSION, ItemPool, SceneConfig, SceneSet, generate_scenes

SPLITS = ("train", "val", "test")
DEFAULT_COUNTS = {"train": 20_000, "val": 2_000, "test": 2_000}
VAL_ITEMS = 5_000
CLASSES = ["background", *FashionMNIST.classes]


def item_pool(split: str, root: str | os.PathLike | None, val_items: int, download: bool,
              cached: Path | None = None) -> ItemPool:
    """The items split may use: training items before the hold-out, the hold-out, or the test items.

    An explicit root must hold the Fashion-MNIST files: a copy found elsewhere is refused, never silently used
    (`cached`: the scene file that was looked for first, named in that refusal)."""
    source = FashionMNIST(root=root, train=split != "test", download=download)
    if root is not None:
        base, found = Path(root).expanduser().resolve(), Path(source.folder).resolve()
        if found != base and base not in found.parents:
            raise DatasetNotFoundError(
                f"--data-dir {root} holds neither the {split} scenes made with these settings ({cached}) nor the "
                f"Fashion-MNIST files to make them from (a copy was found in {found}, which is not used when "
                "--data-dir is given); point --data-dir at a folder with either, or leave it out to use the usual "
                "places")
    n = len(source)
    if split == "test":
        chosen = np.arange(n)
    elif not 0 < val_items < n:
        raise ValueError(
            f"FashionScenes: val_items must leave items for both train and val scenes, got "
            f"{val_items} of the {n} training items in {source.folder}"
        )
    else:
        kept, held_out = hold_out_last(n, val_items)
        chosen = kept if split == "train" else held_out
    return ItemPool(source.data[chosen], source.targets[chosen], chosen)


def split_settings(split: str, seed: int, clutter: bool, val_items: int, config: SceneConfig) -> dict[str, Any]:
    """Everything that decides a split's bytes, as plain data (stored with the cached arrays)."""
    items = {"train": f"train[:-{val_items}]", "val": f"train[-{val_items}:]", "test": "t10k[:]"}[split]
    return {
        "generator": GENERATOR_VERSION,
        "split": split,
        "seed": seed,
        "clutter": clutter,
        "items": items,
        "config": config.to_dict(),
    }


def load_scenes(
    root: str | os.PathLike | None,
    split: str,
    clutter: bool,
    seed: int,
    count: int,
    val_items: int,
    download: bool = True,
    config: SceneConfig | None = None,
) -> tuple[Path, SceneSet]:
    """(cache folder, the first `count` scenes of split): from the cache, else generated and cached."""
    config = config or SceneConfig()
    if root is not None and not Path(root).expanduser().is_dir():  # an explicit folder is used or refused
        raise FileNotFoundError(f"--data-dir {root} does not exist or is not a folder")
    folder = cache_folder(root, seed, clutter)
    settings = split_settings(split, seed, clutter, val_items, config)
    scenes = load_split(folder, split, settings, count)
    if scenes is None:
        pool = item_pool(split, root, val_items, download, split_file(folder, split))
        scenes = generate_scenes(pool, count, seed=seed, stream=SPLITS.index(split), clutter=clutter, config=config)
        save_split(folder, split, scenes, settings)
    return folder, scenes.head(count)


class FashionScenes(Dataset):
    """64×64 scenes of 1–4 Fashion-MNIST items with label masks, visible boxes and classes."""

    classes = CLASSES

    def __init__(
        self,
        root: str | os.PathLike | None = None,
        split: str = "train",
        clutter: bool = False,
        ignore_border: bool = True,
        seed: int = 0,
        transform: Callable | None = None,
        *,
        target_transform: Callable | None = None,
        transforms: Callable | None = None,
        num_scenes: int | None = None,
        val_items: int = VAL_ITEMS,
        download: bool = True,
    ) -> None:
        if split not in SPLITS:
            raise ValueError(f"FashionScenes: split must be one of {', '.join(SPLITS)}, got {split!r}")
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
            raise ValueError(f"FashionScenes: seed must be a non-negative integer, got {seed!r}")
        count = DEFAULT_COUNTS[split] if num_scenes is None else int(num_scenes)
        if count < 1:
            raise ValueError(f"FashionScenes: num_scenes must be at least 1, got {num_scenes}")
        check_transform_args("FashionScenes", transform, target_transform, transforms)
        self.split, self.clutter, self.ignore_border, self.seed = split, bool(clutter), bool(ignore_border), int(seed)
        self.transform, self.target_transform, self.transforms = transform, target_transform, transforms
        self.folder, self.scenes = load_scenes(root, split, self.clutter, self.seed, count, val_items, download)
        self.images = self.scenes.images  # uint8 (N, 64, 64)
        self.masks = self.scenes.masks(self.ignore_border)  # uint8 (N, 64, 64), 255 = ignore

    def __len__(self) -> int:
        return len(self.scenes)

    def target(self, index: int) -> dict[str, np.ndarray]:
        objects = self.scenes.objects(index)
        ids = np.arange(1, objects.stop - objects.start + 1, dtype=np.uint8)
        return {
            "mask": self.masks[index].astype(np.int64),
            "boxes": self.scenes.boxes[objects].copy(),
            "labels": self.scenes.labels[objects].copy(),
            "masks": (self.scenes.instances[index][None] == ids[:, None, None]).astype(np.uint8),
        }

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        if not -len(self) <= index < len(self):
            raise IndexError(f"FashionScenes: index {index} out of range for {len(self)} scenes")
        index %= len(self)
        image = self.images[index][None].astype(np.float32) / np.float32(255)
        return apply_to_sample(image, self.target(index), self.transform, self.target_transform, self.transforms)

    def item_ids(self, index: int) -> np.ndarray:
        """Indices, in the Fashion-MNIST file of this split's items, of scene index's objects (bottom to top)."""
        return self.scenes.items[self.scenes.objects(index)].copy()

    def annotated(self, index: int) -> AnnotatedImage:
        """Scene index as the format writers take it (uint8 image, mask, instance map, boxes, labels)."""
        objects = self.scenes.objects(index)
        return AnnotatedImage(
            f"{self.split}_{index:06d}",
            self.images[index],
            self.scenes.boxes[objects],
            self.scenes.labels[objects],
            self.masks[index],
            self.scenes.instances[index],
        )

    def describe(self, index: int) -> str:
        return f"scene {index} of the {self.split} split in {self.folder}"

    def __repr__(self) -> str:
        return (
            f"FashionScenes(split={self.split!r}, n={len(self)}, clutter={self.clutter}, seed={self.seed}, "
            f"ignore_border={self.ignore_border}, folder={str(self.folder)!r})"
        )

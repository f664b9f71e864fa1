"""The seeded scene generator: items pasted onto a canvas, with their instance map, visible boxes and classes.

One scene, drawn from its own generator `np.random.default_rng([seed, stream, index])` (so scene i is the same
whatever the count, and the first N scenes of a longer run are the N scenes of a shorter one):
  1. n = integers(1, 4 + 1) items; for each: a pool index, a scale s = uniform(0.75, 1.5), a mirror flag
     (random() < 0.5, when `flip`). The item is resized to round(28 s) px square, bilinear for the image and
     nearest-neighbour for its silhouette (the same index map, so they stay aligned), mirrored, and cut to the
     tight box of its silhouette.
  2. Up to `attempts` positions (top-left y then x, uniform over the places where it fits whole) are tried; the
     first that keeps every rule is taken, else the item is left out. Rules: pairwise IoU ≤ 0.2 between the
     placed items' boxes, every item (earlier ones included) still ≥ 50 % visible, and pairwise IoU ≤ 0.2
     between the final boxes of the visible pixels. So no item is ever dropped after the fact: an item that
     would hide too much of another, or be hidden, is never placed.
  3. Pasting overwrites only the pixels inside the new item's silhouette (a later item lies on top).
With `clutter`, the canvas starts from a textured background drawn from a second generator
`default_rng([seed, stream, index, 1])`, so the clutter scenes have the same layouts as the plain ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from cnnkit.data.boxes import tight_box, tight_boxes
from cnnkit.data.resample import resize_bilinear, resize_nearest
from cnnkit.data.scenes.clutter import clutter_background
from cnnkit.data.scenes.labels import label_masks
from cnnkit.data.scenes.silhouette import THRESHOLD, silhouettes

GENERATOR_VERSION = 1  # bump when the same seed would give other bytes; caches record it


@dataclass(frozen=True)
class SceneConfig:
    """The generator's rules; the defaults make the scenes every shipped figure and test was measured on."""

    size: int = 64
    items: tuple[int, int] = (1, 4)  # inclusive range of items drawn per scene
    scale: tuple[float, float] = (0.75, 1.5)
    flip: bool = True
    max_iou: float = 0.2
    min_visible: float = 0.5
    threshold: int = THRESHOLD
    attempts: int = 50

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.__dict__.items()}


@dataclass
class ItemPool:
    """The items scenes are made of: uint8 images (N, h, w), classes (N,), their indices in the source file (N,).

    Items whose silhouette is empty are left out at construction (they could never be seen).
    """

    images: np.ndarray
    labels: np.ndarray
    ids: np.ndarray
    threshold: int = THRESHOLD
    silhouettes: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        images, labels, ids = np.asarray(self.images), np.asarray(self.labels), np.asarray(self.ids)
        if images.dtype != np.uint8 or images.ndim != 3:
            raise ValueError(f"ItemPool: expected uint8 images (N, h, w), got {images.dtype} {images.shape}")
        if not len(images) == len(labels) == len(ids):
            raise ValueError(f"ItemPool: {len(images)} images, {len(labels)} labels and {len(ids)} ids differ")
        masks = silhouettes(images, self.threshold)
        keep = masks.any(axis=(1, 2))
        if not keep.any():
            raise ValueError(f"ItemPool: no item has a pixel above the threshold {self.threshold}")
        self.images, self.silhouettes = images[keep], masks[keep]
        self.labels, self.ids = labels[keep].astype(np.int64), ids[keep].astype(np.int64)

    def __len__(self) -> int:
        return len(self.images)


@dataclass
class SceneSet:
    """N scenes: images and instance maps uint8 (N, S, S); per object (M in all) its box float32 (M, 4), label
    (class + 1) int64 (M,) and pool item id int64 (M,); scene i owns objects offsets[i]:offsets[i + 1]."""

    images: np.ndarray
    instances: np.ndarray
    boxes: np.ndarray
    labels: np.ndarray
    items: np.ndarray
    offsets: np.ndarray

    def __len__(self) -> int:
        return len(self.images)

    def objects(self, index: int) -> slice:
        return slice(int(self.offsets[index]), int(self.offsets[index + 1]))

    def masks(self, ignore_border: bool = True) -> np.ndarray:
        """uint8 (N, S, S) label masks: 0 background, class + 1 on items, 255 on the border band if asked."""
        return label_masks(self.instances, self.labels, self.offsets, ignore_border)

    def head(self, n: int) -> SceneSet:
        """The first n scenes."""
        end = int(self.offsets[n])
        return SceneSet(
            self.images[:n],
            self.instances[:n],
            self.boxes[:end],
            self.labels[:end],
            self.items[:end],
            self.offsets[: n + 1],
        )

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in ("images", "instances", "boxes", "labels", "items", "offsets")}


def prepare_item(rng: np.random.Generator, pool: ItemPool, config: SceneConfig) -> tuple[int, np.ndarray, np.ndarray]:
    """(pool index, image patch uint8 (h, w), silhouette patch bool (h, w)): one drawn, scaled, mirrored item."""
    index = int(rng.integers(len(pool)))
    scale = rng.uniform(*config.scale)
    mirror = config.flip and rng.random() < 0.5
    h, w = pool.images.shape[1:]
    size = (max(1, round(h * scale)), max(1, round(w * scale)))
    image = np.clip(np.rint(resize_bilinear(pool.images[index].astype(np.float64), size)), 0, 255).astype(np.uint8)
    mask = resize_nearest(pool.silhouettes[index], size)
    if mirror:
        image, mask = image[:, ::-1], mask[:, ::-1]
    x1, y1, x2, y2 = (int(v) for v in tight_box(mask))
    return index, image[y1:y2, x1:x2], mask[y1:y2, x1:x2]


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    """IoU of two boxes in plain Python: scenes hold at most a few boxes, where NumPy's per-call cost dominates."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def try_place(
    instances: np.ndarray,
    placed: list[tuple[int, int, int, int]],
    areas: list[int],
    patch: np.ndarray,
    y: int,
    x: int,
    config: SceneConfig,
) -> tuple[np.ndarray, np.ndarray] | None:
    """(new instance map, visible boxes) with the patch pasted at (y, x), or None if a rule would break."""
    h, w = patch.shape
    box = (x, y, x + w, y + h)
    if any(iou(box, other) > config.max_iou for other in placed):
        return None
    trial = instances.copy()
    trial[y : y + h, x : x + w][patch] = len(placed) + 1
    visible = np.bincount(trial.ravel(), minlength=len(placed) + 2)[1:].tolist()
    if any(v < config.min_visible * a for v, a in zip(visible, [*areas, int(patch.sum())], strict=True)):
        return None
    ids = np.arange(1, len(placed) + 2, dtype=trial.dtype)
    boxes = tight_boxes(trial[None] == ids[:, None, None])
    rows = boxes.tolist()
    if any(iou(rows[i], rows[j]) > config.max_iou for i in range(len(rows)) for j in range(i)):
        return None
    return trial, boxes


def compose_scene(
    rng: np.random.Generator, pool: ItemPool, canvas: np.ndarray, config: SceneConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Paste items onto canvas (uint8 (S, S), in place); returns (instances, boxes, labels, item ids)."""
    size = config.size
    instances = np.zeros((size, size), dtype=np.uint8)
    placed: list[tuple[int, int, int, int]] = []
    areas: list[int] = []
    chosen: list[int] = []
    boxes = np.zeros((0, 4), dtype=np.float32)
    for _ in range(int(rng.integers(config.items[0], config.items[1] + 1))):
        index, image, mask = prepare_item(rng, pool, config)
        h, w = mask.shape
        for _ in range(config.attempts):
            y, x = int(rng.integers(0, size - h + 1)), int(rng.integers(0, size - w + 1))
            result = try_place(instances, placed, areas, mask, y, x, config)
            if result is not None:
                instances, boxes = result
                canvas[y : y + h, x : x + w][mask] = image[mask]
                placed.append((x, y, x + w, y + h))
                areas.append(int(mask.sum()))
                chosen.append(index)
                break
    chosen_array = np.array(chosen, dtype=np.int64)
    return instances, boxes, pool.labels[chosen_array] + 1, pool.ids[chosen_array]


def generate_scenes(
    pool: ItemPool, count: int, seed: int = 0, stream: int = 0, clutter: bool = False, config: SceneConfig | None = None
) -> SceneSet:
    """`count` scenes from `pool`; scene i depends only on (seed, stream, i, clutter, config) and the pool."""
    config = config or SceneConfig()
    if count < 0 or seed < 0 or stream < 0:
        raise ValueError(f"generate_scenes: count, seed and stream must be non-negative, got {count}, {seed}, {stream}")
    if max(pool.images.shape[1:]) * config.scale[1] > config.size + 0.5:
        raise ValueError(
            f"generate_scenes: items of {pool.images.shape[1:]} px scaled by up to {config.scale[1]} "
            f"do not fit a {config.size} px canvas"
        )
    size = config.size
    images = np.zeros((count, size, size), dtype=np.uint8)
    instances = np.zeros((count, size, size), dtype=np.uint8)
    boxes, labels, items, counts = [], [], [], np.zeros(count, dtype=np.int64)
    for i in range(count):
        if clutter:
            images[i] = clutter_background(np.random.default_rng([seed, stream, i, 1]), pool.images, size)
        rng = np.random.default_rng([seed, stream, i])
        instances[i], scene_boxes, scene_labels, scene_items = compose_scene(rng, pool, images[i], config)
        boxes.append(scene_boxes)
        labels.append(scene_labels)
        items.append(scene_items)
        counts[i] = len(scene_labels)
    return SceneSet(
        images,
        instances,
        np.concatenate(boxes).astype(np.float32) if count else np.zeros((0, 4), np.float32),
        np.concatenate(labels).astype(np.int64) if count else np.zeros(0, np.int64),
        np.concatenate(items).astype(np.int64) if count else np.zeros(0, np.int64),
        np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
    )

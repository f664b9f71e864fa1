"""Scenes for the detection trainer: images, each image's true boxes and labels, and the targets a detector's loss
reads, encoded once at load time so that a batch of targets is one array.

`DetectionArrays[i]` is (image float32 (1, H, W) in [0, 1], encoded[i]): YOLO's (S, S, 5 + C) grid
(`yolo.encode_targets`), or for propose-then-classify the boxes padded to a fixed count, (K, 5) rows of
[label, x1, y1, x2, y2] with label 0 for padding. The images are kept under `images`, not `data`, so batches
are stacked item by item (32 small copies per step, negligible beside the network).
The evaluation reads the true boxes and labels themselves (`boxes`, `labels`), never the encoded ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class DetectionArrays:
    """N images uint8 (N, H, W) with per-image boxes float32 (n_i, 4) xyxy, labels int64 (n_i,) in 1…C."""

    images: np.ndarray
    boxes: list[np.ndarray]
    labels: list[np.ndarray]
    encoded: np.ndarray
    classes: list[str]  # the C object classes (label k is classes[k − 1])
    dropped: int = 0  # objects that could not be encoded (YOLO: a larger object's centre in the same cell)
    source: str = ""
    folder: str | None = None  # the folder the images were read from, when they came from files

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        return self.images[index][None].astype(np.float32) / np.float32(255), self.encoded[index]

    def describe(self, index: int) -> str:
        return f"image {index} of {self.source}" if self.source else f"image {index}"

    @property
    def num_objects(self) -> int:
        return int(sum(len(b) for b in self.boxes))


def pad_boxes(boxes: list[np.ndarray], labels: list[np.ndarray], max_objects: int | None = None) -> np.ndarray:
    """float32 (N, K, 5): rows [label, x1, y1, x2, y2] of each image's boxes, then zero rows (label 0)."""
    k = max(max((len(b) for b in boxes), default=0), 1) if max_objects is None else max_objects
    out = np.zeros((len(boxes), k, 5), np.float32)
    for i, (b, lab) in enumerate(zip(boxes, labels, strict=True)):
        if len(b) > k:
            raise ValueError(f"pad_boxes: image {i} has {len(b)} boxes, more than the {k} allowed")
        out[i, : len(b), 0] = lab
        out[i, : len(b), 1:] = b
    return out


def flip_padded_boxes(padded: np.ndarray, chosen: np.ndarray, width: int) -> np.ndarray:
    """Padded boxes (N, K, 5) of horizontally mirrored images: x1, x2 → W − x2, W − x1 where chosen and a box."""
    out = padded.copy()
    rows = chosen[:, None] & (padded[..., 0] > 0)
    out[..., 1] = np.where(rows, width - padded[..., 3], padded[..., 1])
    out[..., 3] = np.where(rows, width - padded[..., 1], padded[..., 3])
    return out


def scene_boxes(scenes: Any) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per-scene boxes and labels of a `FashionScenes`."""
    sets = scenes.scenes
    boxes = [sets.boxes[sets.objects(i)].astype(np.float32) for i in range(len(scenes))]
    labels = [sets.labels[sets.objects(i)].astype(np.int64) for i in range(len(scenes))]
    return boxes, labels

"""`AnnotatedImage`: what the VOC, COCO and YOLO writers take — one image with its objects and masks.

Conventions shared by every reader and writer in `cnnkit.data.formats`:
- images are uint8 (H, W) grey or (H, W, 3) RGB when written; readers return float32 (C, H, W) in [0, 1];
- boxes are float (n, 4) (x1, y1, x2, y2), 0-based pixel edges, x2 and y2 exclusive (see `cnnkit.data.boxes`);
- labels index the dataset's `classes`, whose entry 0 is the background, so labels start at 1 and a label
  mask's value on an object's pixels equals its label (torchvision's detection models use the same rule);
- a label mask is uint8 (H, W): 0 background, labels on objects, 255 "ignore" (VOC's void border);
- an instance map is uint8 (H, W): 0 background, k on the k-th object's visible pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class AnnotatedImage:
    """One image to write: `name` is the file stem, masks are optional (detection-only data has none)."""

    name: str
    image: np.ndarray
    boxes: np.ndarray
    labels: np.ndarray
    mask: np.ndarray | None = None
    instances: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.image = np.asarray(self.image)
        self.boxes = np.asarray(self.boxes, dtype=np.float64).reshape(-1, 4)
        self.labels = np.asarray(self.labels, dtype=np.int64).reshape(-1)
        if self.image.dtype != np.uint8 or not (
            self.image.ndim == 2 or (self.image.ndim == 3 and self.image.shape[2] == 3)
        ):
            raise ValueError(
                f"{self.name}: expected a uint8 image (H, W) or (H, W, 3), got {self.image.dtype} {self.image.shape}"
            )
        if len(self.boxes) != len(self.labels):
            raise ValueError(f"{self.name}: {len(self.boxes)} boxes but {len(self.labels)} labels")
        for what in ("mask", "instances"):
            array = getattr(self, what)
            if array is not None and np.shape(array) != self.image.shape[:2]:
                raise ValueError(
                    f"{self.name}: {what} of shape {np.shape(array)} differs from the image's {self.image.shape[:2]}"
                )

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def depth(self) -> int:
        return 1 if self.image.ndim == 2 else int(self.image.shape[2])

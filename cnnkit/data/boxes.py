"""Boxes of masks: the tight box of each mask (areas and IoUs of boxes live in `cnnkit.detection.boxes`).

Boxes are (x1, y1, x2, y2) in pixel-edge coordinates, 0-based and half-open, as torchvision's: a box holding
pixel columns a..b (inclusive) and rows c..d has x1 = a, x2 = b + 1, y1 = c, y2 = d + 1, so its width x2 − x1
is a pixel count and flipping an image of width W maps x to W − x exactly.
"""

from __future__ import annotations

import numpy as np


def tight_boxes(masks: np.ndarray) -> np.ndarray:
    """float32 (N, 4) tight boxes of boolean masks (N, H, W); an empty mask gets (0, 0, 0, 0)."""
    masks = np.asarray(masks, dtype=bool)
    if masks.ndim != 3:
        raise ValueError(f"tight_boxes: expected masks (N, H, W), got shape {masks.shape}")
    cols, rows = masks.any(axis=1), masks.any(axis=2)  # (N, W), (N, H)
    w, h = cols.shape[1], rows.shape[1]
    x1, y1 = cols.argmax(axis=1), rows.argmax(axis=1)
    x2, y2 = w - cols[:, ::-1].argmax(axis=1), h - rows[:, ::-1].argmax(axis=1)
    boxes = np.stack([x1, y1, x2, y2], axis=1).astype(np.float32)
    boxes[~cols.any(axis=1)] = 0
    return boxes


def tight_box(mask: np.ndarray) -> np.ndarray:
    """float32 (4,) tight box of one boolean mask (H, W)."""
    return tight_boxes(np.asarray(mask)[None])[0]

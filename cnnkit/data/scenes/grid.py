"""How often two objects' centres fall in one YOLO grid cell: YOLO v1 predicts one class per cell, so such
objects cannot all be found, and this fraction bounds its recall from above (1 − fraction of colliding objects,
counting every object that shares a cell; at best one of each colliding group is found).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


def grid_cells(boxes: np.ndarray, S: int, size: int | tuple[int, int]) -> np.ndarray:
    """int64 (n,) cell index row · S + col of each box's centre on an S×S grid over an image of `size` (h, w)."""
    h, w = (size, size) if isinstance(size, int | np.integer) else size
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    cx, cy = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
    col = np.clip(np.floor(cx * S / w), 0, S - 1).astype(np.int64)  # a centre on the far edge joins the last cell
    row = np.clip(np.floor(cy * S / h), 0, S - 1).astype(np.int64)
    return row * S + col


def grid_collisions(boxes_per_image: Iterable[np.ndarray], S: int, size: int | tuple[int, int]) -> float:
    """Fraction of all objects whose centre shares its S×S grid cell with another object of the same image."""
    if S < 1:
        raise ValueError(f"grid_collisions: S must be a positive grid size, got {S}")
    total = colliding = 0
    for boxes in boxes_per_image:
        cells = grid_cells(boxes, S, size)
        counts = np.bincount(cells, minlength=S * S)
        total += len(cells)
        colliding += int((counts[cells] > 1).sum())
    return colliding / total if total else 0.0

"""From a scene's instance map to its label mask: class per pixel, and the optional 255 "ignore" band.

The instance map holds 0 for background and k for the k-th item pasted (so a higher id lies on top). The band
is VOC's void border made one pixel wide: a pixel is ignored when one of its 8 neighbours belongs to an item
above it, i.e. the ring just outside each item's visible silhouette, drawn on the background or on the item
underneath. An item's own visible pixels are never ignored, so its box still encloses exactly them.
"""

from __future__ import annotations

import numpy as np

IGNORE_INDEX = 255


def ignore_band(instances: np.ndarray) -> np.ndarray:
    """Boolean (…, H, W): pixels with an 8-neighbour of higher instance id (max over the 3×3 window > own id)."""
    instances = np.asarray(instances)
    h, w = instances.shape[-2:]
    pad = [(0, 0)] * (instances.ndim - 2) + [(1, 1), (1, 1)]
    padded = np.pad(instances, pad)  # 0 outside: background never lies above anything
    highest = np.zeros_like(instances)
    for dy in range(3):
        for dx in range(3):
            np.maximum(highest, padded[..., dy : dy + h, dx : dx + w], out=highest)
    return highest > instances


def label_mask(instances: np.ndarray, labels: np.ndarray, ignore_border: bool = True) -> np.ndarray:
    """uint8 (H, W) mask of one scene: labels[k − 1] on instance k, 0 on background, 255 on the band if asked."""
    lookup = np.zeros(int(instances.max(initial=0)) + 1, dtype=np.uint8)
    lookup[1 : len(labels) + 1] = labels
    mask = lookup[instances]
    if ignore_border:
        mask[ignore_band(instances)] = IGNORE_INDEX
    return mask


def label_masks(
    instances: np.ndarray, labels: np.ndarray, offsets: np.ndarray, ignore_border: bool = True
) -> np.ndarray:
    """uint8 (N, H, W) masks of N scenes at once; scene i's labels are labels[offsets[i]:offsets[i + 1]]."""
    counts = np.diff(offsets)
    lookup = np.zeros((len(instances), int(counts.max(initial=0)) + 1), dtype=np.uint8)
    scene = np.repeat(np.arange(len(instances)), counts)
    slot = np.arange(len(labels)) - np.repeat(offsets[:-1], counts) + 1  # 1-based instance id within its scene
    lookup[scene, slot] = labels
    masks = lookup[np.arange(len(instances))[:, None, None], instances]
    if ignore_border:
        masks[ignore_band(instances)] = IGNORE_INDEX
    return masks

"""cnnkit.data.scenes: Fashion-MNIST scenes for segmentation and detection.

    from cnnkit.data.scenes import FashionScenes, grid_collisions
    test = FashionScenes(split="test")  # generated once (about a minute for all splits), then cached
    image, target = test[0]  # float32 (1, 64, 64); {"mask", "boxes", "labels", "masks"}

Modules: `silhouette` (fill_holes(x > 10)), `labels` (label masks and the ignore
band), `clutter` (textured backgrounds), `compose` (the seeded generator), `cache` (safetensors on disk),
`dataset` (FashionScenes and the item hold-out), `grid` (YOLO grid-cell collisions).
"""

from __future__ import annotations

from cnnkit.data.boxes import tight_box, tight_boxes
from cnnkit.data.scenes.compose import ItemPool, SceneConfig, SceneSet, generate_scenes
from cnnkit.data.scenes.dataset import CLASSES, DEFAULT_COUNTS, SPLITS, VAL_ITEMS, FashionScenes
from cnnkit.data.scenes.grid import grid_collisions
from cnnkit.data.scenes.labels import IGNORE_INDEX, ignore_band, label_mask, label_masks
from cnnkit.data.scenes.silhouette import fill_holes, silhouettes
from cnnkit.detection.boxes import box_iou

__all__ = [
    "FashionScenes",
    "CLASSES",
    "SPLITS",
    "DEFAULT_COUNTS",
    "VAL_ITEMS",
    "ItemPool",
    "SceneConfig",
    "SceneSet",
    "generate_scenes",
    "fill_holes",
    "silhouettes",
    "tight_box",
    "tight_boxes",
    "box_iou",
    "grid_collisions",
    "IGNORE_INDEX",
    "ignore_band",
    "label_mask",
    "label_masks",
]

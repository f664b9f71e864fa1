"""The classical segmentation baseline the U-Net must beat: threshold, connected components, a classifier per component.

For each scene (uint8, grey):
  1. foreground = pixels above a threshold: "otsu" (per image, `threshold.otsu_thresholds`) or a grey level;
  2. holes filled (`fill_holes`, as item silhouettes are made), unless `fill_holes=False`;
  3. connected components (`cnnkit.signal.components.label_stack`, 4- or 8-connected), those smaller than
     `min_size` pixels dropped;
  4. each component cut out and framed as a Fashion-MNIST item (`crops.crop_components`) and classified
     (`classifiers.RunClassifier` or `TruthClassifier`);
  5. the component's pixels painted with class + 1 (class −1, "background", leaves them 0).
Scenes are processed in chunks of `chunk` scenes, so memory stays bounded on the 20,000 training scenes.
Two items that touch become one component and get one class; a textured background above the threshold
becomes components too: the baseline's limits, which a U-Net learns around.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cnnkit.data.scenes.silhouette import fill_holes as fill
from cnnkit.metrics.segmentation import SegmentationConfusion
from cnnkit.segmentation.crops import crop_components
from cnnkit.segmentation.threshold import foreground
from cnnkit.signal.components import ComponentStats, component_stats, label_stack, stack_ids

Classifier = Callable[[np.ndarray, Any], np.ndarray]


@dataclass(frozen=True)
class BaselineSettings:
    """How the baseline finds components; the defaults are the ones measured in the README."""

    threshold: str | int = "otsu"
    min_size: int = 20  # pixels; smaller components are dropped
    fill_holes: bool = True
    connectivity: int = 1  # 1: 4-neighbours, 2: 8-neighbours
    crop_size: tuple[int, int] = (28, 28)

    def check(self) -> None:
        if isinstance(self.min_size, bool) or not isinstance(self.min_size, int) or self.min_size < 1:
            raise ValueError(f"baseline: min_size must be a positive number of pixels, got {self.min_size!r}")
        if self.connectivity not in (1, 2):
            raise ValueError(f"baseline: connectivity must be 1 or 2, got {self.connectivity!r}")


@dataclass
class Components:
    """The kept components of a chunk of scenes: ids int64 (N, H, W), 0 = none, k + 1 = component k; per
    component its image (within the chunk), size and box (`ComponentStats`); `first` the index of the chunk's
    first scene in the whole set (so a classifier holding the whole set's masks finds the chunk's)."""

    ids: np.ndarray
    stats: ComponentStats
    first: int = 0

    def __len__(self) -> int:
        return len(self.stats)


@dataclass
class BaselineResult:
    """Predicted label masks uint8 (N, H, W) and per component its scene and class (−1: left as background)."""

    predictions: np.ndarray
    scene: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    classes: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))


def find_components(images: np.ndarray, settings: BaselineSettings, first: int = 0) -> Components:
    """Threshold, fill holes, label and drop the small components of uint8 scenes (N, H, W)."""
    settings.check()
    mask = foreground(images, settings.threshold)
    if settings.fill_holes:
        mask = fill(mask)
    labels, counts = label_stack(mask, settings.connectivity)
    ids = stack_ids(labels, counts)
    stats = component_stats(ids)
    keep = stats.size >= settings.min_size
    renumber = np.zeros(len(stats) + 1, np.int64)
    renumber[1:][keep] = np.arange(1, int(keep.sum()) + 1)
    kept = ComponentStats(stats.image[keep], stats.size[keep], stats.box[keep])
    return Components(renumber[ids], kept, first)


def segment(
    images: np.ndarray, classify: Classifier, settings: BaselineSettings | None = None, first: int = 0
) -> BaselineResult:
    """The baseline's label masks for uint8 scenes (N, H, W), with a classifier (see `classifiers`); `first` is
    the index of images[0] in the whole set, passed on to the classifier with the components."""
    settings = settings or BaselineSettings()
    images = np.asarray(images)
    components = find_components(images, settings, first)
    crops = crop_components(images, components.ids, components.stats, settings.crop_size)
    classes = np.asarray(classify(crops, components), dtype=np.int64).reshape(-1)
    if len(classes) != len(components):
        raise ValueError(f"baseline: the classifier returned {len(classes)} classes for {len(components)} components")
    paint = np.concatenate([[0], np.maximum(classes + 1, 0)]).astype(np.uint8)  # −1 (background) → 0
    return BaselineResult(paint[components.ids], components.stats.image, classes)


def evaluate(
    images: np.ndarray,
    masks: np.ndarray,
    classify: Classifier,
    num_classes: int,
    settings: BaselineSettings | None = None,
    chunk: int = 500,
) -> SegmentationConfusion:
    """The whole-dataset confusion of the baseline on scenes (N, H, W) with their label masks (N, H, W)."""
    images, masks = np.asarray(images), np.asarray(masks)
    if images.shape != masks.shape:
        raise ValueError(f"baseline: scenes of shape {images.shape} and masks of shape {masks.shape} differ")
    confusion = SegmentationConfusion(num_classes)
    for start in range(0, len(images), chunk):
        part = slice(start, start + chunk)
        confusion.update(segment(images[part], classify, settings, start).predictions, masks[part])
    return confusion

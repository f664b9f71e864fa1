"""cnnkit.segmentation: the classical baseline that a learned segmenter (the U-Net) is measured against.

    from cnnkit.segmentation import BaselineSettings, RunClassifier, evaluate
    confusion = evaluate(scenes.images, scenes.masks, RunClassifier("runs/lenet5-fashion-mnist"), 11)

Modules: `threshold` (a fixed grey level or Otsu's per image), `crops` (components framed as Fashion-MNIST
items), `classifiers` (a trained run, or the ground truth as a perfect classifier), `baseline` (threshold →
components → classify → paint, and its whole-dataset confusion). Connected components are
`cnnkit.signal.components`.
"""

from cnnkit.segmentation.baseline import (
    BaselineResult,
    BaselineSettings,
    Components,
    evaluate,
    find_components,
    segment,
)
from cnnkit.segmentation.classifiers import RunClassifier, TruthClassifier
from cnnkit.segmentation.crops import crop_components
from cnnkit.segmentation.threshold import foreground, histograms, otsu_thresholds

__all__ = [
    "BaselineResult",
    "BaselineSettings",
    "Components",
    "RunClassifier",
    "TruthClassifier",
    "crop_components",
    "evaluate",
    "find_components",
    "foreground",
    "histograms",
    "otsu_thresholds",
    "segment",
]

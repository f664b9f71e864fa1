"""Measures of generated images in a trained classifier's feature space (no Inception network needed).

- FID ("Fréchet classifier distance"): the Fréchet distance between Gaussians fitted (float64 mean and
  covariance) to the penultimate-layer features of two image sets. Sets compared with one another should have
  the same size: FID is biased in N.
- label agreement: the share of class-conditional samples that the classifier labels as the class asked for,
  overall and per class.
- class coverage: the share of samples in each predicted class (a generator that drops a class shows 0 there).

`FeatureExtractor(model, layer)` runs any classifier in eval mode on images in [0, 1] (normalised as the
classifier was trained) and returns (features, logits); the features are the output of the named layer, or by
default the input of the model's last Linear layer — its penultimate layer. `load_feature_model()` gives the
zoo's Fashion-MNIST classifier `fashion_vgg` from the weights shipped with the package, so that everyone
measures in the same features.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cnnkit import nn
from cnnkit.autograd import no_grad
from cnnkit.metrics.frechet import frechet_distance
from cnnkit.tensor import Tensor

SHIPPED_FEATURE_WEIGHTS = Path(__file__).resolve().parent.parent / "models" / "weights" / "fashion_vgg.safetensors"


@dataclass(frozen=True)
class GaussianStats:
    """Mean (D,) and covariance (D, D), float64, of a set of feature vectors."""

    mean: np.ndarray
    cov: np.ndarray
    count: int

    @classmethod
    def of(cls, features: np.ndarray) -> GaussianStats:
        features = np.asarray(features, dtype=np.float64)
        if features.ndim != 2 or len(features) < 2:
            raise ValueError(f"GaussianStats: expected at least 2 feature vectors (N, D), got shape {features.shape}")
        return cls(features.mean(axis=0), np.cov(features, rowvar=False), len(features))


def fid(a: np.ndarray | GaussianStats, b: np.ndarray | GaussianStats) -> float:
    """The Fréchet distance between the Gaussians of two feature sets (N, D) (or their precomputed stats)."""
    a = a if isinstance(a, GaussianStats) else GaussianStats.of(a)
    b = b if isinstance(b, GaussianStats) else GaussianStats.of(b)
    return frechet_distance(a.mean, a.cov, b.mean, b.cov)


def _last_linear(model: nn.Module) -> nn.Module:
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ValueError(f"{type(model).__name__} has no Linear layer; name the feature layer explicitly")
    return linears[-1]


class FeatureExtractor:
    """A classifier as a feature map: `extractor(images)` → (features (N, D) float64, logits (N, K) float32)
    for images (N, C, H, W) in [0, 1], normalised with the classifier's mean and std, in batches. `classes`
    names the classifier's outputs when known (a checkpoint's), so callers can check they match their labels."""

    def __init__(
        self,
        model: nn.Module,
        layer: str | None = None,
        mean: tuple[float, ...] = (0.0,),
        std: tuple[float, ...] = (1.0,),
        batch_size: int = 500,
        classes: list[str] | None = None,
    ) -> None:
        self.model, self.layer, self.batch_size, self.classes = model.eval(), layer, batch_size, classes
        self.mean = np.asarray(mean, dtype=np.float32).reshape(1, -1, 1, 1)
        self.std = np.asarray(std, dtype=np.float32).reshape(1, -1, 1, 1)
        self._module = _last_linear(model) if layer is None else model.get_submodule(layer)

    def __call__(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        images = np.asarray(images, dtype=np.float32)
        if images.ndim != 4:
            raise ValueError(f"FeatureExtractor: expected images (N, C, H, W) in [0, 1], got shape {images.shape}")
        captured: list[np.ndarray] = []
        if self.layer is None:  # the penultimate features are the last Linear's input
            handle = self._module.register_forward_pre_hook(lambda m, args: captured.append(args[0]._data))
        else:
            handle = self._module.register_forward_hook(lambda m, args, out: captured.append(out._data))
        logits = []
        try:
            with no_grad():
                for i in range(0, len(images), self.batch_size):
                    batch = (images[i : i + self.batch_size] - self.mean) / self.std
                    logits.append(self.model(Tensor(batch))._data)
        finally:
            handle.remove()
        features = np.concatenate([c.reshape(len(c), -1) for c in captured]).astype(np.float64)
        return features, np.concatenate(logits)


def label_agreement(logits: np.ndarray, labels: np.ndarray, num_classes: int) -> tuple[float, np.ndarray]:
    """(overall share, per-class shares (K,)) of samples whose predicted class is the label asked for
    (NaN for a class with no samples)."""
    predicted, labels = np.asarray(logits).argmax(axis=1), np.asarray(labels, dtype=np.int64)
    hits = predicted == labels
    counts = np.bincount(labels, minlength=num_classes)
    per_class = np.bincount(labels, weights=hits, minlength=num_classes) / np.where(counts, counts, np.nan)
    return float(hits.mean()), per_class


def class_coverage(logits: np.ndarray, num_classes: int) -> np.ndarray:
    """The share of samples the classifier puts in each class (K,), summing to 1."""
    predicted = np.asarray(logits).argmax(axis=1)
    return np.bincount(predicted, minlength=num_classes) / max(len(predicted), 1)


def load_feature_model(path: str | os.PathLike | None = None, layer: str | None = None) -> FeatureExtractor:
    """The feature extractor of a classifier checkpoint (a run's best.safetensors), by default the shipped
    `fashion_vgg` weights; its penultimate layer unless `layer` names another."""
    from cnnkit.training.restore import load_trained_model

    path = Path(path) if path is not None else SHIPPED_FEATURE_WEIGHTS
    if not path.exists():
        raise FileNotFoundError(
            f"no feature classifier at {path}: FID and label agreement are measured in the features of the zoo's "
            "Fashion-MNIST classifier; train it (cnnkit train --model fashion_vgg ...) and copy its "
            f"best.safetensors to {SHIPPED_FEATURE_WEIGHTS}, or pass another classifier checkpoint"
        )
    model, meta, info = load_trained_model(path)
    if meta.get("kind", "classification") != "classification":
        raise ValueError(f"{path} is a {meta.get('kind')} checkpoint; FID needs a classifier's")
    return FeatureExtractor(model, layer, info.mean, info.std, classes=list(info.classes))

"""What names a component in the classical baseline: a trained Fashion-MNIST classifier, or the ground truth.

A classifier is a callable `(crops, components) -> classes`: crops float32 (K, H, W) in [0, 1] as
`crop_components` frames them, components the `Components` they were cut from; classes int64 (K,), a
Fashion-MNIST class 0–9, or −1 for "background" (the component is left unpainted).

`RunClassifier(path)` loads a classification run folder or checkpoint (`load_trained_model`) and prepares crops
exactly as its training prepared images: grey levels / 255, then (x − mean) / std with the mean and std stored
in the checkpoint. With `mirror=True` (the default) each crop is classified as it is and mirrored, and the two
softmax outputs are averaged: scenes mirror half their items, and a classifier trained without flips (the zoo's
LeNet-5 run) takes a mirrored shoe for a bag (measured on 500 validation scenes: 75 % of single-item components
right without, 81 % with). `TruthClassifier(masks)` gives each component the most common ground-truth label of its
pixels (ignore pixels not counted): a perfect classifier, so the baseline's score with it is the ceiling of the
threshold-and-components half alone.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from cnnkit.data.scenes.labels import IGNORE_INDEX

BATCH = 512


class RunClassifier:
    """A trained grey-image classifier from a run folder or checkpoint, whose classes are `expected_classes`."""

    def __init__(self, path: str | os.PathLike, expected_classes: list[str] | None = None, mirror: bool = True) -> None:
        from cnnkit.training.restore import load_trained_model

        self.mirror = mirror
        self.model, self.meta, self.info = load_trained_model(path)
        self.path, self.name = str(path), str(self.meta.get("config", {}).get("model", "model"))
        kind = self.meta.get("kind", "classification")
        if kind != "classification":
            raise ValueError(f"{path}: expected a classifier's run or checkpoint, got a {kind} checkpoint")
        channels = self.info.input_shape[0]
        if channels != 1:
            raise ValueError(f"{path}: expected a classifier of grey images (1 channel), got one of {channels} "
                             f"channels ({self.info.dataset})")  # fmt: skip
        if expected_classes is not None and list(self.info.classes) != list(expected_classes):
            raise ValueError(f"{path}: expected a classifier of the classes {', '.join(expected_classes)}; it was "
                             f"trained on {self.info.dataset} ({', '.join(self.info.classes)})")  # fmt: skip

    @property
    def input_size(self) -> tuple[int, int]:
        return int(self.info.input_shape[1]), int(self.info.input_shape[2])

    def prepare(self, crops: np.ndarray) -> np.ndarray:
        """float32 (K, 1, H, W): crops in [0, 1] normalised with the training set's mean and std."""
        mean, std = np.float32(self.info.mean[0]), np.float32(self.info.std[0])
        return ((np.asarray(crops, np.float32) - mean) / std)[:, None]

    def probabilities(self, crops: np.ndarray) -> np.ndarray:
        """float32 (K, classes): softmax outputs, averaged with the mirrored crops' when `mirror`."""
        import cnnkit
        import cnnkit.nn.functional as F

        crops = np.asarray(crops, np.float32)
        views = (crops, crops[:, :, ::-1]) if self.mirror else (crops,)
        total = np.zeros((len(crops), len(self.info.classes)), np.float32)
        with cnnkit.no_grad():
            for view in views:
                for start in range(0, len(crops), BATCH):
                    batch = cnnkit.tensor(self.prepare(view[start : start + BATCH]))
                    total[start : start + BATCH] += F.softmax(self.model(batch), dim=1)._data
        return total / len(views)

    def __call__(self, crops: np.ndarray, components: Any = None) -> np.ndarray:
        return self.probabilities(crops).argmax(axis=1).astype(np.int64)


@dataclass
class TruthClassifier:
    """The most common ground-truth label (class + 1; 0 background) under each component, as a class (−1 for
    background). masks: uint8 (N, H, W) label masks of the whole set of scenes (a chunk's components read
    theirs from `components.first` on)."""

    masks: np.ndarray
    num_labels: int = 11  # background and the 10 Fashion-MNIST classes

    def __call__(self, crops: np.ndarray, components: Any) -> np.ndarray:
        ids = np.asarray(components.ids)
        masks = np.asarray(self.masks)[components.first : components.first + len(ids)]
        if masks.shape != ids.shape:
            raise ValueError(f"TruthClassifier: masks of shape {masks.shape} and components of {ids.shape} differ")
        counted = (ids > 0) & (masks != IGNORE_INDEX)
        votes = np.bincount(
            ids[counted].astype(np.int64) * self.num_labels + masks[counted],
            minlength=(len(components) + 1) * self.num_labels,
        ).reshape(-1, self.num_labels)[1:]
        return votes.argmax(axis=1).astype(np.int64) - 1  # a component of only ignore pixels: background

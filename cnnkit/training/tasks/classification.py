"""Classification: one label per image, scored by accuracy; the data sets of `cnnkit.training.datasets`."""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnkit.training.loop import evaluate as evaluate_classifier
from cnnkit.training.tasks.base import Task, TaskEvaluation


def load_data(config: Any, split: str = "test"):
    """(train set, test set, DataInfo); classification data sets have no separate validation split here."""
    from cnnkit.training.datasets import load_classification_data

    return load_classification_data(config.dataset, config.data_dir)


def build_loss(config: Any):
    from cnnkit import nn

    return nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)


def batch_transform(config: Any, info: Any, train: bool):
    """Normalisation, preceded in training by the chosen augmentation (vectorised over the batch)."""
    from cnnkit.data import transforms as T

    steps = []
    if train and config.augment in ("crop", "crop-flip"):
        steps.append(T.RandomCrop(info.input_shape[1:], padding=2))
    if train and config.augment in ("flip", "crop-flip"):
        steps.append(T.RandomHorizontalFlip())
    steps.append(T.Normalize(info.mean, info.std))
    images_only = T.Compose(steps)
    return lambda images, labels: (np.asarray(images_only(images)), labels)


def batch_correct(logits: np.ndarray, labels: np.ndarray) -> tuple[int, int]:
    return int((logits.argmax(axis=1) == labels).sum()), len(labels)


def evaluate(model: Any, loader: Any, loss_fn: Any) -> TaskEvaluation:
    result = evaluate_classifier(model, loader, loss_fn)
    return TaskEvaluation(result.loss, result.accuracy, {"accuracy": result.accuracy}, result)


CLASSIFY = Task(name="classify", kind="classification", score_name="accuracy", item_name="images",
                eval_split="test", defaults={}, load_data=load_data, build_loss=build_loss,
                batch_transform=batch_transform, batch_correct=batch_correct, evaluate=evaluate)

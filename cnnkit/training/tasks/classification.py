"""Classification: one label per image, scored by accuracy; the data sets of `cnnkit.training.datasets`.

As the dense tasks do, training holds out a validation split: the last `val_split` training images (5,000 by
default, a tenth of a training set under 50,000 images). The best checkpoint is chosen by validation accuracy,
so the test split is never used for a choice; `cnnkit eval` reports it once. `val_split` 0 trains on every
image and keeps the last epoch's weights as the best checkpoint.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnkit.training.loop import evaluate as evaluate_classifier
from cnnkit.training.tasks.base import Task, TaskEvaluation

DEFAULT_VAL_IMAGES = 5_000


def val_count(val_split: int | None, train_images: int) -> int:
    """How many training images validation holds out: `val_split`, or by default 5,000 (a tenth of a smaller set)."""
    if val_split is None:
        return min(DEFAULT_VAL_IMAGES, train_images // 10)
    return val_split


def check_config(config: Any) -> None:
    if config.data_args:  # a scene option (--clutter, num_scenes) given to a classifier would be ignored silently
        raise ValueError(f"--data-args: --task classify takes none, got {', '.join(sorted(config.data_args))} "
                         "(these are for --task segment, detect or generate)")


def load_data(config: Any, split: str = "val"):
    """(images trained on, images of `split`, DataInfo); "val" is the last `val_count` training images (None when
    the split is disabled), "test" the data set's test images."""
    from cnnkit.data import Subset
    from cnnkit.data.dataset import hold_out_last
    from cnnkit.training.datasets import load_classification_data

    train, test, info = load_classification_data(config.dataset, config.data_dir)
    held = val_count(getattr(config, "val_split", None), len(train))
    if held == 0:
        return train, (test if split == "test" else None), info
    kept, held_out = hold_out_last(len(train), held, "images")
    return Subset(train, kept), (test if split == "test" else Subset(train, held_out)), info


def build_loss(config: Any):
    from cnnkit import nn

    return nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)


def batch_transform(config: Any, info: Any, train: bool):
    """Normalisation, preceded in training by the chosen augmentation (vectorised over the batch); with
    crop-flip-erase, random erasing (p 0.5, torchvision's scale and ratio) follows the normalisation, so an erased
    rectangle holds 0, the mean pixel. Last, in training, MixUp and/or CutMix (`--mixup-alpha`, `--cutmix-alpha`)
    turn the labels into class probabilities (B, classes)."""
    from cnnkit.data import transforms as T

    steps = []
    if train and config.augment in ("crop", "crop-flip", "crop-flip-erase"):
        steps.append(T.RandomCrop(info.input_shape[1:], padding=2))
    if train and config.augment in ("flip", "crop-flip", "crop-flip-erase"):
        steps.append(T.RandomHorizontalFlip())
    steps.append(T.Normalize(info.mean, info.std))
    if train and config.augment == "crop-flip-erase":
        steps.append(T.RandomErasing(p=0.5, value=0))
    images_only = T.Compose(steps)
    mixing = batch_mixing(config, len(info.classes)) if train else None
    if mixing is None:
        return lambda images, labels: (np.asarray(images_only(images)), labels)
    return lambda images, labels: mixing(np.asarray(images_only(images)), labels)


def batch_mixing(config: Any, classes: int):
    """MixUp, CutMix, or one of the two per batch when both α are given (torchvision's reference recipe); None
    when neither is."""
    from cnnkit.data.mixing import MixUpOrCutMix

    mixup, cutmix = config.mixup_alpha or None, config.cutmix_alpha or None  # 0: not used
    if mixup is None and cutmix is None:
        return None
    return MixUpOrCutMix(mixup_alpha=mixup, cutmix_alpha=cutmix, num_classes=classes)


def batch_correct(logits: np.ndarray, labels: np.ndarray) -> tuple[int, int]:
    """Correct predictions; mixed labels (class probabilities) count their largest class, as torchvision's
    reference does."""
    if labels.ndim == 2:
        labels = labels.argmax(axis=1)
    return int((logits.argmax(axis=1) == labels).sum()), len(labels)


def evaluate(model: Any, loader: Any, loss_fn: Any) -> TaskEvaluation:
    result = evaluate_classifier(model, loader, loss_fn)
    return TaskEvaluation(result.loss, result.accuracy, {"accuracy": result.accuracy}, result)


CLASSIFY = Task(name="classify", kind="classification", score_name="accuracy", item_name="images",
                eval_split="val", defaults={}, load_data=load_data, build_loss=build_loss,
                batch_transform=batch_transform, batch_correct=batch_correct, evaluate=evaluate,
                check_config=check_config)

"""Semantic segmentation: a class for every pixel (255 = ignore), scored by mean IoU over the classes.

The data are the Fashion-MNIST scenes (`cnnkit.data.scenes`), trained on the train split and evaluated
every epoch on the validation split (the best checkpoint is chosen there, never on the test split, which
`cnnkit eval` reports). Batches are gathered straight from the scenes' image and mask arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from cnnkit.training.tasks.base import FLAG, Task, TaskEvaluation, check_arg_values, whole

IGNORE_INDEX = 255
DATASETS = ("fashion-scenes",)


@dataclass
class ImageMaskArrays:
    """Images (N, H, W) uint8 and masks (N, H, W) as the array-backed loader reads them (`data`, `targets`)."""

    data: np.ndarray
    targets: np.ndarray
    classes: list[str]
    transform: None = None
    target_transform: None = None
    folder: str | None = None  # where the scenes were read from (recorded as the run's data_source)

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        return self.data[index][None].astype(np.float32) / np.float32(255), self.targets[index].astype(np.int64)


SCENE_ARGS = {"clutter": FLAG, "ignore_border": FLAG, "seed": whole(0), "num_scenes": whole(1),
              "train_scenes": whole(1), "val_items": whole(1)}


def scene_args(config: Any) -> dict[str, Any]:
    """The scenes' --data-args (segment and detect), checked: unknown keys and values of the wrong type refused."""
    args = dict(config.data_args)
    unknown = set(args) - set(SCENE_ARGS)
    if unknown:
        raise ValueError(f"--data-args: fashion-scenes takes {', '.join(SCENE_ARGS)}, got {', '.join(sorted(unknown))}")
    check_arg_values("--data-args", args, SCENE_ARGS)
    return args


def split_count(args: dict[str, Any], split: str) -> int | None:
    """How many scenes of `split` to use, taking the counts out of the scene arguments: `train_scenes` for the
    training split, else `num_scenes` (a tenth of it for validation and test, the full set's 10:1 proportion),
    else None (the split's default). `train_scenes` alone leaves validation and test as they are, so a run on more
    training scenes is scored on the same scenes as one on the default."""
    count, train_count = args.pop("num_scenes", None), args.pop("train_scenes", None)
    if split == "train":
        return count if train_count is None else train_count
    return None if count is None else max(1, count // 10)


def scenes(config: Any, split: str):
    """The Fashion-MNIST scenes of one split as loader-ready arrays (generated and cached on first use)."""
    from cnnkit.data.scenes import FashionScenes

    args = scene_args(config)
    data = FashionScenes(root=config.data_dir, split=split, num_scenes=split_count(args, split), **args)
    return ImageMaskArrays(data.images, data.masks, list(data.classes), folder=str(data.folder))


def check_config(config: Any) -> None:
    if config.dataset not in DATASETS:
        raise ValueError(f"--task segment trains on {', '.join(DATASETS)}, got --dataset {config.dataset!r}")
    if config.augment == "crop-flip-erase":  # an erased rectangle would leave its mask labels behind
        raise ValueError("--task segment: random erasing is for classification; use --augment none, flip or crop-flip")
    scene_args(config)


def load_data(config: Any, split: str = "val"):
    """(train scenes, evaluation scenes of `split`, DataInfo) for `--task segment`."""
    from cnnkit.training.datasets import DataInfo

    check_config(config)
    train, held_out = scenes(config, "train"), scenes(config, split)
    sample = train.data[:2000].astype(np.float32) / 255
    info = DataInfo(config.dataset, train.classes, (1,) + train.data.shape[1:], (float(sample.mean()),),
                    (float(sample.std()),))
    return train, held_out, info


LOSS_ARGS = ("class_weights", "dice")


def build_loss(config: Any):
    """Pixelwise cross-entropy (255 ignored), with `--loss-args` class weights, plus `dice` × soft Dice loss."""
    from cnnkit import nn

    args = dict(config.loss_args)
    unknown = set(args) - set(LOSS_ARGS)
    if unknown:
        raise ValueError(f"--loss-args: --task segment takes {' and '.join(LOSS_ARGS)}, "
                         f"got {', '.join(sorted(unknown))}")
    dice = args.get("dice", 0.0)
    if isinstance(dice, bool) or not isinstance(dice, int | float) or not 0 <= dice < np.inf:  # NaN fails too
        raise ValueError(f"--loss-args: dice must be a finite number ≥ 0 (the Dice loss's weight), got {dice!r}")
    weight = class_weights(config, args["class_weights"]) if args.get("class_weights") is not None else None
    cross_entropy = nn.CrossEntropyLoss(weight=weight, ignore_index=IGNORE_INDEX,
                                        label_smoothing=config.label_smoothing)
    if not dice:
        return cross_entropy
    dice_loss = nn.DiceLoss(ignore_index=IGNORE_INDEX)

    def loss(logits, target):
        return cross_entropy(logits, target) + float(dice) * dice_loss(logits, target)

    return loss


def class_weights(config: Any, given: Any) -> np.ndarray:
    """float32 (classes,): the given list, or "balanced": median-frequency balancing (Eigen & Fergus 2015),
    w_c = median_c(f_c) / f_c with f_c the share of class c among the training masks' labelled pixels."""
    train = scenes(config, "train")
    count = len(train.classes)
    if given == "balanced":
        labels = train.targets[train.targets != IGNORE_INDEX]
        frequency = np.bincount(labels.ravel(), minlength=count)[:count] / max(labels.size, 1)
        if (frequency == 0).any():
            missing = [train.classes[c] for c in np.flatnonzero(frequency == 0)]
            raise ValueError(f"--loss-args: class_weights \"balanced\" needs every class in the training masks; "
                             f"{', '.join(missing)} never occur")
        return (np.median(frequency) / frequency).astype(np.float32)
    numbers = isinstance(given, list) and all(isinstance(w, int | float) and not isinstance(w, bool) for w in given)
    weights = np.asarray(given, dtype=np.float64) if numbers else None
    if weights is None or weights.shape != (count,) or not ((weights >= 0) & (weights < np.inf)).all():
        raise ValueError(f"--loss-args: class_weights must be \"balanced\" or {count} numbers ≥ 0, each finite (one "
                         f"per class, background first), got {given!r}")
    return weights.astype(np.float32)


def batch_transform(config: Any, info: Any, train: bool):
    """Normalisation; in training with --augment flip (or crop-flip), each image and its mask mirrored together."""
    from cnnkit.data.transforms import Normalize, flip_where
    from cnnkit.random import default_generator

    normalize = Normalize(info.mean, info.std)
    flip = train and config.augment in ("flip", "crop-flip")

    def apply(images: np.ndarray, masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if flip:  # the draws of RandomHorizontalFlip(p=0.5), from cnnkit's global generator
            chosen = default_generator().random(len(images)) < 0.5
            images, masks = flip_where(images, chosen, axis=3), flip_where(masks, chosen, axis=2)
        return np.asarray(normalize(images)), masks

    return apply


def batch_correct(logits: np.ndarray, masks: np.ndarray) -> tuple[int, int]:
    """Correct pixels and counted pixels (ignore pixels left out): the training pixel accuracy."""
    valid = masks != IGNORE_INDEX
    return int(((logits.argmax(axis=1) == masks) & valid).sum()), int(valid.sum())


def evaluate(model: Any, loader: Any, loss_fn: Any) -> TaskEvaluation:
    """Pixel accuracy, mean IoU and the whole-split confusion matrix, without recording a graph."""
    from cnnkit.autograd import no_grad
    from cnnkit.metrics import SegmentationConfusion

    was_training = model.training
    model.eval()
    confusion, total_loss, pixels = None, 0.0, 0
    with no_grad():
        for images, masks in loader:
            logits = model(images)
            if confusion is None:
                confusion = SegmentationConfusion(logits.shape[1], ignore_index=IGNORE_INDEX)
            counted = int((masks._data != IGNORE_INDEX).sum())
            if loss_fn is not None and counted:
                total_loss += float(loss_fn(logits, masks).item()) * counted
            pixels += counted
            confusion.update(logits._data.argmax(axis=1), masks._data)
    model.train(was_training)
    if confusion is None:
        return TaskEvaluation(float("nan"), 0.0, {"accuracy": 0.0, "miou": 0.0})
    miou, accuracy = confusion.mean_iou(), confusion.pixel_accuracy()
    return TaskEvaluation(total_loss / max(pixels, 1), miou, {"accuracy": accuracy, "miou": miou}, confusion)


SEGMENT = Task(name="segment", kind="segmentation", score_name="miou", item_name="scenes", eval_split="val",
               # the shipped recipe (unet_scenes.safetensors): a depth-4, base-16 U-Net with cross-entropy + soft
               # Dice, 5 epochs of 100,000 training scenes (fewer scenes over-fit more: 60,000 for 7 epochs,
               # 40,000 for 10 and the default 20,000 for 20 score lower) and a moving average of the weights
               defaults={"model": "unet", "dataset": "fashion-scenes", "optimizer": "adam", "lr": 0.002,
                         "batch_size": 32, "epochs": 5, "eval_batch_size": 100, "augment": "flip",
                         "model_args": {"base_channels": 16, "depth": 4}, "loss_args": {"dice": 1.0},
                         "data_args": {"train_scenes": 100000}, "ema": 0.999},
               load_data=load_data, build_loss=build_loss, batch_transform=batch_transform,
               batch_correct=batch_correct, evaluate=evaluate, extra_columns=("miou",), check_config=check_config)

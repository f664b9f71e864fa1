"""The `Task` record: the functions and names by which one kind of training differs from another."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class TaskEvaluation:
    """One evaluation pass: the mean loss, the task's score (what the best checkpoint is chosen by) and extras."""

    loss: float
    score: float
    metrics: dict[str, float]  # history columns, without the split prefix (e.g. {"accuracy": …, "miou": …})
    details: Any = None  # task-specific: predictions for classification, the confusion for segmentation


@dataclass(frozen=True)
class Task:
    """What the trainer needs to know about a task, as plain functions.

    load_data(config) -> (train_set, eval_set, DataInfo), eval_set None when nothing is held out;
    build_loss(config) -> loss module;
    batch_transform(config, info, train) -> callable on a (images, targets) batch of arrays;
    batch_correct(logits, targets) -> (correct, counted) for the training accuracy;
    evaluate(model, loader, loss_fn) -> TaskEvaluation.
    Optional, for tasks whose step is not "loss_fn(model(images), targets), backward, step" (generation):
    forward(model, images, targets) -> the outputs loss_fn takes; optimizer_step(model, optimizer) after
    backward (e.g. clip, step, update an EMA); after_epoch(model, run_dir, epoch, config, info) after each
    epoch's checkpoints (e.g. a grid of samples).
    `model_args_set`: model arguments the task's data fix (refused in --model-args, as num_classes is).
    """

    name: str  # as given to --task
    kind: str  # as stored in checkpoints: "classification", "segmentation"
    score_name: str  # the metric that picks the best checkpoint, e.g. "accuracy" or "miou"
    item_name: str  # what one sample is called in messages: "images", "scenes"
    eval_split: str  # the split evaluated every epoch, whose score picks the best checkpoint: "val" or "test"
    defaults: dict[str, Any]  # RunConfig defaults that differ from classification's
    load_data: Callable
    build_loss: Callable
    batch_transform: Callable
    batch_correct: Callable[[np.ndarray, np.ndarray], tuple[int, int]]
    evaluate: Callable
    extra_columns: tuple[str, ...] = field(default=())
    forward: Callable | None = None
    optimizer_step: Callable | None = None
    after_epoch: Callable | None = None
    # model arguments the task sets itself besides num_classes and in_channels (e.g. the scenes' image size)
    model_args_set: tuple[str, ...] = field(default=())
    check_config: Callable | None = None  # check_config(config): refuse options the task cannot use, before any data


def whole(minimum: int) -> tuple[str, Callable[[Any], bool]]:
    """An argument that is an integer >= minimum (not a bool, not a float)."""
    return (f"an integer >= {minimum}",
            lambda v: isinstance(v, int | np.integer) and not isinstance(v, bool) and v >= minimum)


FLAG = ("true or false", lambda v: isinstance(v, bool))
FINITE = ("a finite number", lambda v: isinstance(v, int | float) and not isinstance(v, bool) and bool(np.isfinite(v)))


def check_arg_values(option: str, given: dict[str, Any], rules: dict[str, tuple[str, Callable[[Any], bool]]]
                     ) -> None:
    """Refuse a value of the wrong type or range in a JSON option (`--data-args`), naming the key: a string
    where a count belongs would otherwise fail deep inside, or be taken silently."""
    for key, value in given.items():
        if key in rules and not (value is None and key in NULLABLE) and not rules[key][1](value):
            raise ValueError(f"{option}: {key!r} must be {rules[key][0]}, got {value!r}")


NULLABLE = ("num_images", "num_scenes")  # None: the whole set

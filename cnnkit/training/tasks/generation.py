"""Generation: a denoising diffusion model (`cnnkit.diffusion`) learns a classification data set's images.

Batches are the data set's images scaled to [−1, 1] (x ↦ 2x − 1) with their labels. The task's own step:
`forward` draws t, ε and the dropped labels from cnnkit's global generator (seeded per epoch by the trainer,
so a resumed run draws the same) and returns the ε-residual, whose mean square is the loss; `optimizer_step`
clips the gradients' norm at 1, steps the optimiser and updates the EMA. Every epoch the EMA network's
ε-loss on a validation split (fixed t and ε draws) gives the score eps_r2 = 1 − ε-MSE (the share of the noise's
variance it predicts; it picks the best checkpoint), and a grid of DDIM samples, one row per class, is written
to RUN/samples/epoch-NNN.png.

The validation split is the last `eval_images` training images (or `--val-split N`), never trained on, so the
test split stays untouched for `cnnkit eval`. `--val-split 0` trains on every image and keeps the last epoch.

--data-args keys: num_images (train on the first N of the images not held out), eval_images (the validation
split's size when --val-split is not given, default 1000), grid_per_class (samples per class in the epoch grid,
default 8; 0 for none), grid_steps (DDIM steps, default 25), grid_guidance (default 2).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from cnnkit.training.tasks.base import FINITE, Task, TaskEvaluation, check_arg_values, whole

GRAD_CLIP = 1.0
EVAL_SEED = 20_250_101  # the evaluation's t and ε draws, the same every epoch
DATA_ARGS = {"num_images": None, "eval_images": 1000, "grid_per_class": 8, "grid_steps": 25, "grid_guidance": 2.0}


def data_args(config: Any) -> dict[str, Any]:
    """The task's --data-args with their defaults; unknown keys are refused."""
    unknown = set(config.data_args) - set(DATA_ARGS)
    if unknown:
        raise ValueError(f"--data-args: --task generate takes {', '.join(DATA_ARGS)}, got {', '.join(sorted(unknown))}")
    check_arg_values("--data-args", config.data_args, {"num_images": whole(1), "eval_images": whole(1),
                                                       "grid_per_class": whole(0), "grid_steps": whole(1),
                                                       "grid_guidance": FINITE})
    return {**DATA_ARGS, **config.data_args}


def check_config(config: Any) -> None:
    if config.augment in ("crop", "crop-flip", "crop-flip-erase"):
        raise ValueError(
            "--task generate: random crops would teach the model shifted images; use --augment none or flip"
        )
    data_args(config)


def validation_count(config: Any, args: dict[str, Any]) -> int:
    """Training images held out to score epochs: --val-split, else the eval_images data argument (of `args`,
    the checked --data-args)."""
    given = getattr(config, "val_split", None)
    return int(args["eval_images"]) if given is None else int(given)


def load_data(config: Any, split: str = "val"):
    """(images trained on, images of `split`, DataInfo) of a classification data set: "val" is the last
    `validation_count` training images (None when it is 0), "test" the first eval_images test images."""
    from cnnkit.data import Subset
    from cnnkit.data.dataset import hold_out_last
    from cnnkit.training.datasets import load_classification_data

    check_config(config)
    args = data_args(config)
    train, test, info = load_classification_data(config.dataset, config.data_dir)
    held = validation_count(config, args)
    kept, held_out = hold_out_last(len(train), held, "images") if held else (np.arange(len(train)), None)
    if args["num_images"] is not None:
        kept = kept[: int(args["num_images"])]
    if split == "test":
        scored = Subset(test, np.arange(min(int(args["eval_images"]), len(test))))
    else:
        scored = None if held_out is None else Subset(train, held_out)
    return Subset(train, kept), scored, info


def build_loss(config: Any):
    from cnnkit.diffusion.loss import EpsilonLoss

    return EpsilonLoss()


def batch_transform(config: Any, info: Any, train: bool):
    """[0, 1] → [−1, 1]; in training with --augment flip, each image mirrored with probability 1/2."""
    from cnnkit.data.transforms import RandomHorizontalFlip

    flip = RandomHorizontalFlip() if train and config.augment == "flip" else None

    def apply(images: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if flip is not None:
            images = np.asarray(flip(images))
        return (2 * images - 1).astype(np.float32), labels

    return apply


def batch_correct(outputs: np.ndarray, labels: np.ndarray) -> tuple[int, int]:
    return 0, 0  # a generator has no training accuracy


def forward(model: Any, images: Any, labels: Any):
    from cnnkit.diffusion.loss import epsilon_residual

    return epsilon_residual(model, images, labels)


def optimizer_step(model: Any, optimizer: Any) -> None:
    """Clip the gradients' total norm at 1, step, then fold the new weights into the EMA."""
    from cnnkit.nn.utils import clip_grad_norm_

    clip_grad_norm_(model.net.parameters(), GRAD_CLIP)
    optimizer.step()
    model.ema.update(model.net)


def evaluate(model: Any, loader: Any, loss_fn: Any) -> TaskEvaluation:
    """The EMA network's ε-MSE over the loader, with the same t and ε draws every time; score 1 − MSE."""
    from cnnkit.autograd import no_grad
    from cnnkit.diffusion.loss import epsilon_residual

    rng = np.random.default_rng(EVAL_SEED)
    total, count = 0.0, 0
    with no_grad():
        for images, labels in loader:
            residual = epsilon_residual(model, images, labels, generator=rng, use_ema=True)._data
            total += float(np.square(residual, dtype=np.float64).mean()) * len(images)
            count += len(images)
    loss = total / max(count, 1)
    return TaskEvaluation(loss, 1 - loss, {"eps_r2": 1 - loss})


def after_epoch(model: Any, run_dir: Path, epoch: int, config: Any, info: Any) -> None:
    """A grid of EMA samples (DDIM, guided, one row per class; the same noise every epoch) in RUN/samples/."""
    from cnnkit.diffusion.generate import generate
    from cnnkit.diffusion.pictures import save_sample_grid

    args = data_args(config)
    per_row = int(args["grid_per_class"])
    if per_row <= 0:
        return
    conditional = model.num_classes is not None
    rows = len(info.classes) if conditional else 4
    labels = np.repeat(np.arange(rows), per_row) if conditional else None
    guidance = float(args["grid_guidance"]) if conditional else 0.0
    steps = int(args["grid_steps"])
    result = generate(
        model,
        rows * per_row,
        labels=labels,
        guidance=guidance,
        steps=steps,
        seed=0,
        image_shape=tuple(info.input_shape),
    )
    title = f"epoch {epoch}: EMA weights, DDIM-{steps}" + (f", guidance {guidance:g}" if conditional else "")
    save_sample_grid(
        result.images,
        Path(run_dir) / "samples" / f"epoch-{epoch:03d}.png",
        cols=per_row,
        row_labels=list(info.classes) if conditional else None,
        title=title,
    )


GENERATE = Task(
    check_config=check_config,
    name="generate",
    kind="generation",
    score_name="eps_r2",
    item_name="images",
    eval_split="val",
    defaults={
        "model": "diffusion_unet",
        "optimizer": "adam",
        "lr": 1e-3,
        # the recipe of both shipped DDPMs: 2,814 steps, about an hour on one core (README)
        "batch_size": 64,
        "epochs": 3,
        "schedule": "onecycle",
        "warmup_fraction": 0.05,
        "eval_batch_size": 100,
    },
    load_data=load_data,
    build_loss=build_loss,
    batch_transform=batch_transform,
    batch_correct=batch_correct,
    evaluate=evaluate,
    extra_columns=("eps_r2",),
    forward=forward,
    optimizer_step=optimizer_step,
    after_epoch=after_epoch,
)

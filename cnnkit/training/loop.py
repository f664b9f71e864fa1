"""One epoch of training and one pass of evaluation: the inner loops every task shares.

train_epoch: shuffled mini-batches → forward → loss → backward → optimiser step (→ scheduler step),
with a progress bar showing loss, accuracy and images/s on a terminal, or plain progress lines elsewhere
(`cnnkit.training.progress`); a non-finite loss stops training at once.
evaluate: a no-grad pass that returns the loss, the accuracy and every prediction.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from cnnkit.autograd import no_grad
from cnnkit.tensor import Tensor
from cnnkit.training.progress import ProgressLines


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the message names the epoch and step."""


@dataclass
class EpochStats:
    loss: float
    accuracy: float
    images: int
    seconds: float
    correct: int = 0  # the counts behind `accuracy` (pixels for segmentation), summed over ranks in a parallel run
    counted: int = 0

    @property
    def images_per_second(self) -> float:
        return self.images / self.seconds if self.seconds > 0 else 0.0


@dataclass
class Evaluation:
    loss: float
    accuracy: float
    predictions: np.ndarray  # (N,) predicted class per sample
    targets: np.ndarray  # (N,)
    probabilities: np.ndarray  # (N, num_classes) softmax outputs


PROGRESS = ("bar", "lines", "none")  # tqdm's bar on a terminal, plain lines in a log file, nothing


def progress_mode(progress: bool | str) -> str:
    """One of PROGRESS from the trainer's `progress` argument (True: the bar; False: nothing)."""
    mode = {True: "bar", False: "none"}.get(progress, progress) if isinstance(progress, bool) else progress
    if mode not in PROGRESS:
        raise ValueError(f"progress must be True, False or one of {', '.join(PROGRESS)}, got {progress!r}")
    return mode


def _progress(iterable: Iterable, total: int, description: str, enabled: bool | str):
    if progress_mode(enabled) != "bar":
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=description, leave=True, dynamic_ncols=True, mininterval=0.5)


def _count_correct(logits: np.ndarray, labels: np.ndarray) -> tuple[int, int]:
    return int((logits.argmax(axis=1) == labels).sum()), len(labels)


def train_epoch(model, loader, optimizer, loss_fn: Callable, *, epoch: int, scheduler=None,
                progress: bool | str = True, description: str | None = None,
                batch_correct: Callable = _count_correct, forward: Callable | None = None,
                optimizer_step: Callable | None = None, after_step: Callable[[], None] | None = None,
                steps_after: int = 0) -> EpochStats:
    """Train for one pass over `loader`; the scheduler (if any) steps after every optimiser step.

    `batch_correct(logits, targets)` gives (correct, counted) for the running accuracy (pixels for segmentation).
    `forward(model, images, targets)` replaces `model(images)` and `optimizer_step(model, optimizer)` replaces
    `optimizer.step()` when given (a task's own step, e.g. diffusion's noising, clipping and EMA).
    `after_step()` runs after every optimiser step, while the step's gradients are still there (gradient flow).
    `progress`: True or "bar" (tqdm), "lines" (a plain line at least every 10 s; `steps_after` = the run's steps
    after this epoch, for the ETA), False or "none".
    """
    mode = progress_mode(progress)
    model.train()
    total_loss, correct, seen, counted = 0.0, 0, 0, 0
    start = time.perf_counter()
    bar = _progress(loader, len(loader), description or f"epoch {epoch}", mode)
    lines = ProgressLines(description or f"epoch {epoch}", len(loader), steps_after) if mode == "lines" else None
    for step, (images, labels) in enumerate(bar, start=1):
        logits = model(images) if forward is None else forward(model, images, labels)
        loss = loss_fn(logits, labels)
        value = float(loss.item())
        if not math.isfinite(value):
            kept = (f"the last good checkpoint (epoch {epoch - 1}) was kept" if epoch > 1  # epoch e - 1 saved it
                    else "no checkpoint was written (none exists before the first epoch ends)")
            raise TrainingDiverged(f"the loss became {value} at epoch {epoch}, step {step}; training stopped and "
                                   f"{kept} (try a lower --lr)")
        optimizer.zero_grad()
        loss.backward()
        finish = getattr(model, "finish_gradient_synchronization", None)  # data-parallel: averaged gradients
        if finish is not None:
            finish()
        if optimizer_step is None:
            optimizer.step()
        else:
            optimizer_step(model, optimizer)
        if after_step is not None:
            after_step()
        if scheduler is not None:
            scheduler.step()
        n = len(labels)
        total_loss += value * n
        right, count = batch_correct(logits._data, labels._data)
        correct, counted, seen = correct + right, counted + count, seen + n
        if lines is not None:
            lines.update(step, seen, total_loss / seen)
        elif mode == "bar" and (step % 10 == 0 or step == len(loader)):
            elapsed = time.perf_counter() - start
            bar.set_postfix(loss=f"{total_loss / seen:.4f}", acc=f"{correct / max(counted, 1):.4f}",
                            img_s=f"{seen / max(elapsed, 1e-9):.0f}", refresh=False)
    if mode == "bar":
        bar.close()
    return EpochStats(total_loss / max(seen, 1), correct / max(counted, 1), seen, time.perf_counter() - start,
                      correct, counted)


def evaluate(model, loader, loss_fn: Callable | None = None, progress: bool = False) -> Evaluation:
    """Run the model in eval mode over `loader` without recording a graph."""
    was_training = model.training
    model.eval()
    losses, probs, targets = [], [], []
    with no_grad():
        for images, labels in _progress(loader, len(loader), "eval", progress):
            logits = model(images)
            if loss_fn is not None:
                losses.append(float(loss_fn(logits, labels).item()) * len(labels))
            z = logits._data - logits._data.max(axis=1, keepdims=True)
            e = np.exp(z)
            probs.append(e / e.sum(axis=1, keepdims=True))
            targets.append(np.asarray(labels._data if isinstance(labels, Tensor) else labels))
    model.train(was_training)
    probabilities = np.concatenate(probs) if probs else np.zeros((0, 0), np.float32)
    y = np.concatenate(targets) if targets else np.zeros(0, np.int64)
    predictions = probabilities.argmax(axis=1) if len(y) else np.zeros(0, np.int64)
    loss = sum(losses) / len(y) if losses and len(y) else float("nan")
    return Evaluation(loss, float((predictions == y).mean()) if len(y) else 0.0, predictions, y, probabilities)

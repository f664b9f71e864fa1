"""A training run from a plain config: build data, model, optimiser and schedule, train with checkpoints.

One loop serves every task (`cnnkit.training.tasks`: classification, segmentation); the task supplies the
data, the loss, the batch transform and the evaluation, and names the score that picks the best checkpoint.
The run folder holds `config.json`, `history.json`/`history.csv`, `last.safetensors` (written after every
epoch) and `best.safetensors` (best score on the task's held-out split: validation for classification,
segmentation and detection; the last epoch when nothing is held out), each checkpoint with a `.json` copy of its
metadata.
Randomness is derived from (seed, epoch): the shuffle order, the augmentation and dropout of epoch e
depend only on them, so a run resumed from the checkpoint of epoch e − 1 ends with exactly the weights
of an uninterrupted run.
"""

from __future__ import annotations

import copy
import json
import math
import os
import time
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from cnnkit.data.locate import dataset_folder
from cnnkit.models.registry import check_model_args
from cnnkit.optim.ema import EMA
from cnnkit.serialization import atomic_write_text
from cnnkit.tensor import Tensor
from cnnkit.training.checkpoint import load_checkpoint, require_average, require_resumable, save_checkpoint
from cnnkit.training.datasets import DataInfo
from cnnkit.training.gradient_flow import GradientFlow, steps_between_records
from cnnkit.training.history import write_history
from cnnkit.training.lock import lock_run_dir
from cnnkit.training.loop import train_epoch
from cnnkit.training.parallel import Parallel
from cnnkit.training.tasks import TASKS, get_task

OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")
SCHEDULES = ("none", "cosine", "step", "onecycle")
AUGMENTATIONS = ("none", "crop", "flip", "crop-flip", "crop-flip-erase")


# the JSON values each RunConfig annotation accepts (an int is a float too; a bool is neither)
_STORED_KINDS = {"str": (str,), "int": (int,), "float": (int, float), "dict[str, Any]": (dict,), "None": (type(None),)}


@dataclass
class RunConfig:
    """Everything that defines a run; stored as config.json in the run folder. `for_task` gives a task's defaults."""

    task: str = "classify"
    model: str = "lenet5"
    dataset: str = "fashion-mnist"
    data_dir: str | None = None
    epochs: int = 10
    batch_size: int = 128
    lr: float = 0.05
    optimizer: str = "sgd"
    momentum: float = 0.9
    weight_decay: float = 0.0
    schedule: str = "cosine"
    augment: str = "none"
    label_smoothing: float = 0.0
    mixup_alpha: float = 0.0  # classify: MixUp by λ ~ Beta(α, α) (with cutmix_alpha too: half the batches); 0: none
    cutmix_alpha: float = 0.0  # classify: CutMix likewise; 0: none
    ema: float = 0.0  # decay of a moving average of the weights, which is validated, kept and exported; 0: none
    warmup_fraction: float = 0.3  # onecycle: share of the steps spent raising the learning rate
    seed: int = 0
    out: str = "runs/lenet5-fashion-mnist"
    model_args: dict[str, Any] = field(default_factory=dict)
    eval_batch_size: int = 1000
    data_args: dict[str, Any] = field(default_factory=dict)
    loss_args: dict[str, Any] = field(default_factory=dict)  # --task segment: class_weights, dice
    data_source: str | None = None  # recorded, not an option: the folder the training data was read from
    val_split: int | None = None  # classify, generate: training images held out for validation (None: the task's
    # default, 5,000 or --data-args eval_images; 0: none)

    @classmethod
    def from_stored(cls, stored: Any, source: str | os.PathLike) -> RunConfig:
        """The config a run stored (config.json, a checkpoint's metadata); a value of the wrong type or a setting
        this cnnkit does not know is refused naming `source` and the setting."""
        if not isinstance(stored, dict):
            raise ValueError(f"{source} is not a cnnkit run configuration (not a JSON object)")
        known = {f.name: f.type for f in fields(cls)}
        unknown = sorted(set(stored) - set(known))
        if unknown:
            raise ValueError(f"{source} is not a cnnkit run configuration (unknown settings {', '.join(unknown)})")
        for name, value in stored.items():
            kinds = tuple(kind for part in known[name].split(" | ") for kind in _STORED_KINDS[part])
            if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
                raise ValueError(f"{source}: the run setting {name!r} should be {known[name]}, got {value!r}")
        return cls(**stored)

    @classmethod
    def for_task(cls, task: str = "classify", **given: Any) -> RunConfig:
        """The defaults of `task` (classification's, overridden by e.g. segmentation's), then the given values.

        The task's default model_args, data_args and ema belong to its default model's recipe: another model given
        without them gets {} and no average. The defaults are copied: a run's config may be changed without changing
        the task's."""
        defaults = copy.deepcopy(get_task(task).defaults)
        if given.get("model", defaults.get("model")) != defaults.get("model"):
            for key in ("model_args", "data_args", "ema"):
                defaults.pop(key, None)
        settings = {**defaults, **given}
        return cls(task=task, **settings)

    def validate(self) -> None:
        from cnnkit.models import model_info

        checks = [("task", self.task in TASKS, f"one of {', '.join(TASKS)}"),
                  ("optimizer", self.optimizer in OPTIMIZERS, f"one of {', '.join(OPTIMIZERS)}"),
                  ("schedule", self.schedule in SCHEDULES, f"one of {', '.join(SCHEDULES)}"),
                  ("augment", self.augment in AUGMENTATIONS, f"one of {', '.join(AUGMENTATIONS)}"),
                  ("epochs", self.epochs >= 1, "at least 1"),
                  ("batch_size", self.batch_size >= 1, "at least 1"),
                  ("lr", 0 < self.lr < math.inf, "a positive finite number"),
                  ("momentum", 0 <= self.momentum < math.inf, "a finite number >= 0"),
                  ("weight_decay", 0 <= self.weight_decay < math.inf, "a finite number >= 0"),
                  ("label_smoothing", 0 <= self.label_smoothing <= 1, "between 0 and 1"),
                  ("mixup_alpha", _mixing_ok(self.mixup_alpha, self.task), "a finite number >= 0, and 0 unless "
                   "--task classify"),
                  ("cutmix_alpha", _mixing_ok(self.cutmix_alpha, self.task), "a finite number >= 0, and 0 unless "
                   "--task classify"),
                  ("ema", 0 <= self.ema < 1 and (self.ema == 0 or self.task != "generate"),
                   "in [0, 1), and 0 for --task generate (a diffusion model keeps its own average)"),
                  ("seed", self.seed >= 0, "an integer >= 0"),
                  ("warmup_fraction", 0 < self.warmup_fraction < 1, "between 0 and 1"),
                  ("loss_args", not self.loss_args or self.task == "segment", "empty except for --task segment"),
                  ("val_split", self.val_split is None or (self.task in ("classify", "generate")
                                                           and isinstance(self.val_split, int)
                                                           and not isinstance(self.val_split, bool)
                                                           and self.val_split >= 0),
                   "a count of images >= 0, and only for --task classify or generate (the scenes hold out "
                   "--data-args '{\"val_items\": N}')")]
        for name, ok, wanted in checks:
            if not ok:
                raise ValueError(f"--{name.replace('_', '-')} must be {wanted}, got {getattr(self, name)!r}")
        model_info(self.model)  # an unknown model name is refused here, before any folder is made
        task = get_task(self.task)
        if task.check_config is not None:  # a model the task cannot use is named before its arguments are
            task.check_config(self)
        check_model_args(self.model, self.model_args, reserved=model_args_from_data(self.task),
                         option="--model-args")  # before any data is read


def _mixing_ok(alpha: float, task: str) -> bool:
    """A MixUp / CutMix α: finite and >= 0, and 0 for every task but classify (their targets are not class labels)."""
    return 0 <= alpha < math.inf and (alpha == 0 or task == "classify")


def model_args_from_data(task: str) -> tuple[str, ...]:
    """The model arguments a run of `task` sets itself, which --model-args may not give."""
    return ("num_classes", "in_channels", *get_task(task).model_args_set)


def epoch_seed(seed: int, epoch: int, stream: int) -> int:
    """A seed for one random stream (0 shuffle, 1 augmentation and dropout) of one epoch."""
    return (seed * 1_000_003 + epoch * 101 + stream) % (2**63)


def build_model(config: RunConfig, info: DataInfo):
    from cnnkit.models import get_model

    check_model_args(config.model, config.model_args, reserved=model_args_from_data(config.task),
                     option="--model-args")
    try:
        return get_model(config.model, num_classes=len(info.classes), in_channels=info.input_shape[0],
                         **config.model_args)
    except (TypeError, MemoryError) as error:  # a string for a width, a width of 10⁵: name the option
        raise ValueError(f"--model-args {json.dumps(config.model_args)}: model {config.model!r} cannot be built "
                         f"with these values ({error})") from None


def build_optimizer(config: RunConfig, model):
    from cnnkit import optim

    params = model.parameters()
    if config.optimizer == "sgd":
        return optim.SGD(params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay,
                         nesterov=config.momentum > 0)
    if config.optimizer == "adam":
        return optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    if config.optimizer == "adamw":
        return optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    return optim.RMSprop(params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)


def build_scheduler(config: RunConfig, optimizer, steps_per_epoch: int):
    """A per-step schedule over the whole run (None for a constant learning rate)."""
    from cnnkit.optim import lr_scheduler

    total = config.epochs * steps_per_epoch
    if config.schedule == "cosine":
        return lr_scheduler.CosineAnnealingLR(optimizer, T_max=total)
    if config.schedule == "step":
        return lr_scheduler.MultiStepLR(optimizer, milestones=[total // 2, total * 3 // 4], gamma=0.1)
    if config.schedule == "onecycle":
        return lr_scheduler.OneCycleLR(optimizer, max_lr=config.lr, total_steps=total,
                                       pct_start=config.warmup_fraction)
    return None


class TransformedBatches:
    """A loader whose (images, targets) batches pass through a task's batch transform (augmentation, normalisation)."""

    def __init__(self, loader, transform) -> None:
        self.loader, self.transform = loader, transform

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self):
        for images, targets in self.loader:
            images, targets = self.transform(images._data, targets._data)
            yield Tensor(images), Tensor(targets)


def _loader(dataset, batch_size: int, shuffle: bool, seed: int, transform, sampler=None) -> TransformedBatches:
    from cnnkit.data import DataLoader

    return TransformedBatches(DataLoader(dataset, batch_size=batch_size, shuffle=shuffle and sampler is None,
                                         seed=seed, sampler=sampler), transform)


def evaluation_loader(task, config: RunConfig, info: DataInfo, dataset, batch_size: int) -> TransformedBatches:
    """Batches of a held-out split, prepared as the task prepares them for evaluation (no augmentation)."""
    return _loader(dataset, batch_size, False, 0, task.batch_transform(config, info, False))


@dataclass
class RunResult:
    run_dir: Path
    history: list[dict[str, Any]]
    final_score: float  # the task's score (accuracy, mIoU) on its held-out split after the last epoch (NaN: none)
    best_score: float
    score_name: str = "accuracy"
    eval_split: str = "test"

    @property
    def best_accuracy(self) -> float:
        return self.best_score


def check_run_dir(config: RunConfig, resume: bool) -> Path:
    """The run folder, checked but not created: resuming needs a checkpoint there, a new run needs none."""
    run_dir = Path(config.out)
    for place in (run_dir, *run_dir.parents):  # the folder, or a folder above it, already a file: say which
        if place.exists() and not place.is_dir():
            raise FileExistsError(f"--out {run_dir}: {place} is a file, not a folder; choose another run folder")
    has_checkpoint = (run_dir / "last.safetensors").exists()
    if resume and not has_checkpoint:
        raise FileNotFoundError(f"nothing to resume: {run_dir} has no last.safetensors")
    if not resume and has_checkpoint:
        raise FileExistsError(f"{run_dir} already holds a run; continue it with --resume, "
                              "or choose another folder with --out")
    return run_dir


def read_config(path: Path) -> RunConfig:
    """A run's config.json; a missing, corrupt or foreign file is refused naming it and what it lacks."""
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"cannot resume: {path} is missing (every run folder holds its settings there)"
                                ) from None
    except (ValueError, RecursionError) as error:
        raise ValueError(f"cannot resume: {path} is not valid JSON ({error})") from None
    if isinstance(stored, dict) and stored.get("task", "classify") in ("classify", "generate"):  # a run made
        stored.setdefault("val_split", 0)  # before these held out images keeps training on every image
    try:
        return RunConfig.from_stored(stored, path)
    except ValueError as error:
        raise ValueError(f"cannot resume: {error}") from None


def settings_for_resume(given: RunConfig, run_dir: Path, log) -> RunConfig:
    """A resumed run keeps the settings in its config.json; options given that differ from them are named.

    Only the run folder and, when given, the data folder come from the new command line.
    """
    stored = read_config(run_dir / "config.json")
    defaults = RunConfig.for_task(given.task)
    ignored = [name for name in asdict(given) if name not in ("out", "data_dir")
               and getattr(given, name) != getattr(stored, name) and getattr(given, name) != getattr(defaults, name)]
    if ignored:
        options = ", ".join("--" + name.replace("_", "-") for name in ignored)
        log(f"note: resuming with the run's own settings (config.json); ignoring {options}")
    stored.out = given.out
    if given.data_dir is None and stored.data_dir is not None and not Path(stored.data_dir).expanduser().is_dir():
        # an exact resume needs the same data: never another copy found by the search
        raise FileNotFoundError(f"cannot resume: the run's data folder {stored.data_dir} (in its config.json) no "
                                "longer exists; pass --data-dir with the folder's new place")
    stored.data_dir = given.data_dir or stored.data_dir
    return stored


def train(config: RunConfig, resume: bool = False, progress: bool | str = True, log=print,
          parallel: Parallel | None = None) -> RunResult:
    """Run (or resume) the training described by config; returns the history and the scores.

    `parallel` (default: one process) makes this process one rank of a data-parallel job (`training.parallel`).
    The run folder is locked (`training.lock`) from before anything in it is read or written until the end.
    `progress`: True or "bar" (tqdm, for a terminal), "lines" (plain lines at least every 10 s), False or "none".
    """
    with ExitStack() as held:
        return _train(config, resume, progress, log, parallel or Parallel(), held)


def _train(config: RunConfig, resume: bool, progress: bool, log, parallel: Parallel, held: ExitStack) -> RunResult:
    import cnnkit

    if not parallel.is_main:
        progress, log = False, _silent
    locked = parallel.is_main and Path(config.out).is_dir()
    if locked:
        held.enter_context(lock_run_dir(config.out))
    run_dir = check_run_dir(config, resume)
    if resume:
        config = settings_for_resume(config, run_dir, log)
    config.validate()
    local_batch_size = parallel.local_batch_size(config.batch_size)
    task = get_task(config.task)
    train_set, eval_set, info = parallel.main_first(lambda: task.load_data(config))
    config.data_source = dataset_folder(train_set)
    held_out = f", {len(eval_set):,} held out for validation" if eval_set is not None else ""
    log(f"{config.model} on {len(train_set):,} {task.item_name}{held_out}, read from "
        f"{config.data_source or 'memory'}; run folder {run_dir}")
    if eval_set is None:
        log("warning: no validation split (--val-split 0): the best checkpoint is the last epoch's; the test set "
            "is never used to choose it")
    cnnkit.manual_seed(config.seed)
    model = parallel.prepare(build_model(config, info))
    optimizer = build_optimizer(config, model)
    steps_per_epoch = parallel.steps_per_epoch(len(train_set), config.batch_size)
    scheduler = build_scheduler(config, optimizer, steps_per_epoch)
    ema = EMA(model, config.ema) if config.ema else None
    loss_fn = task.build_loss(config)
    history: list[dict[str, Any]] = []
    best, start_epoch = float("-inf"), 1
    if resume:
        checkpoint = load_checkpoint(run_dir / "last.safetensors")
        require_resumable(checkpoint, run_dir / "last.safetensors")
        model.load_state_dict(checkpoint.model_state)
        optimizer.load_state_dict(checkpoint.optimizer_state)
        if scheduler is not None and checkpoint.meta.get("scheduler"):
            scheduler.load_state_dict(checkpoint.meta["scheduler"])
        if ema is not None:
            require_average(checkpoint, run_dir / "last.safetensors")
            ema.load_state_dict(checkpoint.ema_state)
        history = checkpoint.meta["history"]
        best = checkpoint.meta.get("best_score", checkpoint.meta.get("best_accuracy"))
        best = float("-inf") if best is None else best  # None: nothing was held out to score
        start_epoch = checkpoint.meta["epoch"] + 1
        log(f"resuming {run_dir} after epoch {start_epoch - 1} of {config.epochs}" if start_epoch <= config.epochs
            else f"{run_dir} is already complete ({config.epochs} of {config.epochs} epochs); nothing to train")
    elif parallel.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)  # only now: a bad option or missing data leaves no folder
        if not locked:  # a new folder: lock it, then check again that no other run finished in it meanwhile
            held.enter_context(lock_run_dir(run_dir))
            check_run_dir(config, resume)
        atomic_write_text(run_dir / "config.json", json.dumps(asdict(config), indent=2))
    eval_loader = None if eval_set is None else evaluation_loader(task, config, info, eval_set, config.eval_batch_size)
    trained = parallel.wrap(model)  # the model itself, or DistributedDataParallel(model) in a parallel run
    flow = GradientFlow(model, steps_between_records(steps_per_epoch), (start_epoch - 1) * steps_per_epoch)
    after_step = flow.after_step if ema is None else lambda: (flow.after_step(), ema.update(model))
    kept = model if ema is None else ema.shadow  # the weights that are validated, kept as best and exported
    for epoch in range(start_epoch, config.epochs + 1):
        cnnkit.manual_seed(parallel.rank_seed(epoch_seed(config.seed, epoch, 1)))  # augmentation and dropout
        shuffle_seed = epoch_seed(config.seed, epoch, 0)
        train_loader = _loader(train_set, local_batch_size, True, shuffle_seed,
                               task.batch_transform(config, info, True), parallel.sampler(train_set, shuffle_seed))
        lr = optimizer.param_groups[0]["lr"]
        stats = train_epoch(trained, train_loader, optimizer, loss_fn, epoch=epoch, scheduler=scheduler,
                            progress=progress, description=f"epoch {epoch}/{config.epochs}",
                            batch_correct=task.batch_correct, forward=task.forward,
                            optimizer_step=task.optimizer_step, after_step=after_step,
                            steps_after=(config.epochs - epoch) * len(train_loader))
        stats = parallel.reduce_stats(stats)
        flow_records = flow.take()  # every rank takes its records; rank 0 keeps them
        if not parallel.is_main:  # rank 0 evaluates and writes the run folder; the others take its results
            history, best = parallel.from_main(None)
            continue
        evaluated = time.perf_counter()
        result = None if eval_loader is None else task.evaluate(kept, eval_loader, loss_fn)
        row = _history_row(epoch, stats, result, task.eval_split, lr)
        if result is not None:
            row["eval_seconds"] = round(time.perf_counter() - evaluated, 2)
        row["gradient_flow"] = flow_records
        history.append(row)
        log(_epoch_line(row, task.eval_split))
        improved = result is None or result.score > best  # nothing held out: the latest epoch is the one kept
        best = best if result is None else max(best, result.score)
        scored = best if result is not None else None  # plain JSON: no -Infinity when nothing is scored
        meta = {"kind": task.kind, "config": asdict(config),
                "data": info.to_dict(), "epoch": epoch, "history": history, "best_score": scored,
                "score_name": task.score_name, "best_accuracy": scored,
                "scheduler": scheduler.state_dict() if scheduler is not None else None}
        if improved:
            save_checkpoint(run_dir / "best.safetensors", kept.state_dict(), None, meta)
        save_checkpoint(run_dir / "last.safetensors", model.state_dict(), optimizer.state_dict(), meta,
                        None if ema is None else ema.state_dict())
        write_history(run_dir, history)
        if task.after_epoch is not None:
            task.after_epoch(model, run_dir, epoch, config, info)
        parallel.from_main([history, best])
    flow.remove()
    final = history[-1].get(f"{task.eval_split}_{task.score_name}", float("nan")) if history else 0.0
    return RunResult(run_dir, history, final, best if best > float("-inf") else 0.0, task.score_name, task.eval_split)


def _silent(*args: Any, **kwargs: Any) -> None:
    """The log of ranks other than 0: only rank 0 prints."""


def _history_row(epoch: int, stats, result, split: str, lr: float) -> dict[str, Any]:
    row = {"epoch": epoch, "train_loss": round(stats.loss, 6)}
    if stats.counted:  # a generator counts nothing: it has no training accuracy to record
        row["train_accuracy"] = round(stats.accuracy, 6)
    if result is not None:
        row[f"{split}_loss"] = round(result.loss, 6)
        row.update({f"{split}_{name}": round(value, 6) for name, value in result.metrics.items()})
    row.update({"lr": lr, "seconds": round(stats.seconds, 2), "images_per_second": round(stats.images_per_second, 1)})
    return row


def _epoch_line(row: dict[str, Any], split: str) -> str:
    scores = "  ".join(f"{split} {key[len(split) + 1:].replace('accuracy', 'acc')} {value:.4f}"
                       for key, value in row.items() if key.startswith(split + "_"))
    accuracy = f"train acc {row['train_accuracy']:.4f}  " if "train_accuracy" in row else ""
    return (f"epoch {row['epoch']:3d}  train loss {row['train_loss']:.4f}  {accuracy}"
            f"{scores}  ({row['seconds']:.1f} s, {row['images_per_second']:.0f} img/s)")


def default_out(model: str, dataset: str, root: str | os.PathLike = "runs") -> str:
    return str(Path(root) / f"{model}-{dataset}")

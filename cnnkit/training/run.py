"""A training run from a plain config: build data, model, optimiser and schedule, train with checkpoints.

The run folder holds `config.json`, `history.json`/`history.csv`, `last.safetensors` (written after every
epoch) and `best.safetensors` (best test accuracy), each checkpoint with a `.json` copy of its metadata.
Randomness is derived from (seed, epoch): the shuffle order, the augmentation and dropout of epoch e
depend only on them, so a run resumed from the checkpoint of epoch e − 1 ends with exactly the weights
of an uninterrupted run.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cnnkit.serialization import atomic_write_text
from cnnkit.training.checkpoint import load_checkpoint, save_checkpoint
from cnnkit.training.datasets import DataInfo, load_classification_data
from cnnkit.training.history import write_history
from cnnkit.training.loop import evaluate, train_epoch

OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")
SCHEDULES = ("none", "cosine", "step", "onecycle")
AUGMENTATIONS = ("none", "crop", "flip", "crop-flip")


@dataclass
class RunConfig:
    """Everything that defines a classification run; stored as config.json in the run folder."""

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
    warmup_fraction: float = 0.3  # onecycle: share of the steps spent raising the learning rate
    seed: int = 0
    out: str = "runs/lenet5-fashion-mnist"
    model_args: dict[str, Any] = field(default_factory=dict)
    eval_batch_size: int = 1000

    def validate(self) -> None:
        from cnnkit.models import model_info

        checks = [("optimizer", self.optimizer in OPTIMIZERS, f"one of {', '.join(OPTIMIZERS)}"),
                  ("schedule", self.schedule in SCHEDULES, f"one of {', '.join(SCHEDULES)}"),
                  ("augment", self.augment in AUGMENTATIONS, f"one of {', '.join(AUGMENTATIONS)}"),
                  ("epochs", self.epochs >= 1, "at least 1"),
                  ("batch_size", self.batch_size >= 1, "at least 1"),
                  ("lr", self.lr > 0, "positive"),
                  ("warmup_fraction", 0 < self.warmup_fraction < 1, "between 0 and 1")]
        for name, ok, wanted in checks:
            if not ok:
                raise ValueError(f"--{name.replace('_', '-')} must be {wanted}, got {getattr(self, name)!r}")
        model_info(self.model)  # an unknown model name is refused here, before any folder is made


def epoch_seed(seed: int, epoch: int, stream: int) -> int:
    """A seed for one random stream (0 shuffle, 1 augmentation and dropout) of one epoch."""
    return (seed * 1_000_003 + epoch * 101 + stream) % (2**63)


def build_model(config: RunConfig, info: DataInfo):
    from cnnkit.models import get_model

    return get_model(config.model, num_classes=len(info.classes), in_channels=info.input_shape[0],
                     **config.model_args)


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


def batch_transforms(config: RunConfig, info: DataInfo, train: bool):
    """Normalisation, preceded in training by the chosen augmentation (vectorised over the batch)."""
    from cnnkit.data import transforms as T

    steps = []
    if train and config.augment in ("crop", "crop-flip"):
        steps.append(T.RandomCrop(info.input_shape[1:], padding=2))
    if train and config.augment in ("flip", "crop-flip"):
        steps.append(T.RandomHorizontalFlip())
    steps.append(T.Normalize(info.mean, info.std))
    return T.Compose(steps)


def _loader(dataset, batch_size: int, shuffle: bool, seed: int, transform):
    from cnnkit.data import DataLoader

    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, seed=seed, transform=transform)


@dataclass
class RunResult:
    run_dir: Path
    history: list[dict[str, Any]]
    test_accuracy: float
    best_accuracy: float


def check_run_dir(config: RunConfig, resume: bool) -> Path:
    """The run folder, checked but not created: resuming needs a checkpoint there, a new run needs none."""
    run_dir = Path(config.out)
    has_checkpoint = (run_dir / "last.safetensors").exists()
    if resume and not has_checkpoint:
        raise FileNotFoundError(f"nothing to resume: {run_dir} has no last.safetensors")
    if not resume and has_checkpoint:
        raise FileExistsError(f"{run_dir} already holds a run; continue it with --resume, "
                              "or choose another folder with --out")
    return run_dir


def settings_for_resume(given: RunConfig, run_dir: Path, log) -> RunConfig:
    """A resumed run keeps the settings in its config.json; options given that differ from them are named.

    Only the run folder and, when given, the data folder come from the new command line.
    """
    stored = RunConfig(**json.loads((run_dir / "config.json").read_text()))
    defaults = RunConfig()
    ignored = [name for name in asdict(given) if name not in ("out", "data_dir")
               and getattr(given, name) != getattr(stored, name) and getattr(given, name) != getattr(defaults, name)]
    if ignored:
        options = ", ".join("--" + name.replace("_", "-") for name in ignored)
        log(f"note: resuming with the run's own settings (config.json); ignoring {options}")
    stored.out = given.out
    stored.data_dir = given.data_dir or stored.data_dir
    return stored


def train(config: RunConfig, resume: bool = False, progress: bool = True, log=print) -> RunResult:
    """Run (or resume) a classification training as described by config; returns the history."""
    import cnnkit
    from cnnkit import nn

    run_dir = check_run_dir(config, resume)
    if resume:
        config = settings_for_resume(config, run_dir, log)
    config.validate()
    train_set, test_set, info = load_classification_data(config.dataset, config.data_dir)
    cnnkit.manual_seed(config.seed)
    model = build_model(config, info)
    optimizer = build_optimizer(config, model)
    steps_per_epoch = -(-len(train_set) // config.batch_size)
    scheduler = build_scheduler(config, optimizer, steps_per_epoch)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    history: list[dict[str, Any]] = []
    best, start_epoch = 0.0, 1
    if resume:
        checkpoint = load_checkpoint(run_dir / "last.safetensors")
        model.load_state_dict(checkpoint.model_state)
        optimizer.load_state_dict(checkpoint.optimizer_state)
        if scheduler is not None and checkpoint.meta.get("scheduler"):
            scheduler.load_state_dict(checkpoint.meta["scheduler"])
        history, best = checkpoint.meta["history"], checkpoint.meta["best_accuracy"]
        start_epoch = checkpoint.meta["epoch"] + 1
        log(f"resuming {run_dir} after epoch {start_epoch - 1} of {config.epochs}" if start_epoch <= config.epochs
            else f"{run_dir} is already complete ({config.epochs} of {config.epochs} epochs); nothing to train")
    else:
        run_dir.mkdir(parents=True, exist_ok=True)  # only now: a bad option or missing data leaves no folder
        atomic_write_text(run_dir / "config.json", json.dumps(asdict(config), indent=2))
    test_loader = _loader(test_set, config.eval_batch_size, False, 0, batch_transforms(config, info, False))
    for epoch in range(start_epoch, config.epochs + 1):
        cnnkit.manual_seed(epoch_seed(config.seed, epoch, 1))  # augmentation and dropout of this epoch
        train_loader = _loader(train_set, config.batch_size, True, epoch_seed(config.seed, epoch, 0),
                               batch_transforms(config, info, True))
        lr = optimizer.param_groups[0]["lr"]
        stats = train_epoch(model, train_loader, optimizer, loss_fn, epoch=epoch, scheduler=scheduler,
                            progress=progress, description=f"epoch {epoch}/{config.epochs}")
        result = evaluate(model, test_loader, loss_fn)
        row = {"epoch": epoch, "train_loss": round(stats.loss, 6), "train_accuracy": round(stats.accuracy, 6),
               "test_loss": round(result.loss, 6), "test_accuracy": round(result.accuracy, 6), "lr": lr,
               "seconds": round(stats.seconds, 2), "images_per_second": round(stats.images_per_second, 1)}
        history.append(row)
        log(f"epoch {epoch:3d}  train loss {stats.loss:.4f}  train acc {stats.accuracy:.4f}  "
            f"test loss {result.loss:.4f}  test acc {result.accuracy:.4f}  ({stats.seconds:.1f} s, "
            f"{stats.images_per_second:.0f} img/s)")
        meta = {"kind": "classification", "config": asdict(config), "data": info.to_dict(), "epoch": epoch,
                "history": history, "best_accuracy": max(best, result.accuracy),
                "scheduler": scheduler.state_dict() if scheduler is not None else None}
        if result.accuracy > best:
            best = result.accuracy
            save_checkpoint(run_dir / "best.safetensors", model.state_dict(), None, meta)
        save_checkpoint(run_dir / "last.safetensors", model.state_dict(), optimizer.state_dict(), meta)
        write_history(run_dir, history)
    final = history[-1]["test_accuracy"] if history else 0.0
    return RunResult(run_dir, history, final, best)


def default_out(model: str, dataset: str, root: str | os.PathLike = "runs") -> str:
    return str(Path(root) / f"{model}-{dataset}")

"""Where a trained model came from: the `cnnkit train` command that reproduces its run, and the run's wall time.

Shipped weights carry both in their JSON metadata (`cnnkit export` writes them), so that a figure quoted for a
file can be traced to the command that trained it and the time that took. The command is rendered from the
run's stored configuration with every setting spelled out, not only the ones given at the time, so that it
trains the same recipe even if a default changes later; where the data were read from (`--data-dir`) and the
run folder (`--out`) are left to the user.
"""

from __future__ import annotations

import json
import shlex
from typing import Any

# (config key, option) in the order `cnnkit train --help` lists them; JSON-valued settings are written as JSON
OPTIONS = (("task", "--task"), ("model", "--model"), ("model_args", "--model-args"), ("dataset", "--dataset"),
           ("data_args", "--data-args"), ("epochs", "--epochs"), ("batch_size", "--batch-size"), ("lr", "--lr"),
           ("optimizer", "--optimizer"), ("momentum", "--momentum"), ("weight_decay", "--weight-decay"),
           ("schedule", "--schedule"), ("augment", "--augment"), ("warmup_fraction", "--warmup-fraction"),
           ("label_smoothing", "--label-smoothing"), ("mixup_alpha", "--mixup-alpha"),
           ("cutmix_alpha", "--cutmix-alpha"), ("ema", "--ema"), ("loss_args", "--loss-args"),
           ("val_split", "--val-split"), ("seed", "--seed"))


def training_command(config: dict[str, Any]) -> str:
    """The `cnnkit train` command line that trains the run described by `config` (a stored RunConfig).

    A setting the run did not store (it predates the option) is RunConfig's default, as `RunConfig.from_stored`
    reads it: the value that run trained with, which a task's own default may since have changed."""
    from dataclasses import asdict

    from cnnkit.training.run import RunConfig  # late: predict and eval import this module, and need no trainer

    stored = {**asdict(RunConfig()), **config}
    words = ["cnnkit", "train"]
    for key, option in OPTIONS:
        value = stored.get(key)
        if value is None or value == {}:  # val_split None: the task's default split; {}: no extra arguments
            continue
        words += [option, json.dumps(value, sort_keys=True) if isinstance(value, dict) else str(value)]
    return shlex.join(words)


def wall_seconds(history: list[dict[str, Any]]) -> float:
    """The run's time: the sum of its epochs' training and validation seconds (not the start-up, nor the time to
    load the data). Histories written before validation was timed hold the training seconds alone."""
    return round(sum(float(row.get("seconds", 0.0)) + float(row.get("eval_seconds", 0.0)) for row in history), 1)

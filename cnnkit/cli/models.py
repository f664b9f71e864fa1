"""`cnnkit models`: the zoo, with each model's default input shape and parameter count, then what each training task
trains when its options are left out (the model with the task's own arguments, e.g. the U-Net at depth 4)."""

from __future__ import annotations

import argparse
import json


def add_parser(sub) -> None:
    p = sub.add_parser("models", help="list the model zoo and each task's default model",
                       description="List the zoo's models, then the model each `cnnkit train --task` trains by "
                                   "default, with the arguments and parameter count of that model.")
    p.set_defaults(run=run)


def task_models_table() -> str:
    """One row per task: its default model, the model arguments it passes and the parameters that model has.

    The counts come from building each model as the trainer does, so they follow the tasks' defaults."""
    from cnnkit.models import get_model, model_info
    from cnnkit.training.run import RunConfig
    from cnnkit.training.tasks import TASKS

    lines = [f"{'task':<10}{'model':<18}{'params':>12}  {'dataset':<16}model arguments"]
    for name in TASKS:
        config = RunConfig.for_task(name)
        info = model_info(config.model)
        params = sum(p.numel() for p in get_model(config.model, **config.model_args).parameters())
        arguments = json.dumps(config.model_args) if config.model_args else "(the zoo's defaults)"
        lines.append(f"{name:<10}{info.name:<18}{params:>12,}  {config.dataset:<16}{arguments}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from cnnkit.models import format_models

    print(format_models())
    print("\nWhat `cnnkit train --task TASK` trains when --model and --model-args are left out:")
    print(task_models_table())
    return 0

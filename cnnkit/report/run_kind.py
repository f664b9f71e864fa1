"""Which report page a run folder gets: the kind of model it holds ("classification", "segmentation", "detection",
"generation"), read without loading any weights, and the checks every page needs first (the folder, its
config.json, a checkpoint to evaluate), each failing with one message naming the folder."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

CHECKPOINTS = ("best.safetensors", "last.safetensors")


def checkpoint_kind(run_dir: str | os.PathLike, default: str = "classification") -> str:
    """The `kind` stored in a run folder's checkpoint metadata (`default` when absent or unreadable), read from
    the readable copy beside it (best.json, else last.json) without loading any weights."""
    for name in ("best.json", "last.json"):
        path = Path(run_dir) / name
        if path.is_file():
            try:
                return str(json.loads(path.read_text()).get("kind", default))
            except (OSError, json.JSONDecodeError):
                break
    return default


def read_config(run_dir: Path) -> dict[str, Any]:
    """config.json of a run folder; a missing folder or file, or one that is not JSON, is refused by name."""
    if not run_dir.is_dir():
        raise FileNotFoundError(f"no such run folder: {run_dir}")
    path = run_dir / "config.json"
    if not path.is_file():
        raise FileNotFoundError(f"{run_dir} has no config.json: is it a cnnkit run folder?")
    try:
        config = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not valid JSON ({err})") from None
    if not isinstance(config, dict):
        raise ValueError(f"{path} should hold an object of settings, got {type(config).__name__}")
    return config


def run_kind(run_dir: str | os.PathLike) -> str:
    """The kind of a run folder's model: its checkpoint's `kind`; refused when the task is unknown or when no
    epoch has finished yet (no checkpoint), since every page evaluates or samples the trained model."""
    from cnnkit.training.tasks import TASKS

    run_dir = Path(run_dir)
    task = read_config(run_dir).get("task", "classify")  # runs from before --task were classifiers
    if task not in TASKS:
        raise ValueError(f"{run_dir} is a {task!r} run; reports cover the tasks {', '.join(sorted(TASKS))}")
    if not any((run_dir / name).is_file() for name in CHECKPOINTS):
        raise FileNotFoundError(
            f"{run_dir} (a {task!r} run) holds no checkpoint ({' or '.join(CHECKPOINTS)}): a report needs "
            "at least one finished epoch"
        )
    return checkpoint_kind(run_dir, default=TASKS[task].kind)

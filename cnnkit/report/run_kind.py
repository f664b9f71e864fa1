"""Which report page a run gets: the kind of model it holds ("classification", "segmentation", "detection",
"generation"), from a run folder's checkpoint metadata without loading any weights, or from the metadata of a
weights file written by `cnnkit export`; the checks every page needs first (the folder, its config.json, a
checkpoint to evaluate; a file cnnkit wrote), each failing with one message naming the folder or file; and where
the page is written.
"""

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
    """The kind of a run's model: its checkpoint's `kind`; refused when the task is unknown or when no epoch has
    finished yet (no checkpoint), since every page evaluates or samples the trained model. `run_dir` is a run
    folder or a weights file written by `cnnkit export`."""
    from cnnkit.training.tasks import TASKS

    run_dir = Path(run_dir)
    if run_dir.is_file() or run_dir.suffix == ".safetensors":
        return exported_kind(run_dir)
    task = reported_task(read_config(run_dir), run_dir)
    if not any((run_dir / name).is_file() for name in CHECKPOINTS):
        raise FileNotFoundError(
            f"{run_dir} (a {task!r} run) holds no checkpoint ({' or '.join(CHECKPOINTS)}): a report needs "
            "at least one finished epoch"
        )
    return checkpoint_kind(run_dir, default=TASKS[task].kind)


def exported_kind(path: Path) -> str:
    """The kind of the model in a weights file, from the metadata in its header (its `kind`, else its task's)."""
    from cnnkit.training.tasks import TASKS

    if not path.exists():
        raise FileNotFoundError(f"no such weights file: {path}")
    meta = exported_meta(path)
    config = meta.get("config") if isinstance(meta.get("config"), dict) else {}
    return str(meta.get("kind", TASKS[reported_task(config, path)].kind))


def exported_meta(path: Path) -> dict[str, Any]:
    """The metadata of a weights file written by `cnnkit export` (or of a checkpoint); any other file is refused
    in one line naming it."""
    from cnnkit.serialization import CheckpointError
    from cnnkit.training.checkpoint import load_checkpoint

    try:
        return load_checkpoint(path).meta
    except CheckpointError:
        if path.suffix == ".json":  # the readable copy beside a checkpoint: its message names the file to pass
            raise
        raise CheckpointError(f"{path} is neither a run folder nor a weights file written by `cnnkit export`") from None


def reported_task(config: dict[str, Any], source: Path) -> str:
    """The run's task ("classify" for runs from before --task); one that no page covers is refused by name."""
    from cnnkit.training.tasks import TASKS

    task = config.get("task", "classify")
    if task not in TASKS:
        raise ValueError(f"{source} is a {task!r} run; reports cover the tasks {', '.join(sorted(TASKS))}")
    return task


def report_folder(source: str | os.PathLike, out_dir: str | os.PathLike | None = None) -> Path:
    """Where a page goes (report.html, and its figures in report/): `out_dir` when given, else the run folder
    itself, else, for a weights file, NAME-report in the current folder (the file's own folder may be an
    installed package's, not a place to write into)."""
    if out_dir is not None:
        return Path(out_dir)
    source = Path(source)
    return source if source.is_dir() else Path(f"{source.stem}-report")

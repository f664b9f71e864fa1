"""Everything a report shows about a run, loaded once: settings, history, the best model, its test-set results.

A run is a run folder or a weights file written by `cnnkit export` (`open_run`): the file's metadata holds the
same settings and the history up to the exported epoch. The model is the run's best checkpoint (else its last),
or the file's weights, rebuilt as `cnnkit eval` rebuilds it, and the test set is the run's own dataset, found as
`cnnkit eval` finds it (`data_dir`, else the run's `--data-dir`, else the usual search), normalised with the mean
and std stored in the checkpoint, as in training's evaluation. Classification runs only: the other tasks' data
are `segmentation_data.py`'s, `detection_data.py`'s and `generation_data.py`'s.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cnnkit.training.datasets import DataInfo
from cnnkit.training.loop import Evaluation


@dataclass
class RunFolder:
    """What every report page knows of its run; each task's loader extends it with its own results."""

    run_dir: Path
    config: dict[str, Any]
    history: list[dict[str, Any]]
    model: Any  # in eval mode
    meta: dict[str, Any]  # the checkpoint's metadata
    info: DataInfo

    @property
    def classes(self) -> list[str]:
        return self.info.classes

    @property
    def exported(self) -> bool:
        """Whether the run was read from a weights file (`cnnkit export`) rather than a run folder."""
        return self.run_dir.is_file()


@dataclass
class RunData(RunFolder):
    test_set: Any
    transform: Any  # the evaluation batch transform (normalisation)
    evaluation: Evaluation
    confusion: np.ndarray


def open_run(path: str | os.PathLike) -> RunFolder:
    """What every page loads first: the settings, the history and the model with its checkpoint's metadata, from a
    run folder (config.json, history.json, the best checkpoint, else the last) or from an exported weights file."""
    from cnnkit.report.run_kind import read_config
    from cnnkit.training.history import read_history
    from cnnkit.training.restore import load_trained_model

    path = Path(path)
    if path.is_dir():
        config, history = read_config(path), read_history(path)
        model, meta, info = load_trained_model(path)
    else:
        model, meta, info = load_trained_model(path)
        config, history = dict(meta["config"]), exported_history(meta, path)
    return RunFolder(path, config, history, model, meta, info)


def exported_history(meta: dict[str, Any], path: Path) -> list[dict[str, Any]]:
    """The history rows an exported file's metadata holds; none is refused by name, since every page draws its
    curves and its facts about training from them."""
    from cnnkit.serialization import CheckpointError

    history = meta.get("history")
    if not isinstance(history, list) or not history or not all(isinstance(row, dict) for row in history):
        raise CheckpointError(f"{path}: its metadata holds no training history (one row per epoch), which a report "
                              "draws its curves from")
    return history


def history_facts(run: RunFolder, last_name: str, last_value: str) -> list[tuple[str, str]]:
    """The results' rows about training: epochs trained, `last_name` of the last epoch (`last_value`), the time.

    An exported file keeps the history up to its own epoch; when its provenance says the run went on, the rows say
    so rather than pass the exported epoch off as the final one."""
    history = run.history
    seconds = sum(float(row.get("seconds", 0)) for row in history)
    provenance = run.meta.get("provenance") if run.exported else None
    epochs_run = provenance.get("epochs_run") if isinstance(provenance, dict) else None
    if not isinstance(epochs_run, int) or epochs_run <= len(history):
        return [("epochs trained", str(len(history))), (f"final epoch: {last_name}", last_value),
                ("training time", f"{seconds:.0f} s")]  # fmt: skip
    kept, wall = len(history), provenance.get("wall_seconds")
    whole = f" ({wall:.0f} s for all {epochs_run}, validation included)" if isinstance(wall, int | float) else ""
    return [
        ("epochs trained", f"{epochs_run} (the file keeps the history of the first {kept}, up to its checkpoint)"),
        (f"epoch {history[-1].get('epoch', kept)}, the last the file keeps: {last_name}", last_value),
        ("training time", f"{seconds:.0f} s for those {kept} epochs{whole}"),
    ]


def load_run(run_dir: str | os.PathLike, data_dir: str | None = None, batch_size: int = 1000) -> RunData:
    """Load a run folder or exported weights file and evaluate its model on the test set."""
    from cnnkit.data import DataLoader
    from cnnkit.data.transforms import Normalize
    from cnnkit.metrics import confusion_matrix
    from cnnkit.training.datasets import data_dir_for_run, load_classification_data
    from cnnkit.training.loop import evaluate
    from cnnkit.training.run import RunConfig

    run = open_run(run_dir)
    where = run.run_dir / "config.json" if not run.exported else f"{run.run_dir} (its metadata's config)"
    RunConfig.from_stored(run.config, where)  # a setting of the wrong type is named here, not deep inside
    task = run.config.get("task", "classify")
    if task != "classify":
        raise ValueError(
            f"report: {run.run_dir} is a {task!r} run; load_run reads classification runs ('classify'), write_report "
            "picks the page of the other tasks"
        )
    data_dir = data_dir_for_run(data_dir, run.config.get("data_dir"), run.info.dataset)
    _, test_set, _ = load_classification_data(run.info.dataset, data_dir)
    transform = Normalize(run.info.mean, run.info.std)
    loader = DataLoader(test_set, batch_size=batch_size, shuffle=False, transform=transform)
    evaluation = evaluate(run.model, loader)
    confusion = confusion_matrix(evaluation.predictions, evaluation.targets, len(run.info.classes))
    return RunData(**vars(run), test_set=test_set, transform=transform, evaluation=evaluation,
                   confusion=np.asarray(confusion))  # fmt: skip

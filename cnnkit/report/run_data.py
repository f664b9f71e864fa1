"""Everything a report shows about a run, loaded once: settings, history, the best model, its test-set results.

The model is the run's best checkpoint (else its last), rebuilt as `cnnkit eval` rebuilds it, and the test set
is the run's own dataset, found as `cnnkit eval` finds it (`data_dir`, else the run's `--data-dir`, else the
usual search), normalised with the mean and std stored in the checkpoint, as in training's evaluation.
Classification runs only: the other tasks' data are `segmentation_data.py`'s, `detection_data.py`'s and
`generation_data.py`'s.
"""

from __future__ import annotations

import json
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


@dataclass
class RunData(RunFolder):
    test_set: Any
    transform: Any  # the evaluation batch transform (normalisation)
    evaluation: Evaluation
    confusion: np.ndarray


def load_run(run_dir: str | os.PathLike, data_dir: str | None = None, batch_size: int = 1000) -> RunData:
    """Load a run folder and evaluate its best checkpoint on the test set."""
    from cnnkit.data import DataLoader
    from cnnkit.data.transforms import Normalize
    from cnnkit.metrics import confusion_matrix
    from cnnkit.training.datasets import data_dir_for_run, load_classification_data
    from cnnkit.training.history import read_history
    from cnnkit.training.loop import evaluate
    from cnnkit.training.restore import load_trained_model
    from cnnkit.training.run import RunConfig

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"no such run folder: {run_dir}")
    config_path = run_dir / "config.json"
    if not config_path.is_file():
        raise FileNotFoundError(f"{run_dir} has no config.json: is it a cnnkit run folder?")
    config = json.loads(config_path.read_text())
    RunConfig.from_stored(config, config_path)  # a setting of the wrong type is named here, not deep inside
    task = config.get("task", "classify")
    if task != "classify":
        raise ValueError(
            f"report: {run_dir} is a {task!r} run; load_run reads classification runs ('classify'), write_report "
            "picks the page of the other tasks"
        )
    history = read_history(run_dir)
    model, meta, info = load_trained_model(run_dir)
    data_dir = data_dir_for_run(data_dir, config.get("data_dir"), info.dataset)
    _, test_set, _ = load_classification_data(info.dataset, data_dir)
    transform = Normalize(info.mean, info.std)
    loader = DataLoader(test_set, batch_size=batch_size, shuffle=False, transform=transform)
    evaluation = evaluate(model, loader)
    confusion = confusion_matrix(evaluation.predictions, evaluation.targets, len(info.classes))
    return RunData(run_dir, config, history, model, meta, info, test_set, transform, evaluation, np.asarray(confusion))

"""Everything a report shows about a segmentation run, loaded once: settings, history, the best model, and its
predictions on the test split of its scenes with the whole-split confusion.

The model and the data are found as `cnnkit eval` finds them: the run's best checkpoint (else its last), or an
exported weights file's (`run_data.open_run`), its stored config (with `data_dir` replaced when given), the task's
test split and evaluation batches (normalised with the checkpoint's mean and std). The test split's every
prediction is kept (uint8, one byte a pixel), so the figures can pick any scene, the hardest ones included,
without a second pass.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from cnnkit.metrics.segmentation import SegmentationConfusion
from cnnkit.report.run_data import RunFolder, open_run

IGNORE_INDEX = 255


@dataclass
class SegmentationRun(RunFolder):
    images: np.ndarray  # uint8 or float (N, H, W): the test scenes as stored
    masks: np.ndarray  # (N, H, W) ground truth, 255 = ignore
    predictions: np.ndarray  # uint8 (N, H, W)
    confusion: SegmentationConfusion

    def scene_errors(self) -> np.ndarray:
        """float (N,): each test scene's share of wrongly labelled pixels (ignore pixels not counted)."""
        counted = self.masks != IGNORE_INDEX
        wrong = (self.predictions != self.masks) & counted
        return wrong.sum(axis=(1, 2)) / np.maximum(counted.sum(axis=(1, 2)), 1)


def load_segmentation_run(
    run_dir: str | os.PathLike, data_dir: str | None = None, batch_size: int = 100
) -> SegmentationRun:
    """Load a segmentation run folder or exported weights file and predict every scene of its test split."""
    from cnnkit.training.datasets import data_dir_for_run
    from cnnkit.training.run import RunConfig, evaluation_loader
    from cnnkit.training.tasks import get_task

    run = open_run(run_dir)
    run_config = RunConfig.from_stored(dict(run.meta["config"]), f"{run.run_dir} (its checkpoint's config)")
    run_config.data_dir = data_dir_for_run(data_dir, run_config.data_dir, run_config.dataset)
    task = get_task(run_config.task)
    _, test_set, _ = task.load_data(run_config, split="test")
    predictions = predict(run.model, evaluation_loader(task, run_config, run.info, test_set, batch_size))
    masks = np.asarray(test_set.targets)
    confusion = SegmentationConfusion(len(run.info.classes), ignore_index=IGNORE_INDEX)
    confusion.update(predictions, masks)
    return SegmentationRun(**vars(run), images=np.asarray(test_set.data), masks=masks, predictions=predictions,
                           confusion=confusion)  # fmt: skip


def predict(model: Any, loader: Any) -> np.ndarray:
    """uint8 (N, H, W): the argmax class of every pixel of every batch, without recording a graph."""
    from cnnkit.autograd import no_grad

    parts = []
    with no_grad():
        for images, _ in loader:
            parts.append(model(images)._data.argmax(axis=1).astype(np.uint8))
    return np.concatenate(parts)

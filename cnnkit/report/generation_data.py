"""Everything a report shows about a diffusion run (`--task generate`), loaded once: settings, history, the best
model (its EMA weights sample), the task's settings, and the newest grid of samples the trainer drew.

No test pass: the run's score, eps_r2 = 1 − ε-MSE of the EMA network on the validation split (the last training
images; the first `eval_images` test images in runs made before generation held out a validation split) with
fixed t and ε draws, is deterministic, so the history row of the best epoch is what evaluating the best
checkpoint again would give. The quality table of `cnnkit eval` (FID and the rest) samples thousands of images and
is printed, not stored in the run folder, so there is nothing of it to load. An exported weights file
(`run_data.open_run`) holds no sample grids.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cnnkit.report.run_data import RunFolder, open_run

GRID_NAME = re.compile(r"epoch-(\d+)\.png")


@dataclass
class GenerationRun(RunFolder):  # model: the GaussianDiffusion, in eval mode
    task_args: dict[str, Any]  # --data-args with the task's defaults (eval_images, grid_steps, grid_guidance, …)
    grid: Path | None  # RUN/samples/epoch-NNN.png of the newest epoch, None when the trainer drew none
    grid_epoch: int | None

    @property
    def split(self) -> str | None:
        """The split the epochs were scored on: "val", "test" in runs made before a validation split was held
        out, None when nothing was held out (--val-split 0: the last epoch is kept)."""
        for split in ("val", "test"):
            if any(f"{split}_eps_r2" in row for row in self.history):
                return split
        return None

    def best_row(self) -> dict[str, Any]:
        """The history row of the checkpoint's epoch (empty when the history lacks it)."""
        epoch = self.meta.get("epoch")
        return next((row for row in self.history if row.get("epoch") == epoch), {})


def newest_grid(run_dir: Path) -> tuple[Path | None, int | None]:
    """(RUN/samples/epoch-NNN.png with the largest NNN, NNN), or (None, None) when there is none."""
    names = ((GRID_NAME.fullmatch(p.name), p) for p in (run_dir / "samples").glob("epoch-*.png"))
    found = [(int(match.group(1)), path) for match, path in names if match and path.is_file()]  # not a folder
    if not found:
        return None, None
    epoch, path = max(found)
    return path, epoch


def load_generation_run(run_dir: str | os.PathLike) -> GenerationRun:
    """Load a diffusion run folder (its best checkpoint, else its last, history and newest sample grid) or
    exported weights file (its weights and history)."""
    from cnnkit.training.run import RunConfig
    from cnnkit.training.tasks.generation import data_args

    run = open_run(run_dir)
    task_args = data_args(RunConfig.from_stored(run.meta["config"], f"{run.run_dir} (its checkpoint's config)"))
    grid, grid_epoch = (None, None) if run.exported else newest_grid(run.run_dir)
    return GenerationRun(**vars(run), task_args=task_args, grid=grid, grid_epoch=grid_epoch)

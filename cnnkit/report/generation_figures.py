"""The figures of a diffusion run's report, written as PNG files into one folder, each with its section and
caption: the loss curves, a grid of samples (one row per class) and the denoising trajectory x_T … x_0 of a few
samples.

Sampling is what costs here (a forward pass of the ~1 M-parameter network on 128 images takes seconds), so the
grid is the newest one the trainer already drew (RUN/samples/epoch-NNN.png, copied); only a run without one
(grid_per_class 0) or an exported weights file gets a grid drawn here, one sample per class. The trajectory is
at most TRAJECTORY_MAX samples of DDIM with TRAJECTORY_STEPS steps and seed SEED, the EMA weights and the run's
grid guidance, every state kept, so the same checkpoint draws the same picture.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from cnnkit.diffusion.samplers import Sampling
from cnnkit.report.figures import FigureFile
from cnnkit.report.generation_data import GenerationRun
from cnnkit.report.history_curves import plot_history

SECTIONS = ("Training curves", "Samples", "Denoising trajectory")
TRAJECTORY_MAX = 6
TRAJECTORY_STEPS = 10
SEED = 0


def _columns(split: str) -> tuple[tuple, tuple]:
    """(loss columns, score columns) of the history, whose scored split is `split` ("val" or "test")."""
    losses = (("train_loss", "train (online weights)"), (f"{split}_loss", f"{split} (EMA weights)"))
    return losses, ((f"{split}_eps_r2", f"{split} eps_r2 = 1 − ε-MSE"),)


def generation_figures(run: GenerationRun, folder: Path, images: int = 3) -> list[FigureFile]:
    """Write every figure of a diffusion report into folder; the trajectory shows min(images, 6) samples."""
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{run.config.get('model', 'model')} on {run.info.dataset}"
    losses, scores = _columns(run.split or "val")  # no held-out split: the train loss alone, nothing marked
    figures = [
        FigureFile(
            "Training curves",
            plot_history(run.history, folder / "curves.png", losses, scores, run.split and scores[0][0],
                         f"{name}: training",
                         loss_label="ε-MSE (the loss)"),
            f"the loss (mean square of the ε-residual) per epoch and the {run.split} score eps_r2, the share of the "
            "noise's variance predicted (the best picks the checkpoint)" if run.split else
            "the loss (mean square of the ε-residual) per epoch; nothing was held out, so the last epoch is kept",
        )
    ]  # fmt: skip
    count = min(images, TRAJECTORY_MAX)
    conditional = run.model.num_classes is not None
    sampled = sample(run, _sample_count(run, count, conditional))  # one sampling pass for the trajectory and grid
    figures.append(_grid(run, folder / "samples.png", sampled, conditional))
    figures.append(_trajectory(run, folder / "trajectory.png", sampled, count, conditional))
    return figures


def _sample_count(run: GenerationRun, count: int, conditional: bool) -> int:
    """The trajectory's samples; without an epoch grid, also the report's grid: one per class, or 8 unconditional."""
    if run.grid is not None:
        return count
    return max(len(run.classes) if conditional else 8, count)


def guidance(run: GenerationRun) -> float:
    """The guidance weight of the run's epoch grids for a class-conditional model, 0 for an unconditional one."""
    return float(run.task_args["grid_guidance"]) if run.model.num_classes is not None else 0.0


def steps(run: GenerationRun) -> int:
    return min(TRAJECTORY_STEPS, run.model.schedule.timesteps)


def sample(run: GenerationRun, n: int) -> Sampling:
    """n samples of DDIM (EMA weights, seed SEED) with every state kept; labels 0, 1, 2, … when conditional."""
    from cnnkit.diffusion.generate import generate

    labels = np.arange(n) % len(run.classes) if run.model.num_classes is not None else None
    return generate(
        run.model,
        n,
        labels=labels,
        guidance=guidance(run),
        steps=steps(run),
        seed=SEED,
        trajectory=steps(run) + 1,
        image_shape=tuple(run.info.input_shape),
    )


def _grid(run: GenerationRun, path: Path, sampled: Sampling, conditional: bool) -> FigureFile:
    from cnnkit.diffusion.pictures import save_sample_grid

    if run.grid is not None:
        shutil.copyfile(run.grid, path)
        how = f"DDIM-{run.task_args['grid_steps']}" + (f", guidance {guidance(run):g}" if conditional else "")
        rows = "one row per class" if conditional else "unconditional"
        return FigureFile(
            "Samples",
            path,
            f"the grid the trainer drew after epoch {run.grid_epoch} ({run.grid.relative_to(run.run_dir)}): EMA "
            f"weights of that epoch, {how}, {rows}, the same noise every epoch",
        )
    how = f"DDIM-{steps(run)}, seed {SEED}" + (f", guidance {guidance(run):g}" if conditional else "")
    title = f"epoch {run.meta.get('epoch', '?')}: EMA weights, {how}"
    save_sample_grid(
        sampled.images,
        path,
        cols=1 if conditional else 8,
        row_labels=[run.classes[k % len(run.classes)] for k in range(len(sampled.images))] if conditional else None,
        title=title,
    )
    if run.exported:
        why = "a weights file keeps no epoch grid"
    else:
        why = "the run wrote no epoch grid" + (" (grid_per_class 0)" if conditional else "")
    drawn = "one sample per class" if conditional else f"{len(sampled.images)} unconditional samples"
    return FigureFile("Samples", path, f"{drawn} drawn for this report ({how}): {why}")


def _trajectory(run: GenerationRun, path: Path, sampled: Sampling, count: int, conditional: bool) -> FigureFile:
    from cnnkit.diffusion.pictures import save_trajectory

    how = f"DDIM-{steps(run)}, seed {SEED}" + (f", guidance {guidance(run):g}" if conditional else "")
    save_trajectory(sampled.trajectory, path, samples=count, title=f"x_T … x_0: {how}")
    rows = ", ".join(run.classes[k % len(run.classes)] for k in range(count)) if conditional else "unconditional"
    return FigureFile(
        "Denoising trajectory",
        path,
        f"{count} samples (rows: {rows}) from pure noise x_T to the image x_0, every DDIM state (columns: noise "
        f"level t); EMA weights of the checkpoint of epoch {run.meta.get('epoch', '?')}, {how}",
    )

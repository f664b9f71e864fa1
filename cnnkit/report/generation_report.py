"""`write_generation_report(run_dir)`: the report page of a diffusion run (`--task generate`), `RUN_DIR/report.html`.

The same kind of page as the other tasks' (built from `html.py`): the results (the best checkpoint's eps_r2
and ε-MSE from the history, the model's schedule and conditioning, and where the quality table is), the run's
settings, the model summary, and the figures of `generation_figures.py`, written into `RUN_DIR/report/` and
embedded in the page as base64 (an exported weights file's page goes to `out_dir`, see `run_report.py`).
`cnnkit eval RUN` prints the quality table (FID against baselines, label agreement, coverage, copy check) without
storing it, so the page names the command instead of showing it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from cnnkit.report import html
from cnnkit.report.figures import FigureFile
from cnnkit.report.generation_data import GenerationRun, load_generation_run
from cnnkit.report.generation_figures import SECTIONS, generation_figures
from cnnkit.report.run_data import history_facts
from cnnkit.report.run_kind import report_folder
from cnnkit.serialization import atomic_write_text

QUALITY_NOTE = (
    "not stored in the run folder: `cnnkit eval RUN` prints it (FID against baselines, label agreement, coverage, "
    "copy check), sampling thousands of images, which a report does not"
)


def write_generation_report(
    run_dir: str | os.PathLike,
    images: int = 3,
    log: Callable[[str], None] = print,
    out_dir: str | os.PathLike | None = None,
) -> Path:
    """Load the run's best checkpoint, draw the figures (a trajectory of min(images, 6) samples), write
    RUN_DIR/report.html (or OUT_DIR/report.html, `run_kind.report_folder`)."""
    from cnnkit.summary import summary

    if images < 1:
        raise ValueError(f"report: --images must be at least 1, got {images}")
    run = load_generation_run(run_dir)
    best = run.best_row()
    split = run.split
    scored = f"{split} eps_r2 {best.get(f'{split}_eps_r2', float('nan')):.4f}" if split else "nothing held out"
    log(f"report: {run.run_dir}: {scored}; sampling and drawing figures")
    table = summary(run.model, tuple(run.info.input_shape))
    out = report_folder(run.run_dir, out_dir)
    figures = generation_figures(run, out / "report", images=images)
    path = out / "report.html"
    atomic_write_text(path, render(run, str(table), figures))
    return path


def render(run: GenerationRun, summary_text: str, figures: list[FigureFile]) -> str:
    """The page: results, settings, model, then one section per kind of figure."""
    return html.run_page(run, "diffusion", _results(run), summary_text, figures, SECTIONS)


def _results(run: GenerationRun) -> str:
    best, history, model, split = run.best_row(), run.history, run.model, run.split
    if split is None:  # --val-split 0: no score, the last epoch's weights
        headline = f"nothing held out (--val-split 0) · train ε-MSE {best['train_loss']:.4f}" if best else None
    else:
        headline = f"{split} eps_r2 {best[f'{split}_eps_r2']:.4f} · ε-MSE {best[f'{split}_loss']:.4f}" if best else None
    headline = html.paragraph(headline or "no history row", "big")
    scored_on = {"val": "the validation split (training images never trained on)",
                 "test": f"the first {run.task_args['eval_images']:,} test images",
                 None: "nothing: no images were held out (--val-split 0), so the last epoch is kept"}[split]
    last = history[-1] if history else {}
    conditional = model.num_classes is not None
    facts = [
        ("checkpoint", f"epoch {run.meta.get('epoch', '?')} " + (f"(best {split} eps_r2)" if split else "(the last)")),
        (
            "eps_r2",
            f"1 − ε-MSE of the EMA network on {scored_on}, the same t "
            "and ε draws every epoch",
        ),
        ("noise schedule", f"{model.schedule.name}, T = {model.schedule.timesteps} steps"),
        (
            "conditioning",
            f"class-conditional ({len(run.classes)} classes), labels dropped with p = {model.p_uncond:g} for "
            "classifier-free guidance"
            if conditional
            else "unconditional",
        ),
        *history_facts(run, *_final_epoch(last, split)),
        ("quality table", QUALITY_NOTE),
    ]
    return html.section("Results", headline, html.table(None, facts))


def _final_epoch(last: dict, split: str | None) -> tuple[str, str]:
    """The results row of the last epoch's losses (and score, when a split was held out): its name and value."""
    if split is None:
        return "train ε-MSE", f"{last['train_loss']:.4f}" if last else "-"
    return (f"train / {split} ε-MSE, {split} eps_r2",
            f"{last['train_loss']:.4f} / {last[f'{split}_loss']:.4f}, {last[f'{split}_eps_r2']:.4f}" if last else "-")

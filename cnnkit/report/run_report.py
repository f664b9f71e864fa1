"""`write_report(run_dir)`: one self-contained HTML page about a training run, `RUN_DIR/report.html`.

The page shows the results (the best checkpoint evaluated on the test set, per-class accuracy), the run's
settings (config.json), the model summary table, and the figures of `cnnkit.report.figures`. The figures are
written as PNG files into `RUN_DIR/report/` (handy for slides) and embedded in the page as base64, so
report.html alone is complete: it needs neither those files nor a network connection. Segmentation, detection
and diffusion runs get pages of their own (`segmentation_report.py`, `detection_report.py`,
`generation_report.py`), chosen by the kind of the run's checkpoint (`run_kind.py`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from cnnkit.metrics import per_class_accuracy
from cnnkit.report import html
from cnnkit.report.figures import FigureFile, run_figures
from cnnkit.report.run_data import RunData, load_run
from cnnkit.report.run_kind import run_kind
from cnnkit.serialization import atomic_write_text
from cnnkit.viz.curves import SPLIT_NAMES, held_out_split

SECTIONS = (
    "Training curves",
    "Gradient flow",
    "Confusion matrix",
    "Most confident mistakes",
    "Where the model looks",
    "Learned filters",
    "Feature maps",
    "Top patches",
    "Classic kernels",
)


def write_report(
    run_dir: str | os.PathLike,
    data_dir: str | None = None,
    images: int = 3,
    channels: int = 4,
    max_images: int = 10000,
    log: Callable[[str], None] = print,
) -> Path:
    """Evaluate the run's best checkpoint, draw the figures and write RUN_DIR/report.html; returns its path.

    The other kinds of run get their own page: segmentation (`write_segmentation_report`, `images` scenes per
    figure), detection (`write_detection_report`: `images` scenes per figure, the first `max_images` test scenes
    scored) and generation (`write_generation_report`: the trajectory of min(images, 6) samples)."""
    from cnnkit.summary import summary

    if images < 1 or channels < 1 or max_images < 1:
        raise ValueError(
            f"report: --images, --channels and --max-images must be at least 1, got {images}, "
            f"{channels} and {max_images}"
        )
    kind = run_kind(run_dir)  # each task's page lives in its own *_report.py
    if kind == "segmentation":
        from cnnkit.report.segmentation_report import write_segmentation_report

        return write_segmentation_report(run_dir, data_dir=data_dir, images=images, log=log)
    if kind == "detection":
        from cnnkit.report.detection_report import write_detection_report

        return write_detection_report(run_dir, data_dir=data_dir, images=images, max_scenes=max_images, log=log)
    if kind == "generation":
        from cnnkit.report.generation_report import write_generation_report

        return write_generation_report(run_dir, images=images, log=log)
    run = load_run(run_dir, data_dir)
    log(
        f"report: {run.run_dir}: test accuracy {run.evaluation.accuracy:.4f} on {len(run.evaluation.targets)} "
        "images; drawing figures"
    )
    table = summary(run.model, tuple(run.info.input_shape))
    figures = run_figures(run, run.run_dir / "report", table, images=images, channels=channels, max_images=max_images)
    path = run.run_dir / "report.html"
    atomic_write_text(path, render(run, str(table), figures))
    return path


def render(run: RunData, summary_text: str, figures: list[FigureFile]) -> str:
    """The page: results, settings, model, then one section per kind of figure."""
    return html.run_page(run, "run folder", _results(run), summary_text, figures, SECTIONS)


def _results(run: RunData) -> str:
    evaluation, history = run.evaluation, run.history
    accuracy = evaluation.accuracy
    headline = html.paragraph(f"test accuracy {accuracy:.4f} ({accuracy * 100:.2f} %)", "big")
    best_epoch = run.meta.get("epoch", "?")
    split = held_out_split(history)
    chosen_by = {"val": "best validation accuracy", "test": "best test accuracy: this run chose on the test split",
                 None: "the last epoch: nothing was held out"}[split]
    facts = [
        ("checkpoint evaluated", f"epoch {best_epoch} ({chosen_by})"),
        ("test images", f"{len(evaluation.targets):,}"),
        ("epochs trained", str(len(history))),
        (
            f"final epoch: train / {SPLIT_NAMES[split]} accuracy",
            f"{history[-1]['train_accuracy']:.4f} / {history[-1][f'{split}_accuracy']:.4f}" if history and split
            else "-",
        ),
        ("training time", f"{sum(float(r.get('seconds', 0)) for r in history):.0f} s"),
    ]
    per_class = [
        (name, f"{value:.4f}", f"{int(count):,}")
        for name, value, count in zip(
            run.classes, per_class_accuracy(run.confusion), run.confusion.sum(axis=1), strict=True
        )
    ]
    return html.section(
        "Results",
        headline,
        html.table(None, facts),
        html.table(("class", "accuracy", "test images"), per_class, numeric=(1, 2)),
    )

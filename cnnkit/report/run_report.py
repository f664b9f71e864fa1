"""`write_report(run_dir)`: one self-contained HTML page about a training run, `RUN_DIR/report.html`.

The page shows the results (the best checkpoint evaluated on the test set, per-class accuracy), the run's
settings (config.json), the model summary table, and the figures of `cnnkit.report.figures`. The figures are
written as PNG files into `RUN_DIR/report/` (handy for slides) and embedded in the page as base64, so
report.html alone is complete: it needs neither those files nor a network connection. Segmentation, detection
and diffusion runs get pages of their own (`segmentation_report.py`, `detection_report.py`,
`generation_report.py`), chosen by the kind of the run's checkpoint (`run_kind.py`).

A weights file written by `cnnkit export` gets the same page, from the settings and history in its metadata; it
is written into `out_dir` (default: NAME-report in the current folder, `run_kind.report_folder`), never beside
the file. `out_dir` also moves a run folder's page elsewhere.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from cnnkit.metrics import per_class_accuracy
from cnnkit.report import html
from cnnkit.report.figures import FigureFile, run_figures
from cnnkit.report.run_data import RunData, history_facts, load_run
from cnnkit.report.run_kind import report_folder, run_kind
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
    out_dir: str | os.PathLike | None = None,
) -> Path:
    """Evaluate the run's best checkpoint, draw the figures and write RUN_DIR/report.html; returns its path.

    `run_dir` is a run folder or a weights file written by `cnnkit export`; the page goes to
    OUT_DIR/report.html (default: the run folder, or NAME-report in the current folder for a file). The other
    kinds of run get their own page: segmentation (`write_segmentation_report`, `images` scenes per figure),
    detection (`write_detection_report`: `images` scenes per figure, the first `max_images` test scenes scored)
    and generation (`write_generation_report`: the trajectory of min(images, 6) samples)."""
    from cnnkit.summary import summary

    if images < 1 or channels < 1 or max_images < 1:
        raise ValueError(
            f"report: --images, --channels and --max-images must be at least 1, got {images}, "
            f"{channels} and {max_images}"
        )
    kind = run_kind(run_dir)  # each task's page lives in its own *_report.py
    if kind == "segmentation":
        from cnnkit.report.segmentation_report import write_segmentation_report

        return write_segmentation_report(run_dir, data_dir=data_dir, images=images, log=log, out_dir=out_dir)
    if kind == "detection":
        from cnnkit.report.detection_report import write_detection_report

        return write_detection_report(
            run_dir, data_dir=data_dir, images=images, max_scenes=max_images, log=log, out_dir=out_dir
        )
    if kind == "generation":
        from cnnkit.report.generation_report import write_generation_report

        return write_generation_report(run_dir, images=images, log=log, out_dir=out_dir)
    run = load_run(run_dir, data_dir)
    log(
        f"report: {run.run_dir}: test accuracy {run.evaluation.accuracy:.4f} on {len(run.evaluation.targets)} "
        "images; drawing figures"
    )
    table = summary(run.model, tuple(run.info.input_shape))
    out = report_folder(run.run_dir, out_dir)
    figures = run_figures(run, out / "report", table, images=images, channels=channels, max_images=max_images)
    path = out / "report.html"
    atomic_write_text(path, render(run, str(table), figures))
    return path


def render(run: RunData, summary_text: str, figures: list[FigureFile]) -> str:
    """The page: results, settings, model, then one section per kind of figure."""
    return html.run_page(run, "classification", _results(run), summary_text, figures, SECTIONS)


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
        *history_facts(
            run,
            f"train / {SPLIT_NAMES[split]} accuracy",
            f"{history[-1]['train_accuracy']:.4f} / {history[-1][f'{split}_accuracy']:.4f}" if history and split
            else "-",
        ),
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

"""`write_segmentation_report(run_dir)`: the report page of a segmentation run, `RUN_DIR/report.html`.

The same kind of page as a classification run's (`run_report.py`, built from `html.py`): the results (the best
checkpoint on the test split of its scenes: mean IoU, pixel accuracy, the per-class IoU table, as `cnnkit eval`
prints them), the run's settings, the model summary, and the figures of `segmentation_figures.py`, written into
`RUN_DIR/report/` and embedded in the page as base64. An exported weights file's page goes to `out_dir` (see
`run_report.py`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from cnnkit.report import html
from cnnkit.report.figures import FigureFile
from cnnkit.report.run_data import history_facts
from cnnkit.report.run_kind import report_folder
from cnnkit.report.segmentation_data import SegmentationRun, load_segmentation_run
from cnnkit.report.segmentation_figures import SECTIONS, segmentation_figures
from cnnkit.serialization import atomic_write_text


def write_segmentation_report(
    run_dir: str | os.PathLike,
    data_dir: str | None = None,
    images: int = 3,
    log: Callable[[str], None] = print,
    out_dir: str | os.PathLike | None = None,
) -> Path:
    """Predict the test scenes with the run's best checkpoint, draw the figures, write RUN_DIR/report.html (or
    OUT_DIR/report.html, `run_kind.report_folder`)."""
    from cnnkit.summary import summary

    if images < 1:
        raise ValueError(f"report: --images must be at least 1, got {images}")
    run = load_segmentation_run(run_dir, data_dir)
    log(
        f"report: {run.run_dir}: test mean IoU {run.confusion.mean_iou():.4f}, pixel accuracy "
        f"{run.confusion.pixel_accuracy():.4f} on {len(run.images)} scenes; drawing figures"
    )
    table = summary(run.model, tuple(run.info.input_shape))
    out = report_folder(run.run_dir, out_dir)
    figures = segmentation_figures(run, out / "report", images=images)
    path = out / "report.html"
    atomic_write_text(path, render(run, str(table), figures))
    return path


def render(run: SegmentationRun, summary_text: str, figures: list[FigureFile]) -> str:
    """The page: results, settings, model, then one section per kind of figure."""
    return html.run_page(run, "segmentation", _results(run), summary_text, figures, SECTIONS)


def _results(run: SegmentationRun) -> str:
    confusion, history = run.confusion, run.history
    miou, accuracy = confusion.mean_iou(), confusion.pixel_accuracy()
    scored = int(np.count_nonzero(~np.isnan(confusion.iou())))
    headline = html.paragraph(f"test mean IoU {miou:.4f} · pixel accuracy {accuracy:.4f}", "big")
    last = history[-1] if history else {}
    facts = [
        ("checkpoint evaluated", f"epoch {run.meta.get('epoch', '?')} (best validation mean IoU)"),
        ("test scenes", f"{len(run.images):,}"),
        ("test pixels counted", f"{confusion.total:,} (the ignore band left out)"),
        ("mean IoU over", f"{scored} of {confusion.num_classes} classes (those in truth or prediction)"),
        ("mean class accuracy", _number(confusion.mean_class_accuracy())),
        ("frequency-weighted IoU", _number(confusion.frequency_weighted_iou())),
        *history_facts(
            run,
            "train / val pixel accuracy, val mean IoU",
            f"{last['train_accuracy']:.4f} / {last['val_accuracy']:.4f}, {last['val_miou']:.4f}" if last else "-",
        ),
    ]
    truth, predicted = confusion.matrix.sum(axis=1), confusion.matrix.sum(axis=0)
    per_class = [
        (name, _number(iou), _number(acc), f"{int(t):,}", f"{int(p):,}")
        for name, iou, acc, t, p in zip(
            run.classes, confusion.iou(), confusion.class_accuracy(), truth, predicted, strict=True
        )
    ]
    return html.section(
        "Results",
        headline,
        html.table(None, facts),
        html.table(("class", "IoU", "accuracy", "pixels", "predicted"), per_class, numeric=(1, 2, 3, 4)),
    )


def _number(value: float) -> str:
    return "—" if np.isnan(value) else f"{value:.4f}"

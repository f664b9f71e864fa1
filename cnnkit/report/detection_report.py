"""`write_detection_report(run_dir)`: the report page of a detection run (`--task detect`), `RUN_DIR/report.html`.

The same kind of page as the other tasks' (built from `html.py`): the results (the best checkpoint on the test
scenes: VOC mAP@0.5, COCO mAP@[.5:.95], the per-class table and COCOeval's 12 lines, as `cnnkit eval` prints
them, with the number of scenes scored), the run's settings, the model summary, and the figures of
`detection_figures.py`, written into `RUN_DIR/report/` and embedded in the page as base64. An exported weights
file's page goes to `out_dir` (see `run_report.py`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from cnnkit.metrics.detection_table import coco_lines
from cnnkit.report import html
from cnnkit.report.detection_data import DetectionRun, load_detection_run
from cnnkit.report.detection_figures import DISPLAY_THRESHOLD, SECTIONS, detection_figures
from cnnkit.report.figures import FigureFile
from cnnkit.report.run_data import history_facts
from cnnkit.report.run_kind import report_folder
from cnnkit.serialization import atomic_write_text

SCORED_DETECTIONS = (
    "every detection the evaluation keeps, YOLO's from score 0.01 and propose-classify's from 0.05, not only those "
    f"drawn from {DISPLAY_THRESHOLD:g}"
)


def write_detection_report(
    run_dir: str | os.PathLike,
    data_dir: str | None = None,
    images: int = 3,
    max_scenes: int | None = None,
    log: Callable[[str], None] = print,
    out_dir: str | os.PathLike | None = None,
) -> Path:
    """Score the first max_scenes test scenes (all when None) with the run's best checkpoint, draw the figures
    (`images` scenes per scene figure), write RUN_DIR/report.html (or OUT_DIR/report.html,
    `run_kind.report_folder`)."""
    if images < 1 or (max_scenes is not None and max_scenes < 1):
        raise ValueError(f"report: --images and --max-images must be at least 1, got {images} and {max_scenes}")
    run = load_detection_run(run_dir, data_dir, max_scenes)
    voc, coco = run.evaluator.voc(), run.evaluator.coco()
    log(
        f"report: {run.run_dir}: test VOC mAP@0.5 {voc['map']:.4f}, COCO mAP@[.5:.95] {coco['map']:.4f} on "
        f"{len(run.scenes)} of {run.split_size} scenes ({run.seconds:.1f} s); drawing figures"
    )
    out = report_folder(run.run_dir, out_dir)
    figures = detection_figures(run, out / "report", images=images)
    path = out / "report.html"
    atomic_write_text(path, render(run, model_summary(run), figures))
    return path


def model_summary(run: DetectionRun) -> str:
    """cnnkit.summary's table: of YOLO on one scene; of propose-classify's classifier on one proposal crop (its
    forward takes crops; detect() crops and resizes the proposals of whole scenes)."""
    from cnnkit.detection.propose_classify import CROP_SIZE, ProposeClassify
    from cnnkit.summary import summary

    if not isinstance(run.model, ProposeClassify):
        return str(summary(run.model, tuple(run.info.input_shape)))
    shape = (run.info.input_shape[0], CROP_SIZE, CROP_SIZE)
    note = f"the classifier of the proposals, on one {CROP_SIZE}×{CROP_SIZE} crop (detect() makes ~400 a scene)"
    return f"{note}\n\n{summary(run.model, shape)}"


def render(run: DetectionRun, summary_text: str, figures: list[FigureFile]) -> str:
    """The page: results, settings, model, then one section per kind of figure."""
    return html.run_page(run, "detection", _results(run), summary_text, figures, SECTIONS)


def _results(run: DetectionRun) -> str:
    voc, coco, history = run.evaluator.voc(), run.evaluator.coco(), run.history
    headline = html.paragraph(f"test VOC mAP@0.5 {voc['map']:.4f} · COCO mAP@[.5:.95] {coco['map']:.4f}", "big")
    scored = len(run.scenes)
    last = history[-1] if history else {}
    facts = [
        ("checkpoint evaluated", f"epoch {run.meta.get('epoch', '?')} (best validation mAP@0.5)"),
        ("test scenes scored", _scored(scored, run.split_size)),
        ("objects in them", f"{run.scenes.num_objects:,}"),
        ("detections scored", f"{int(np.sum(voc['num_detections'])):,} ({SCORED_DETECTIONS})"),
        ("detected and scored in", f"{run.seconds:.1f} s"),
        *history_facts(
            run,
            "train / val loss, val mAP@0.5, val COCO mAP",
            f"{last['train_loss']:.4f} / {last['val_loss']:.4f}, {last['val_map50']:.4f}, {last['val_map']:.4f}"
            if last
            else "-",
        ),
    ]
    if run.scenes.dropped:
        facts.insert(3, ("objects YOLO v1 cannot find", _dropped(run)))
    return html.section(
        "Results",
        headline,
        html.table(None, facts),
        html.table(
            ("class", "boxes", "detections", "AP@0.5", "AP@[.5:.95]"), _class_rows(run, voc, coco), numeric=(1, 2, 3, 4)
        ),
        html.preformatted(coco_lines(coco)),
    )


def _scored(scored: int, split_size: int) -> str:
    if scored == split_size:
        return f"{scored:,} (the whole test split)"
    return f"{scored:,} of {split_size:,} (the first ones; --max-images limits them)"


def _dropped(run: DetectionRun) -> str:
    return (
        f"{run.scenes.dropped:,} of {run.scenes.num_objects:,} share their grid cell with a larger object (they still "
        "count as misses)"
    )


def _class_rows(run: DetectionRun, voc: dict, coco: dict) -> list[tuple[str, ...]]:
    """One row per class and a mean row, numbers as `cnnkit eval`'s table prints them (n/a: no ground truth)."""
    rows = [
        (name, f"{int(voc['npos'][k]):,}", f"{int(voc['num_detections'][k]):,}", _number(voc["ap"][k]),
         _number(coco["ap_per_class"][k]))
        for k, name in enumerate(run.classes)
    ]  # fmt: skip
    coco_map = float("nan") if coco["map"] < 0 else coco["map"]  # −1: COCO's "undefined"
    total = (f"{int(np.sum(voc['npos'])):,}", f"{int(np.sum(voc['num_detections'])):,}")
    return [*rows, ("mean", *total, _number(voc["map"]), _number(coco_map))]


def _number(value: float) -> str:
    return "n/a" if np.isnan(value) else f"{value:.3f}"

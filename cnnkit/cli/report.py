"""`cnnkit report RUN_OR_CHECKPOINT [--out DIR]`: one self-contained page about a training run, written as
RUN/report.html for a run folder, or as NAME-report/report.html in the current folder for a weights file written
by `cnnkit export` (`--out` chooses the folder)."""

from __future__ import annotations

import argparse

from cnnkit.cli.train import ShowDefaults


def add_parser(sub) -> None:
    p = sub.add_parser(
        "report",
        help="write RUN/report.html: results, curves and pictures of any run (classify, segment, detect, "
        "generate) or exported weights file",
        description="Evaluate a run's best checkpoint (or an exported weights file) on its test set and write "
        "RUN/report.html: "
        "settings, model summary, results, training curves, confusion matrix, the most "
        "confident mistakes, first-layer filters, feature maps and top-9 patches; for a segmentation run, mean "
        "IoU and the per-class IoU table, curves, the pixel confusion matrix, test scenes with their true and "
        "predicted masks, and filters; for a detection run, VOC mAP@0.5, COCO mAP@[.5:.95] and the per-class AP "
        "table, test scenes with true positives, false positives and misses in colour, precision-recall curves; "
        "for a diffusion run, the test ε-loss, the newest sample grid, a seeded denoising trajectory and the loss "
        "curves. The figures are embedded in the page (and also written to RUN/report/). A weights file written by "
        "`cnnkit export` gets the same page, from the settings and history its metadata holds (up to the exported "
        "epoch), written to NAME-report/ in the current folder unless --out says where, never beside the file.",
        formatter_class=ShowDefaults,
    )
    p.add_argument("run_dir", metavar="RUN_OR_CHECKPOINT",
                   help="a run folder written by `cnnkit train`, or a weights file written by `cnnkit export`")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="folder to write report.html and report/ into (default: the run folder; for a weights file "
                   "NAME-report in the current folder)")
    p.add_argument("--data-dir", default=None, help="where the dataset's files are (default: as in training)")
    p.add_argument(
        "--images",
        type=int,
        default=3,
        help="test images whose feature maps are shown (segmentation and detection: scenes per scene figure; "
        "diffusion: samples in the trajectory, at most 6)",
    )
    p.add_argument("--channels", type=int, default=4, help="channels whose top-9 patches are shown")
    p.add_argument(
        "--max-images",
        type=int,
        default=10000,
        help="test images scanned for the top patches (detection: the first N test scenes are scored)",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from cnnkit.report import write_report

    path = write_report(
        args.run_dir,
        data_dir=args.data_dir,
        images=args.images,
        channels=args.channels,
        max_images=args.max_images,
        out_dir=args.out,
    )
    print(f"report written: {path}")
    return 0

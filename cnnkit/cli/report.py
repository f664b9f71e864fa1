"""`cnnkit report RUN_DIR`: write RUN_DIR/report.html, one self-contained page about a training run."""

from __future__ import annotations

import argparse

from cnnkit.cli.train import ShowDefaults


def add_parser(sub) -> None:
    p = sub.add_parser(
        "report",
        help="write RUN_DIR/report.html: results, curves and pictures of any run (classify, segment, detect, "
        "generate)",
        description="Evaluate a run's best checkpoint on its test set and write RUN_DIR/report.html: "
        "settings, model summary, results, training curves, confusion matrix, the most "
        "confident mistakes, first-layer filters, feature maps and top-9 patches; for a segmentation run, mean "
        "IoU and the per-class IoU table, curves, the pixel confusion matrix, test scenes with their true and "
        "predicted masks, and filters; for a detection run, VOC mAP@0.5, COCO mAP@[.5:.95] and the per-class AP "
        "table, test scenes with true positives, false positives and misses in colour, precision-recall curves; "
        "for a diffusion run, the test ε-loss, the newest sample grid, a seeded denoising trajectory and the loss "
        "curves. The figures are embedded in the page (and also written to RUN_DIR/report/).",
        formatter_class=ShowDefaults,
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run folder written by `cnnkit train`")
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
        args.run_dir, data_dir=args.data_dir, images=args.images, channels=args.channels, max_images=args.max_images
    )
    print(f"report written: {path}")
    return 0

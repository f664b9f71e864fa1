"""`cnnkit eval RUN_OR_CHECKPOINT`: a trained model's scores on the test split of its data, as text.

Classifiers: accuracy, per-class accuracy and the confusion matrix. Segmenters: pixel accuracy, mean IoU
and the per-class IoU table. Detectors: VOC mAP@0.5 and the COCO table (`evaluate_detection`).
Diffusion models: FID against baselines, label agreement, coverage and the copy check (`evaluate_generation`).
"""

from __future__ import annotations

import argparse
import sys
import time


def add_parser(sub) -> None:
    p = sub.add_parser("eval", help="evaluate a trained model on its test set",
                       description="Evaluate a run folder (its best checkpoint) or a checkpoint file on the "
                                   "test split of the dataset it was trained on.")
    p.add_argument("checkpoint", metavar="RUN_OR_CHECKPOINT")
    p.add_argument("--data-dir", default=None, help="where the dataset's files are (default: as in training)")
    p.add_argument("--batch-size", type=int, default=1000)
    add_tta_option(p)
    p.add_argument("--average", action="store_true",
                   help="score the checkpoint's moving average of the weights instead of its trained weights: "
                        "the last.safetensors of a run trained with --ema holds both (its best.safetensors and "
                        "exports are the average already)")
    from cnnkit.cli.evaluate_generation import add_options

    add_options(p)  # diffusion runs: the quality table's options
    p.set_defaults(run=run)


def add_tta_option(p) -> None:
    p.add_argument("--tta", choices=("none", "flip"), default="none",
                   help="classifiers and segmenters: 'flip' averages the class probabilities over each image "
                        "and its left-right mirror (two forward passes; default none)")


def with_tta(model, tta: str, kind: str, augment: str = "flip"):
    """The model itself, or wrapped in FlipAverage for --tta flip (which only class outputs can take).

    A model trained without mirrored images may never have seen a mirrored shoe, and flip averaging can then
    lower its accuracy (a LeNet-5 trained with augment=none: 0.839 → 0.792); that case gets a warning."""
    if tta == "none":
        return model
    if kind not in ("classification", "segmentation"):
        raise ValueError(f"--tta {tta} is for classifiers and segmenters, not a {kind} run")
    if "flip" not in augment:
        print(f"warning: this model was trained with augment={augment}, without mirrored images; --tta flip can "
              "lower its accuracy (train with --augment flip or crop-flip to use it)", file=sys.stderr)
    from cnnkit.models import FlipAverage

    return FlipAverage(model)


def format_confusion(confusion, classes: list[str]) -> str:
    """Rows are true classes, columns predicted ones; every column as wide as the longest name, never cut."""
    width = max([len(str(confusion.max()))] + [len(c) for c in classes]) + 2
    label = max([len("true \\ pred")] + [len(c) for c in classes]) + 1
    lines = ["true \\ pred".ljust(label) + "".join(c.rjust(width) for c in classes)]
    for name, row in zip(classes, confusion, strict=True):
        lines.append(name.ljust(label) + "".join(str(v).rjust(width) for v in row))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from cnnkit.training.datasets import data_dir_for_run
    from cnnkit.training.restore import load_trained_model
    from cnnkit.training.run import RunConfig, evaluation_loader
    from cnnkit.training.tasks import get_task

    model, meta, info = load_trained_model(args.checkpoint, average=args.average)
    config = RunConfig.from_stored(dict(meta["config"]), f"{args.checkpoint} (its metadata's config)")
    config.data_dir = data_dir_for_run(args.data_dir, config.data_dir, config.dataset)
    task = get_task(config.task)
    model = with_tta(model, args.tta, task.kind, config.augment)
    if task.kind == "generation":  # the quality table of samples and baselines instead of a test-set pass
        from cnnkit.cli.evaluate_generation import run_generation

        return run_generation(args, model, meta, info)
    _, test_set, _ = task.load_data(config, split="test")
    started = time.perf_counter()
    result = task.evaluate(model, evaluation_loader(task, config, info, test_set, args.batch_size), None)
    seconds = time.perf_counter() - started
    print(f"model {config.model} on {info.dataset} test set ({len(test_set)} {task.item_name}, "
          f"checkpoint of epoch {meta['epoch']}{', its moving average' if args.average else ''}"
          f"{', flip test-time augmentation' if args.tta == 'flip' else ''})")
    if task.kind == "segmentation":
        confusion = result.details
        print(f"pixel accuracy: {confusion.pixel_accuracy():.4f}")
        print(f"mean IoU: {confusion.mean_iou():.4f}  (over the classes present in truth or prediction)\n")
        print(confusion.format_table(info.classes))
        return 0
    if task.kind == "detection":
        from cnnkit.cli.evaluate_detection import print_detection

        print_detection(result, test_set, info.classes, seconds)
        return 0
    _print_classification(result.details, info.classes)
    return 0


def _print_classification(result, classes: list[str]) -> None:
    from cnnkit.metrics import confusion_matrix, per_class_accuracy

    confusion = confusion_matrix(result.predictions, result.targets, len(classes))
    print(f"accuracy: {result.accuracy:.4f}\n")
    print("per-class accuracy:")
    width = max(len(name) for name in classes) + 1
    for name, acc in zip(classes, per_class_accuracy(confusion), strict=True):
        print(f"  {name:<{width}} {acc:.4f}")
    print("\nconfusion matrix (rows: true class, columns: predicted):")
    print(format_confusion(confusion, classes))

"""`cnnkit eval RUN_OR_CHECKPOINT`: test-set accuracy, per-class accuracy and the confusion matrix as text."""

from __future__ import annotations

import argparse


def add_parser(sub) -> None:
    p = sub.add_parser("eval", help="evaluate a trained model on its test set",
                       description="Evaluate a run folder (its best checkpoint) or a checkpoint file on the "
                                   "test split of the dataset it was trained on.")
    p.add_argument("checkpoint", metavar="RUN_OR_CHECKPOINT")
    p.add_argument("--data-dir", default=None, help="where the dataset's files are (default: as in training)")
    p.add_argument("--batch-size", type=int, default=1000)
    p.set_defaults(run=run)


def format_confusion(confusion, classes: list[str]) -> str:
    """Rows are true classes, columns predicted ones; names cut to 9 characters so columns stay apart."""
    short = [c[:9] for c in classes]
    width = max(10, len(str(confusion.max())) + 2)
    lines = ["true \\ pred".ljust(12) + "".join(s.rjust(width) for s in short)]
    for name, row in zip(short, confusion, strict=True):
        lines.append(name.ljust(12) + "".join(str(v).rjust(width) for v in row))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from cnnkit.data import DataLoader
    from cnnkit.metrics import confusion_matrix, per_class_accuracy
    from cnnkit.training.datasets import load_classification_data
    from cnnkit.training.loop import evaluate
    from cnnkit.training.restore import load_trained_model
    from cnnkit.training.run import RunConfig, batch_transforms

    model, meta, info = load_trained_model(args.checkpoint)
    config = meta["config"]
    _, test_set, _ = load_classification_data(info.dataset, args.data_dir or config.get("data_dir"))
    loader = DataLoader(test_set, batch_size=args.batch_size, shuffle=False,
                        transform=batch_transforms(RunConfig(), info, train=False))
    result = evaluate(model, loader)
    confusion = confusion_matrix(result.predictions, result.targets, len(info.classes))
    print(f"model {config['model']} on {info.dataset} test set ({len(result.targets)} images, "
          f"checkpoint of epoch {meta['epoch']})")
    print(f"accuracy: {result.accuracy:.4f}\n")
    print("per-class accuracy:")
    for name, acc in zip(info.classes, per_class_accuracy(confusion), strict=True):
        print(f"  {name:<14} {acc:.4f}")
    print("\nconfusion matrix (rows: true class, columns: predicted):")
    print(format_confusion(confusion, info.classes))
    return 0

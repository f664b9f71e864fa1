"""`cnnkit train`: train a classifier (default: LeNet-5 on Fashion-MNIST), writing a run folder."""

from __future__ import annotations

import argparse
import json
import sys


class ShowDefaults(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default, except for options whose default is 'not given' (None) or a flag's False."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.default is None or action.default is False:
            return action.help or ""
        return super()._get_help_string(action)


DEFAULTS_HELP = "LeNet-5 on Fashion-MNIST, 10 epochs of SGD with momentum and a cosine schedule"


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="train a model (default: " + DEFAULTS_HELP + ")",
                       description="Train an image classifier. With no options: " + DEFAULTS_HELP + ".",
                       formatter_class=ShowDefaults)
    p.add_argument("--model", default="lenet5", help="zoo model name (see `cnnkit models`)")
    p.add_argument("--dataset", default="fashion-mnist",
                   help="fashion-mnist, mnist, kmnist, cifar10, or folder (with --data-dir)")
    p.add_argument("--data-dir", default=None,
                   help="where the dataset's files are (when not given: search, then download)")
    p.add_argument("--epochs", type=int, default=10, help="passes over the training set")
    p.add_argument("--batch-size", type=int, default=128, help="images per training step")
    p.add_argument("--lr", type=float, default=0.05, help="learning rate (peak learning rate for onecycle)")
    p.add_argument("--optimizer", default="sgd", choices=["sgd", "adam", "adamw", "rmsprop"], help="optimiser")
    p.add_argument("--momentum", type=float, default=0.9, help="momentum (SGD uses Nesterov's when > 0)")
    p.add_argument("--weight-decay", type=float, default=0.0, help="L2 weight decay")
    p.add_argument("--schedule", default="cosine", choices=["none", "cosine", "step", "onecycle"],
                   help="learning-rate schedule over the whole run, stepped every batch")
    p.add_argument("--augment", default="none", choices=["none", "crop", "flip", "crop-flip"],
                   help="data augmentation: random 2-pixel shifts (crop) and/or horizontal flips")
    p.add_argument("--warmup-fraction", type=float, default=0.3,
                   help="onecycle schedule: share of the steps spent raising the learning rate to --lr")
    p.add_argument("--label-smoothing", type=float, default=0.0, help="cross-entropy label smoothing")
    p.add_argument("--model-args", default="{}", help='extra model arguments as JSON, e.g. \'{"dropout": 0.3}\'')
    p.add_argument("--seed", type=int, default=0, help="seed of initialisation, shuffling, augmentation, dropout")
    p.add_argument("--out", default=None, help="run folder (when not given: runs/MODEL-DATASET)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    p.add_argument("--quiet", action="store_true", help="no progress bars (they show only on a terminal anyway)")
    p.add_argument("--report", action="store_true", help="write RUN_DIR/report.html at the end (see `cnnkit report`)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from cnnkit.training.run import RunConfig, default_out, train

    try:
        model_args = json.loads(args.model_args)
    except json.JSONDecodeError as err:
        raise ValueError(f"--model-args is not valid JSON: {err}") from None
    config = RunConfig(model=args.model, dataset=args.dataset, data_dir=args.data_dir, epochs=args.epochs,
                       batch_size=args.batch_size, lr=args.lr, optimizer=args.optimizer, momentum=args.momentum,
                       weight_decay=args.weight_decay, schedule=args.schedule, augment=args.augment,
                       label_smoothing=args.label_smoothing, warmup_fraction=args.warmup_fraction, seed=args.seed,
                       model_args=model_args,
                       out=args.out or default_out(args.model, args.dataset))
    result = train(config, resume=args.resume, progress=not args.quiet and sys.stderr.isatty())
    print(f"final test accuracy {result.test_accuracy:.4f} (best {result.best_accuracy:.4f}); "
          f"run folder: {result.run_dir}")
    if args.report:
        from cnnkit.report import write_report

        print(f"report written: {write_report(result.run_dir, data_dir=args.data_dir)}")
    return 0

"""`cnnkit demo shift`: the lecture's shift-invariance argument, measured (MLP vs CNN on shifted test images)."""

from __future__ import annotations

import argparse

from cnnkit.cli.train import ShowDefaults


def add_parser(sub) -> None:
    p = sub.add_parser(
        "demo",
        help="small experiments: `cnnkit demo shift` (MLP vs CNN on shifted images)",
        description="Small experiments that measure a lecture's argument.",
    )
    demos = p.add_subparsers(dest="demo", metavar="DEMO")
    demos.required = True
    shift = demos.add_parser(
        "shift",
        help="train an MLP and a CNN of the same size, test both on shifted images",
        description="Train an MLP and a CNN with about the same number of parameters (29 k) "
        "briefly on the same Fashion-MNIST images, then measure both on test "
        "images shifted by 0-6 pixels; print the table and plot it.",
        formatter_class=ShowDefaults,
    )
    shift.add_argument("--epochs", type=int, default=2, help="passes over the training images")
    shift.add_argument("--train-size", type=int, default=20000, help="training images (the first ones)")
    shift.add_argument("--test-size", type=int, default=1000, help="test images, each tested at every shift")
    shift.add_argument("--data-dir", default=None, help="where Fashion-MNIST is (default: search, then download)")
    shift.add_argument("--seed", type=int, default=0, help="seed of initialisation and shuffling")
    shift.add_argument("--out", default="shift-invariance.png", help="the figure (PNG)")
    shift.set_defaults(run=run_shift)


def run_shift(args: argparse.Namespace) -> int:
    from cnnkit.demo.shift import run_shift_demo
    from cnnkit.viz.shift import plot_shift_accuracy

    result = run_shift_demo(
        data_dir=args.data_dir, epochs=args.epochs, train_size=args.train_size, test_size=args.test_size, seed=args.seed
    )
    print("\naccuracy on shifted test images (mean over right, left, down, up):")
    print(result.table())
    print("parameters: " + ", ".join(f"{name} {count:,}" for name, count in result.parameters.items()))
    labels = {f"{name} ({result.parameters[name]:,} parameters)": acc for name, acc in result.accuracy.items()}
    path = plot_shift_accuracy(
        result.shifts,
        labels,
        args.out,
        f"MLP vs CNN on shifted Fashion-MNIST ({args.epochs} epochs on {args.train_size:,} images)",
    )
    print(f"figure: {path}")
    return 0

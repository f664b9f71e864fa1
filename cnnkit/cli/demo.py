"""`cnnkit demo shift`: the lecture's shift-invariance argument, measured (MLP vs CNN on shifted test images)."""

from __future__ import annotations

import argparse

from cnnkit.cli.train import ShowDefaults


def add_parser(sub) -> None:
    p = sub.add_parser(
        "demo",
        help="small experiments: `cnnkit demo shift` (MLP vs CNN on shifted images), `cnnkit demo gradients` "
        "(vanishing gradients: sigmoid, ReLU, residual at depth 8, 20, 32)",
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
    add_gradients_parser(demos)


def add_gradients_parser(demos) -> None:
    p = demos.add_parser(
        "gradients",
        help="sigmoid vs ReLU vs ReLU with residual connections at depth 8, 20 and 32",
        description="Build plain CNNs of each depth with sigmoid, with ReLU and with ReLU and residual connections "
        "(same widths), measure every layer's gradient norm at initialisation on one batch, train each for the "
        "same short budget on the same Fashion-MNIST images and test it; print the table and plot it.",
        formatter_class=ShowDefaults,
    )
    p.add_argument("--depths", type=int, nargs="+", default=[8, 20, 32], help="weight layers per network (even)")
    p.add_argument("--epochs", type=int, default=1, help="passes over the training images")
    p.add_argument("--train-size", type=int, default=4000, help="training images (the first ones)")
    p.add_argument("--test-size", type=int, default=2000, help="test images (the first ones)")
    p.add_argument("--lr", type=float, default=0.01, help="SGD learning rate (momentum 0.9, batch 64)")
    p.add_argument("--data-dir", default=None, help="where Fashion-MNIST is (default: search, then download)")
    p.add_argument("--seed", type=int, default=0, help="seed of initialisation and shuffling")
    p.add_argument("--out", default="vanishing-gradients.png", help="the figure (PNG)")
    p.set_defaults(run=run_gradients)


def run_gradients(args: argparse.Namespace) -> int:
    import time

    from cnnkit.demo.gradients import run_gradients_demo
    from cnnkit.viz.gradient_demo import plot_gradient_demo

    start = time.perf_counter()
    result = run_gradients_demo(data_dir=args.data_dir, depths=tuple(args.depths), train_size=args.train_size,
                                test_size=args.test_size, epochs=args.epochs, lr=args.lr, seed=args.seed)
    print("\ngradient norm of the first and last layer's weights at initialisation, test accuracy after training:")
    print(result.table())
    title = (f"sigmoid vs ReLU vs ReLU + residual: {args.epochs} epoch(s) on {args.train_size:,} Fashion-MNIST "
             f"images, tested on {args.test_size:,}")
    print(f"figure: {plot_gradient_demo(result.norms, result.accuracy, args.out, title)}")
    print(f"total time: {time.perf_counter() - start:.0f} s")
    return 0


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

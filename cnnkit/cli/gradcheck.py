"""`cnnkit gradcheck MODEL|RUN [--layer NAME]`: every parameterised layer's analytic gradient against finite
differences (`cnnkit.gradient_check`), printed as a table; exit status 1 when a gradient is wrong."""

from __future__ import annotations

import argparse
from pathlib import Path

from cnnkit.cli.train import ShowDefaults


def add_parser(sub) -> None:
    p = sub.add_parser("gradcheck", help="check a model's gradients against finite differences",
                       description="Compare the analytic gradient of the input and of every parameter with "
                                   "central finite differences in float64, on a small random batch, sampling "
                                   "coordinates of large tensors. Prints one row per parameter; exits with "
                                   "status 1 if any gradient is wrong.", formatter_class=ShowDefaults)
    p.add_argument("model", metavar="MODEL|RUN", help="a zoo model's name (random weights) or a run folder / "
                                                     "checkpoint (trained weights)")
    p.add_argument("--layer", default=None, metavar="NAME", help="check only this layer's parameters")
    p.add_argument("--input-shape", type=int, nargs=3, metavar=("C", "H", "W"),
                   help="input shape without the batch dimension (default: a run's own; for a zoo model a small one, "
                        "e.g. 3×32×32 for VGG, 3×64×64 for ResNet-18/34/50, 3×8×8 for the CIFAR ResNets)")
    p.add_argument("--batch-size", type=int, default=2, help="images in the random batch")
    p.add_argument("--coords", type=int, default=16, help="coordinates checked per tensor, at most")
    p.add_argument("--eval", action="store_true", help="check evaluation mode (batch norm's running statistics, "
                                                       "no dropout) instead of training mode")
    p.add_argument("--seed", type=int, default=0, help="seed of the weights, the batch and the sampled coordinates")
    p.set_defaults(run=run)


def _load(spec: str, seed: int) -> tuple[object, str | None, tuple[int, int, int]]:
    """The model, its zoo name (None for a run) and the input shape it was made for."""
    from cnnkit.gradient_check import zoo_model
    from cnnkit.models import model_info

    if Path(spec).exists():
        from cnnkit.training.restore import load_trained_model

        model, _, info = load_trained_model(spec)
        return model, None, tuple(info.input_shape)
    entry = model_info(spec)
    return zoo_model(entry.name, seed), entry.name, tuple(entry.input_shape)


def _inputs(model: object, name: str | None, shape: tuple[int, ...] | None, own: tuple[int, int, int],
            batch_size: int, seed: int) -> tuple[tuple[int, ...], list]:
    """A random float64 batch: a zoo model at its small input (`SMALL_INPUTS`) unless --input-shape is
    given, a run at the input it was trained on."""
    import numpy as np

    from cnnkit.gradient_check import zoo_inputs

    if name is not None:
        return zoo_inputs(name, batch_size, seed, shape)
    shape = shape or own
    rng = np.random.default_rng(seed)
    inputs = [rng.standard_normal((batch_size, *shape))]
    if type(model).__name__ in ("GaussianDiffusion", "DiffusionUNet"):  # a noise predictor also takes time steps
        inputs.append(rng.integers(0, 1000, size=batch_size))
    return shape, inputs


def run(args: argparse.Namespace) -> int:
    from cnnkit.gradient_check import check_module, format_table

    if args.batch_size < 1 or args.coords < 1:
        raise ValueError("--batch-size and --coords must be at least 1")
    if args.input_shape and min(args.input_shape) < 1:
        raise ValueError(f"--input-shape must be positive, got {' '.join(map(str, args.input_shape))}")
    model, name, own = _load(args.model, args.seed)
    shape, inputs = _inputs(model, name, tuple(args.input_shape) if args.input_shape else None, own,
                            args.batch_size, args.seed)
    rows = check_module(model, inputs, max_coords=args.coords, seed=args.seed, layer=args.layer,
                        train=not args.eval)
    print(format_table(rows))
    failed = [r for r in rows if not r.passed]
    for r in failed:
        print(f"FAIL: {r.describe()}")
    refined = sum(r.refined for r in rows if r.passed)
    if refined:
        print(f"{refined} coordinate(s) agreed only at a smaller finite-difference step (a ReLU or max-pool kink "
              "within the first step of the point, or a strongly curved point)")
    zero = [r.name for r in rows if r.passed and r.zero]
    if zero:
        print(f"{len(zero)} gradient(s) are exactly 0 at this point, which checks nothing there: "
              f"{', '.join(zero[:5])}{', ...' if len(zero) > 5 else ''}")
    mode = "eval" if args.eval else "training"
    print(f"{len(rows) - len(failed)} of {len(rows)} gradients agree with finite differences "
          f"({mode} mode, batch of {args.batch_size}, input {'×'.join(map(str, shape))})")
    return 1 if failed else 0

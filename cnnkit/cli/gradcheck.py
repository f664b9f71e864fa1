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
                   help="input shape without the batch dimension (default: the model's own)")
    p.add_argument("--batch-size", type=int, default=2, help="images in the random batch")
    p.add_argument("--coords", type=int, default=16, help="coordinates checked per tensor, at most")
    p.add_argument("--eval", action="store_true", help="check evaluation mode (batch norm's running statistics, "
                                                       "no dropout) instead of training mode")
    p.add_argument("--seed", type=int, default=0, help="seed of the weights, the batch and the sampled coordinates")
    p.set_defaults(run=run)


def _load(spec: str, seed: int) -> tuple[object, tuple[int, int, int]]:
    import cnnkit
    from cnnkit.models import get_model, model_info

    if Path(spec).exists():
        from cnnkit.training.restore import load_trained_model

        model, _, info = load_trained_model(spec)
        return model, tuple(info.input_shape)
    cnnkit.manual_seed(seed)
    entry = model_info(spec)
    return get_model(spec), tuple(entry.input_shape)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from cnnkit.gradient_check import check_module, format_table

    if args.batch_size < 1 or args.coords < 1:
        raise ValueError("--batch-size and --coords must be at least 1")
    model, shape = _load(args.model, args.seed)
    shape = tuple(args.input_shape) if args.input_shape else shape
    rng = np.random.default_rng(args.seed)
    inputs = [rng.standard_normal((args.batch_size, *shape))]
    if type(model).__name__ == "DiffusionUNet":  # a noise predictor also takes the time steps
        inputs.append(rng.integers(0, 1000, size=args.batch_size))
    rows = check_module(model, inputs, max_coords=args.coords, seed=args.seed, layer=args.layer,
                        train=not args.eval)
    print(format_table(rows))
    failed = [r for r in rows if not r.passed]
    for r in failed:
        print(f"FAIL: {r.describe()}")
    mode = "eval" if args.eval else "training"
    print(f"{len(rows) - len(failed)} of {len(rows)} gradients agree with finite differences "
          f"({mode} mode, batch of {args.batch_size}, input {'×'.join(map(str, shape))})")
    return 1 if failed else 0

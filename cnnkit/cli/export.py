"""`cnnkit export RUN OUT.safetensors [--ema-only]`: a run's weights without its training state (see
`cnnkit.training.export`), small enough to share or ship; `cnnkit eval`, `predict`, `generate` and `report` read
it."""

from __future__ import annotations

import argparse


def add_parser(sub) -> None:
    p = sub.add_parser(
        "export",
        help="write a run's weights without its optimiser state (to share or ship)",
        description="Write the best checkpoint of a run folder (or a given checkpoint) without the optimiser's "
        "state: the weights, the model's arguments, the data description and the history. "
        "cnnkit eval, predict, generate and report read the file as they read a run folder.",
    )
    p.add_argument("checkpoint", metavar="RUN_OR_CHECKPOINT", help="run folder or checkpoint file")
    p.add_argument("target", metavar="OUT.safetensors", help="file to write (its metadata goes beside it as .json)")
    p.add_argument("--ema-only", action="store_true",
                   help="diffusion runs: keep only the moving average of the weights, which sampling uses "
                   "(half the size)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from cnnkit.training.export import export_checkpoint

    source = export_checkpoint(args.checkpoint, args.target, ema_only=args.ema_only)
    size = Path(args.target).stat().st_size
    print(f"wrote {args.target} ({size / 2**20:.1f} MiB) from {source}")
    return 0

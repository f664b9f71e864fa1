"""The `cnnkit` command: a thin layer over the library. Each subcommand lives in its own module with an
`add_parser(subparsers)` that declares its options and a `run(args)` that calls the library.

Heavy imports happen inside `run`, so `cnnkit --help` stays instant. Errors a user can cause (a missing
file, a bad option, a corrupt checkpoint) print one line and exit with status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys

from cnnkit.cli import (
    convert_weights,
    data,
    demo,
    evaluate,
    export,
    gradcheck,
    models,
    predict,
    report,
    sample,
    segment_baseline,
    summary,
    train,
)

COMMANDS = (train, evaluate, predict, summary, models, report, demo, data, segment_baseline, convert_weights,
            export, sample, gradcheck)


class UserError(Exception):
    """An error to report in one line, without a traceback."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cnnkit", description="Convolutional neural networks from first "
                                     "principles on NumPy: train, evaluate and use image classifiers, U-Net "
                                     "segmenters, detectors (YOLO, propose-then-classify) and diffusion image "
                                     "generators.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def _user_errors() -> tuple[type[BaseException], ...]:
    from cnnkit.serialization import CheckpointError

    return (UserError, FileNotFoundError, FileExistsError, ValueError, CheckpointError, OSError, RuntimeError)


def check_seed(args: argparse.Namespace) -> None:
    """Every command's --seed is a seed for NumPy's generators: an integer >= 0 (a negative one would fail deep
    inside, without naming the option)."""
    seed = getattr(args, "seed", None)
    if isinstance(seed, int) and seed < 0:
        raise UserError(f"--seed must be an integer >= 0, got {seed}")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # the command line, for `train --nprocs` to re-run
    import numpy as np

    try:
        # NumPy's overflow warnings would precede the one-line error that a non-finite loss, weight or output gets
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            check_seed(args)
            return int(args.run(args) or 0)
    except KeyboardInterrupt:
        print("\ncnnkit: interrupted", file=sys.stderr)
        return 130
    except _user_errors() as err:
        message = str(err).strip() or type(err).__name__
        print(f"cnnkit {args.command}: error: {message}", file=sys.stderr)
        return 2
    except MemoryError as err:  # sizes no check foresaw: one line, not a traceback
        print(f"cnnkit {args.command}: error: out of memory ({str(err).strip() or 'MemoryError'}); try smaller "
              "sizes (--batch-size, model arguments, images)", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

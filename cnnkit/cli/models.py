"""`cnnkit models`: the zoo, with each model's default input shape and parameter count."""

from __future__ import annotations

import argparse


def add_parser(sub) -> None:
    p = sub.add_parser("models", help="list the model zoo", description="List the zoo's models.")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from cnnkit.models import list_models

    print(f"{'model':<16}{'input':>14}{'parameters':>14}  description")
    for entry in list_models():
        shape = "×".join(str(n) for n in entry.input_shape)
        print(f"{entry.name:<16}{shape:>14}{entry.num_parameters:>14,}  {entry.description}")
    return 0

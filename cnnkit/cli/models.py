"""`cnnkit models`: the zoo, with each model's default input shape and parameter count."""

from __future__ import annotations

import argparse


def add_parser(sub) -> None:
    p = sub.add_parser("models", help="list the model zoo", description="List the zoo's models.")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from cnnkit.models import format_models

    print(format_models())
    return 0

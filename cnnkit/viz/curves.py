"""Training curves: loss and accuracy per epoch, train against the held-out split, from a run's history rows.

The held-out split is validation ("val_" columns), or the test split in runs that chose their checkpoint on it
("test_" columns); a run that held nothing out is drawn with its training lines alone."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cnnkit.viz.figure import new_figure, save_figure

NEEDED = ("epoch", "train_loss", "train_accuracy")
SPLIT_NAMES = {"val": "validation", "test": "test", None: "held-out"}


def held_out_split(history: Sequence[dict[str, Any]]) -> str | None:
    """"val" or "test": the split whose accuracy the history records beside training's, or None."""
    first = history[0] if history else {}
    return next((split for split in ("val", "test") if f"{split}_accuracy" in first), None)


def plot_curves(history: Sequence[dict[str, Any]], path: str | os.PathLike, title: str = "") -> Path:
    """Two panels, loss and accuracy against epoch, each with a train and a held-out line; returns the PNG's path.

    `history` is a run's history.json (one dict per epoch with the keys in NEEDED, and `val_loss` and
    `val_accuracy` when a validation split was held out). The best held-out accuracy is marked.
    """
    if not history:
        raise ValueError("plot_curves: the history is empty (no epoch finished)")
    missing = [key for key in NEEDED if key not in history[0]]
    if missing:
        raise ValueError(
            f"plot_curves: expected history rows with {', '.join(NEEDED)}; the first row lacks {', '.join(missing)}"
        )
    split = held_out_split(history)
    keys = NEEDED + ((f"{split}_loss", f"{split}_accuracy") if split else ())
    column = {key: [float(row[key]) for row in history] for key in keys}
    epochs = column["epoch"]
    fig = new_figure(8.0, 3.2)
    loss_ax, acc_ax = fig.subplots(1, 2)
    for ax, what in ((loss_ax, "loss"), (acc_ax, "accuracy")):
        ax.plot(epochs, column[f"train_{what}"], "o-", color="tab:blue", label="train", markersize=3)
        if split:
            ax.plot(epochs, column[f"{split}_{what}"], "s-", color="tab:orange", label=SPLIT_NAMES[split],
                    markersize=3)
        ax.set_xlabel("epoch")
        ax.set_ylabel(what)
        ax.grid(alpha=0.3)
        ax.legend()
    if split:
        scores = column[f"{split}_accuracy"]
        best = max(range(len(epochs)), key=lambda i: scores[i])
        acc_ax.annotate(f"best {scores[best]:.4f}", (epochs[best], scores[best]), textcoords="offset points",
                        xytext=(0, -14), ha="center", fontsize=8)
    if len(epochs) < 12:
        for ax in (loss_ax, acc_ax):
            ax.set_xticks(epochs)
    fig.suptitle(title or "training curves", fontsize=10)
    return save_figure(fig, path)

"""Training curves: loss and accuracy per epoch, train against test, from a run's history rows."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cnnkit.viz.figure import new_figure, save_figure

NEEDED = ("epoch", "train_loss", "test_loss", "train_accuracy", "test_accuracy")


def plot_curves(history: Sequence[dict[str, Any]], path: str | os.PathLike, title: str = "") -> Path:
    """Two panels, loss and accuracy against epoch, each with a train and a test line; returns the PNG's path.

    `history` is a run's history.json (one dict per epoch with the keys in NEEDED). The best test accuracy is
    marked.
    """
    if not history:
        raise ValueError("plot_curves: the history is empty (no epoch finished)")
    missing = [key for key in NEEDED if key not in history[0]]
    if missing:
        raise ValueError(
            f"plot_curves: expected history rows with {', '.join(NEEDED)}; the first row lacks {', '.join(missing)}"
        )
    column = {key: [float(row[key]) for row in history] for key in NEEDED}
    epochs = column["epoch"]
    fig = new_figure(8.0, 3.2)
    loss_ax, acc_ax = fig.subplots(1, 2)
    for ax, what in ((loss_ax, "loss"), (acc_ax, "accuracy")):
        ax.plot(epochs, column[f"train_{what}"], "o-", color="tab:blue", label="train", markersize=3)
        ax.plot(epochs, column[f"test_{what}"], "s-", color="tab:orange", label="test", markersize=3)
        ax.set_xlabel("epoch")
        ax.set_ylabel(what)
        ax.grid(alpha=0.3)
        ax.legend()
    best = max(range(len(epochs)), key=lambda i: column["test_accuracy"][i])
    acc_ax.annotate(
        f"best {column['test_accuracy'][best]:.4f}",
        (epochs[best], column["test_accuracy"][best]),
        textcoords="offset points",
        xytext=(0, -14),
        ha="center",
        fontsize=8,
    )
    if len(epochs) < 12:
        for ax in (loss_ax, acc_ax):
            ax.set_xticks(epochs)
    fig.suptitle(title or "training curves", fontsize=10)
    return save_figure(fig, path)

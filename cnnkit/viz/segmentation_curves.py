"""Training curves of a segmentation run: loss (train and validation) and scores (pixel accuracy, mean IoU) per
epoch, from the run's history rows (`train_loss, train_accuracy, val_loss, val_accuracy, val_miou`)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cnnkit.viz.figure import new_figure, save_figure

NEEDED = ("epoch", "train_loss", "val_loss", "train_accuracy", "val_accuracy", "val_miou")
SCORES = (  # (history column, legend label, marker, colour)
    ("train_accuracy", "train pixel accuracy", "o-", "tab:blue"),
    ("val_accuracy", "val pixel accuracy", "s-", "tab:orange"),
    ("val_miou", "val mean IoU", "D-", "tab:green"),
)


def plot_segmentation_curves(history: Sequence[dict[str, Any]], path: str | os.PathLike, title: str = "") -> Path:
    """Two panels against epoch — loss (train, val) and scores (pixel accuracies, val mIoU) — with the best val
    mIoU marked (the epoch whose checkpoint is best.safetensors); returns the PNG's path."""
    if not history:
        raise ValueError("plot_segmentation_curves: the history is empty (no epoch finished)")
    missing = [key for key in NEEDED if key not in history[0]]
    if missing:
        raise ValueError(
            f"plot_segmentation_curves: expected history rows with {', '.join(NEEDED)}; the first row lacks "
            f"{', '.join(missing)}"
        )
    column = {key: [float(row[key]) for row in history] for key in NEEDED}
    epochs = column["epoch"]
    fig = new_figure(8.0, 3.2)
    loss_ax, score_ax = fig.subplots(1, 2)
    loss_ax.plot(epochs, column["train_loss"], "o-", color="tab:blue", label="train", markersize=3)
    loss_ax.plot(epochs, column["val_loss"], "s-", color="tab:orange", label="val", markersize=3)
    loss_ax.set_ylabel("loss (pixelwise cross-entropy)")
    for key, label, style, colour in SCORES:
        score_ax.plot(epochs, column[key], style, color=colour, label=label, markersize=3)
    score_ax.set_ylabel("score")
    best = max(range(len(epochs)), key=lambda i: column["val_miou"][i])
    score_ax.annotate(
        f"best mIoU {column['val_miou'][best]:.4f}",
        (epochs[best], column["val_miou"][best]),
        textcoords="offset points",
        xytext=(0, -14),
        ha="center",
        fontsize=8,
    )
    for ax in (loss_ax, score_ax):
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        if len(epochs) < 12:
            ax.set_xticks(epochs)
    fig.suptitle(title or "training curves", fontsize=10)
    return save_figure(fig, path)

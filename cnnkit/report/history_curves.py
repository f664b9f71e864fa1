"""Training curves of any task from a run's history rows: a loss panel and a score panel against epoch, each line
one history column, with the best value of the column that picks the checkpoint marked (detection: val mAP@0.5,
generation: test eps_r2). Columns missing from the history are left out, so one function draws every task."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cnnkit.viz.figure import new_figure, save_figure

STYLES = (("o-", "tab:blue"), ("s-", "tab:orange"), ("D-", "tab:green"), ("^-", "tab:red"))


def plot_history(
    history: Sequence[dict[str, Any]],
    path: str | os.PathLike,
    losses: Sequence[tuple[str, str]],
    scores: Sequence[tuple[str, str]],
    best: str | None,
    title: str = "",
    loss_label: str = "loss",
) -> Path:
    """Two panels against epoch: `losses` and `scores` as (history column, legend label) pairs; the best (largest)
    value of column `best` is annotated (None: a run that held nothing out, none). Returns the PNG's path."""
    if not history:
        raise ValueError("plot_history: the history is empty (no epoch finished)")
    if best is not None and best not in history[0]:
        raise ValueError(f"plot_history: the history rows lack the column {best!r} that picks the best checkpoint")
    epochs = [float(row["epoch"]) for row in history]
    fig = new_figure(8.0, 3.2)
    loss_ax, score_ax = fig.subplots(1, 2)
    for ax, lines in ((loss_ax, losses), (score_ax, scores)):
        for (key, label), (style, colour) in zip(_present(history, lines), STYLES, strict=False):
            ax.plot(epochs, [float(row[key]) for row in history], style, color=colour, label=label, markersize=3)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
        if len(epochs) < 12:
            ax.set_xticks(epochs)
    loss_ax.set_ylabel(loss_label)
    score_ax.set_ylabel("score")
    if best is not None:
        _mark_best(score_ax, epochs, [float(row[best]) for row in history])
    fig.suptitle(title or "training curves", fontsize=10)
    return save_figure(fig, path)


def _mark_best(score_ax: Any, epochs: list[float], values: list[float]) -> None:
    top = max(range(len(values)), key=values.__getitem__)
    score_ax.annotate(
        f"best {values[top]:.4f}",
        (epochs[top], values[top]),
        textcoords="offset points",
        xytext=(0, -14),
        ha="center",
        fontsize=8,
    )


def _present(history: Sequence[dict[str, Any]], lines: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(key, label) for key, label in lines if all(key in row for row in history)]

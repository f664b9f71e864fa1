"""Figures of gradient flow (the records of `cnnkit.training.gradient_flow`): is any layer's gradient vanishing
or exploding, is any ReLU dead?

    plot_flow_lines(records, path)    per-layer lines over training: gradient norm, update scale
                                      (‖∇θ‖/‖θ‖), share of zero activation outputs; log scales for the first two
    plot_flow_bars(records, path)     per-layer bars at the first and the last record: gradient norm (log),
                                      update scale (log), share of zero outputs
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cnnkit.viz.figure import new_figure, save_figure


def flow_records(history: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every gradient-flow record of a run's history rows, in order, each with its epoch."""
    return [{**record, "epoch": row.get("epoch")} for row in history for record in row.get("gradient_flow", [])]


def _series(records: Sequence[dict[str, Any]], part: str, key: str) -> dict[str, list[float]]:
    """name → its values over the records, for every name that has `key` in some record."""
    names = list(dict.fromkeys(name for r in records for name, stats in r[part].items() if key in stats))
    return {name: [r[part].get(name, {}).get(key, np.nan) for r in records] for name in names}


def _plain_log(axis: Any) -> None:
    """A log axis labelled at powers of ten only (minor labels crowd a small panel)."""
    from matplotlib.ticker import NullFormatter

    axis.set_minor_formatter(NullFormatter())


def _lines(ax: Any, steps: list[int], series: dict[str, list[float]], log: bool) -> None:
    colours = _colours(len(series))
    for (name, values), colour in zip(series.items(), colours, strict=True):
        values = _positive(values) if log else values
        ax.plot(steps, values, "-", color=colour, label=name, linewidth=1.2, marker="o", markersize=2)
    if log:
        ax.set_yscale("log")
        _plain_log(ax.yaxis)
    ax.set_xlabel("training step")
    ax.grid(alpha=0.3)


def _positive(values: Any) -> np.ndarray:
    """Values for a log axis: a norm of exactly 0 (a layer that got no gradient) is left out (NaN)."""
    values = np.asarray(values, dtype=np.float64)
    return np.where(values > 0, values, np.nan)


def _colours(n: int) -> list[Any]:
    from matplotlib import colormaps

    cmap = colormaps["viridis"]
    return [cmap(0.9 * i / max(n - 1, 1)) for i in range(n)]  # shallow (dark) to deep (yellow-green)


def plot_flow_lines(records: Sequence[dict[str, Any]], path: str | os.PathLike, title: str = "") -> Path:
    """Three panels over training steps, one line per layer (darkest = first layer)."""
    if not records:
        raise ValueError("plot_flow_lines: no gradient-flow records (train with cnnkit ≥ this version)")
    steps = [int(r["step"]) for r in records]
    fig = new_figure(12.0, 3.8)
    grad_ax, ratio_ax, zero_ax = fig.subplots(1, 3)
    _lines(grad_ax, steps, _series(records, "layers", "grad_norm"), log=True)
    grad_ax.set_title("gradient norm ‖∇θ‖ per layer", fontsize=9)
    _lines(ratio_ax, steps, _series(records, "layers", "ratio"), log=True)
    ratio_ax.set_title("update scale ‖∇θ‖ / ‖θ‖ per layer", fontsize=9)
    zeros = _series(records, "activations", "zeros")
    _lines(zero_ax, steps, zeros, log=False)
    zero_ax.set_ylim(-0.02, 1.02)
    zero_ax.set_title("share of outputs exactly 0 (ReLU: off)", fontsize=9)
    for ax in (grad_ax, zero_ax):
        handles, labels = ax.get_legend_handles_labels()
        if handles:
            ax.legend(fontsize=6, ncol=1 + len(labels) // 12, loc="best")
    if title:
        fig.suptitle(title, fontsize=10)
    return save_figure(fig, path)


def plot_flow_bars(records: Sequence[dict[str, Any]], path: str | os.PathLike, title: str = "") -> Path:
    """Per-layer bars at the first and the last record (start and end of training)."""
    if not records:
        raise ValueError("plot_flow_bars: no gradient-flow records")
    first, last = records[0], records[-1]
    layers = list(first["layers"])
    acts = [name for name, stats in first["activations"].items() if "zeros" in stats]
    height = 1.2 + 0.16 * max(len(layers), len(acts), 4)
    fig = new_figure(12.0, height)
    axes = fig.subplots(1, 3)
    panels = ((axes[0], "layers", "grad_norm", layers, True, "gradient norm"),
              (axes[1], "layers", "ratio", layers, True, "update scale ‖∇θ‖ / ‖θ‖"),
              (axes[2], "activations", "zeros", acts, False, "share of outputs exactly 0"))
    for ax, part, key, names, log, label in panels:
        if not names:
            ax.set_axis_off()
            continue
        y = np.arange(len(names))
        for offset, record, colour, which in ((-0.2, first, "tab:blue", "start"), (0.2, last, "tab:orange", "end")):
            values = np.array([record[part].get(n, {}).get(key, np.nan) for n in names], dtype=np.float64)
            values = _positive(values) if log else values
            ax.barh(y + offset, values, height=0.4, color=colour, label=f"{which} (step {record['step']})")
        ax.set_yticks(y, names, fontsize=6)
        ax.invert_yaxis()  # the first layer on top
        if log:
            ax.set_xscale("log")
            _plain_log(ax.xaxis)
        ax.set_title(label, fontsize=9)
        ax.grid(alpha=0.3, axis="x")
    axes[0].legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    return save_figure(fig, path)

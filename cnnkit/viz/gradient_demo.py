"""The vanishing-gradient demo's figure (`cnnkit.demo.gradients`): per-layer gradient norms at initialisation
(log scale, one line per network) and test accuracy after the same short training."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from cnnkit.viz.figure import new_figure, save_figure

COLOURS = {"sigmoid": "tab:red", "relu": "tab:blue", "residual": "tab:green"}
STYLES = ("-", "--", ":", "-.")


def plot_gradient_demo(norms: dict[str, np.ndarray], accuracy: dict[str, float], path: str | os.PathLike,
                       title: str = "") -> Path:
    """Left: ‖∂L/∂W_l‖ against layer l for each network ('kind-depth'); right: test accuracy per depth and kind."""
    return save_figure(draw_gradient_demo(norms, accuracy, title), path)


def draw_gradient_demo(norms: dict[str, np.ndarray], accuracy: dict[str, float], title: str = "") -> Figure:
    """The figure of `plot_gradient_demo`, not yet saved."""
    if not norms:
        raise ValueError("plot_gradient_demo: no networks to draw")
    names = list(norms)
    depths = sorted({int(n.rsplit("-", 1)[1]) for n in names})
    kinds = list(dict.fromkeys(n.rsplit("-", 1)[0] for n in names))
    fig = new_figure(12.0, 4.2)
    lines_ax, bars_ax = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.6, 1]})
    for name in names:
        kind, depth = name.rsplit("-", 1)
        values = np.asarray(norms[name], dtype=np.float64)
        lines_ax.plot(np.arange(1, len(values) + 1), np.where(values > 0, values, np.nan),
                      STYLES[depths.index(int(depth)) % len(STYLES)], color=COLOURS.get(kind, "black"),
                      label=f"{kind}, {depth} layers", linewidth=1.4)
    lines_ax.set_yscale("log")
    lines_ax.set_xlabel("layer (1 = input side)")
    lines_ax.set_ylabel("‖∂L/∂W‖ at initialisation")
    lines_ax.grid(alpha=0.3)
    lines_ax.legend(fontsize=7, ncol=len(depths))
    width = 0.8 / len(kinds)
    for k, kind in enumerate(kinds):
        values = [accuracy.get(f"{kind}-{d}", np.nan) for d in depths]
        x = np.arange(len(depths)) + (k - (len(kinds) - 1) / 2) * width
        bars_ax.bar(x, values, width, color=COLOURS.get(kind, "grey"), label=kind)
        for xi, v in zip(x, values, strict=True):
            bars_ax.text(xi, v + 0.01, f"{v:.2f}", ha="center", va="bottom", fontsize=7)
    bars_ax.axhline(0.1, color="grey", linestyle=":", linewidth=1, label="chance")
    bars_ax.set_xticks(np.arange(len(depths)), [f"{d} layers" for d in depths])
    bars_ax.set_ylim(0, 1)
    bars_ax.set_ylabel("test accuracy after training")
    # the legend (and the chance line's label) above the axes: inside, any corner may hide a bar's value label
    bars_ax.legend(fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=len(kinds) + 1, frameon=False)
    bars_ax.grid(alpha=0.3, axis="y")
    if title:
        fig.suptitle(title, fontsize=10)
    return fig

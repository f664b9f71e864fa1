"""The report's "Gradient flow" figures, from the gradient-flow records the trainer keeps in history.json."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cnnkit.viz.gradient_flow import flow_records, plot_flow_bars, plot_flow_lines

SECTION = "Gradient flow"


def gradient_flow_figures(history: list[dict[str, Any]], folder: Path, name: str) -> list:
    """Lines over training and start/end bars; none for a run trained before the trainer recorded them."""
    from cnnkit.report.figures import FigureFile

    records = flow_records(history)
    if not records:
        return []
    every = records[1]["step"] - records[0]["step"] if len(records) > 1 else 1
    return [
        FigureFile(SECTION, plot_flow_lines(records, folder / "gradient-flow.png", f"{name}: gradient flow"),
                   f"per layer, every {every} training steps (darkest line: first layer); a gradient norm falling "
                   "by orders of magnitude towards the input is a vanishing gradient, a share of zeros near 1 a "
                   "dead ReLU"),
        FigureFile(SECTION, plot_flow_bars(records, folder / "gradient-flow-bars.png",
                                           f"{name}: per layer at the start and the end of training"),
                   f"the first record (step {records[0]['step']}) and the last (step {records[-1]['step']})"),
    ]

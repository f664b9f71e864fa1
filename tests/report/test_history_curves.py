"""plot_history: the loss and score panels of any task's history, lines only for the columns present, the best
value of the checkpoint's column annotated; an empty history or a missing best column is refused by name."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from cnnkit.report.history_curves import plot_history

HISTORY = [
    {"epoch": 1, "train_loss": 2.0, "val_loss": 1.8, "val_map50": 0.30},
    {"epoch": 2, "train_loss": 1.5, "val_loss": 1.6, "val_map50": 0.45},
    {"epoch": 3, "train_loss": 1.2, "val_loss": 1.7, "val_map50": 0.40},
]
LOSSES = (("train_loss", "train"), ("val_loss", "val"))


def test_draws_the_columns_present_in_the_task_colours(tmp_path):
    scores = (("val_map50", "val mAP"), ("val_miou", "not in this history"))
    path = plot_history(HISTORY, tmp_path / "c.png", LOSSES, scores, "val_map50", "detect run")
    with Image.open(path) as image:
        assert image.size == (800, 320)  # 8 × 3.2 inches at 100 dpi
        rgb = np.asarray(image.convert("RGB")).astype(int)
    for colour in ((31, 119, 180), (255, 127, 14)):  # tab:blue (train, first score), tab:orange (val)
        assert (np.abs(rgb - colour).max(axis=-1) < 10).sum() > 50, colour
    assert (np.abs(rgb - (44, 160, 44)).max(axis=-1) < 10).sum() == 0  # no third line: val_miou is absent


def test_refuses_an_empty_history_and_a_missing_best_column(tmp_path):
    with pytest.raises(ValueError, match="the history is empty"):
        plot_history([], tmp_path / "c.png", LOSSES, (), "val_map50")
    with pytest.raises(ValueError, match="lack the column 'test_eps_r2' that picks the best checkpoint"):
        plot_history(HISTORY, tmp_path / "c.png", LOSSES, (), "test_eps_r2")

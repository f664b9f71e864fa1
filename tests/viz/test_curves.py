"""plot_curves: a run's history as two panels; bad histories are refused with the missing keys named."""

from __future__ import annotations

import pytest

from cnnkit.viz.curves import plot_curves
from tests.viz.png import colormap_rgb, has_colour, read_png


def _history(epochs: int = 4) -> list[dict]:
    return [
        {
            "epoch": e,
            "train_loss": 1.0 / e,
            "test_loss": 1.2 / e,
            "train_accuracy": 0.5 + 0.1 * e,
            "test_accuracy": 0.45 + 0.1 * e,
            "lr": 0.1,
            "seconds": 1.0,
        }
        for e in range(1, epochs + 1)
    ]


def test_curves_png(tmp_path):
    pixels = read_png(plot_curves(_history(), tmp_path / "curves.png"), (800, 320))
    assert has_colour(pixels, colormap_rgb("tab10", 0.0), 2)  # the train line (tab:blue)
    assert has_colour(pixels, colormap_rgb("tab10", 0.1), 2)  # the test line (tab:orange)


def test_a_single_epoch_is_drawn(tmp_path):
    read_png(plot_curves(_history(1), tmp_path / "one.png"), (800, 320))


def test_bad_history(tmp_path):
    with pytest.raises(ValueError, match="the history is empty"):
        plot_curves([], tmp_path / "x.png")
    with pytest.raises(ValueError, match="the first row lacks train_accuracy"):
        plot_curves([{"epoch": 1, "train_loss": 1.0}], tmp_path / "x.png")


def _validation_history() -> list[dict]:
    return [{key.replace("test_", "val_"): value for key, value in row.items()} for row in _history()]


def test_validation_columns_are_drawn_as_the_held_out_line(tmp_path):
    pixels = read_png(plot_curves(_validation_history(), tmp_path / "val.png"), (800, 320))
    assert has_colour(pixels, colormap_rgb("tab10", 0.1), 2)  # the validation line (tab:orange)


def test_a_run_that_held_nothing_out_draws_its_training_lines_alone(tmp_path):
    rows = [{k: v for k, v in row.items() if not k.startswith("test_")} for row in _history()]
    pixels = read_png(plot_curves(rows, tmp_path / "train-only.png"), (800, 320))
    assert has_colour(pixels, colormap_rgb("tab10", 0.0), 2)
    assert not has_colour(pixels, colormap_rgb("tab10", 0.1), 2)

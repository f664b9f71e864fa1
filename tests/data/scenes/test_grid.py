"""grid_collisions: the share of objects whose centre shares a YOLO grid cell with another object's."""

from __future__ import annotations

import numpy as np
import pytest

from cnnkit.data.scenes import grid_collisions
from cnnkit.data.scenes.grid import grid_cells


def test_cells_of_centres():
    boxes = np.array([[0, 0, 2, 2], [62, 62, 64, 64], [8, 0, 12, 10]])  # centres (1, 1), (63, 63), (10, 5)
    assert grid_cells(boxes, 7, 64).tolist() == [0, 48, 1]  # 10 · 7 / 64 = 1.09 -> column 1


def test_fraction_counts_every_object_of_a_shared_cell():
    one = np.array([[0, 0, 4, 4], [1, 1, 5, 5], [40, 40, 50, 50]])  # two share cell 0, one alone
    two = np.array([[0, 0, 64, 64]])
    assert grid_collisions([one, two, np.zeros((0, 4))], S=7, size=64) == pytest.approx(2 / 4)
    assert grid_collisions([one], S=1, size=(64, 64)) == 1.0
    assert grid_collisions([], S=7, size=64) == 0.0

"""fill_holes and silhouettes: against scipy.ndimage.binary_fill_holes and on hand-made masks."""

from __future__ import annotations

import numpy as np
import pytest

from cnnkit.data.scenes import fill_holes, silhouettes

ndimage = pytest.importorskip("scipy.ndimage")


def test_a_ring_is_filled_and_an_open_cup_is_not():
    ring = np.zeros((7, 7), dtype=bool)
    ring[1:6, 1:6] = True
    ring[2:5, 2:5] = False
    cup = ring.copy()
    cup[1, 3] = False  # an opening to the border: the inside is not a hole
    assert fill_holes(ring).sum() == 25 and fill_holes(ring)[3, 3]
    assert np.array_equal(fill_holes(cup), cup)


def test_a_diagonal_gap_does_not_drain_a_hole():
    mask = np.zeros((5, 5), dtype=bool)
    mask[1:4, 1:4] = True
    mask[2, 2] = False
    mask[1, 1] = False  # the hole touches the outside only through a corner: 4-connectivity keeps it a hole
    filled = fill_holes(mask)
    assert filled[2, 2] and not filled[1, 1]


@pytest.mark.parametrize("density", [0.3, 0.5, 0.7])
def test_matches_scipy_on_random_masks(density):
    masks = np.random.default_rng(int(density * 10)).random((300, 19, 23)) < density
    expected = np.stack([ndimage.binary_fill_holes(m) for m in masks])
    assert np.array_equal(fill_holes(masks), expected)
    assert np.array_equal(fill_holes(masks[7]), expected[7])


def test_silhouette_threshold_is_strictly_above_ten():
    image = np.zeros((4, 4), dtype=np.uint8)
    image[1, 1], image[2, 2] = 10, 11
    assert silhouettes(image).sum() == 1 and silhouettes(image)[2, 2]


def test_refuses_other_shapes():
    with pytest.raises(ValueError, match=r"fill_holes: expected a mask \(H, W\) or masks \(N, H, W\), got shape"):
        fill_holes(np.zeros(5, dtype=bool))

"""Connected components against scipy.ndimage.label (same numbering), on random, structured and edge-case masks;
component sizes and boxes against scipy's find_objects; stacks labelled image by image."""

from __future__ import annotations

import numpy as np
import pytest

from cnnkit.signal.components import component_stats, label, label_stack, stack_ids

ndimage = pytest.importorskip("scipy.ndimage")


def structure(connectivity: int) -> np.ndarray:
    return ndimage.generate_binary_structure(2, connectivity)


@pytest.mark.parametrize("connectivity", [1, 2])
def test_random_masks_match_scipy_label_exactly(rng, connectivity):
    for _ in range(200):
        h, w = (int(v) for v in rng.integers(1, 30, 2))
        mask = rng.random((h, w)) < rng.uniform(0.05, 0.95)
        labels, count = label(mask, connectivity)
        expected, expected_count = ndimage.label(mask, structure(connectivity))
        assert count == expected_count
        np.testing.assert_array_equal(labels, expected)
        assert labels.dtype == np.int32


def spiral(n: int) -> np.ndarray:
    """One long winding path (a snake turning 4 times per ring), the slowest case for label propagation."""
    mask = np.zeros((n, n), bool)
    top, left, bottom, right = 0, 0, n - 1, n - 1
    while top <= bottom and left <= right:
        mask[top, left : right + 1] = True
        mask[top : bottom + 1, right] = True
        mask[bottom, left : right + 1] = True
        mask[top + 2 : bottom + 1, left] = True
        top, left, bottom, right = top + 2, left + 2, bottom - 2, right - 2
    return mask


@pytest.mark.parametrize(
    "mask",
    [
        np.zeros((5, 7), bool),
        np.ones((5, 7), bool),
        np.eye(6, dtype=bool),  # a diagonal: 6 components with 4-neighbours, 1 with 8
        np.eye(6, dtype=bool)[::-1],
        np.tile([[True, False], [False, True]], (4, 4)),  # a checkerboard
        spiral(31),
        np.ones((1, 9), bool),
        np.ones((9, 1), bool),
        np.zeros((0, 4), bool),
    ],
    ids=["empty", "full", "diagonal", "anti-diagonal", "checkerboard", "spiral", "row", "column", "no-rows"],
)
@pytest.mark.parametrize("connectivity", [1, 2])
def test_structured_masks_match_scipy(mask, connectivity):
    labels, count = label(mask, connectivity)
    expected, expected_count = ndimage.label(mask, structure(connectivity))
    assert count == expected_count
    np.testing.assert_array_equal(labels, expected)


def test_diagonal_counts_by_hand():
    assert label(np.eye(5, dtype=bool), 1)[1] == 5 and label(np.eye(5, dtype=bool), 2)[1] == 1


def test_a_stack_is_labelled_image_by_image_and_runs_never_join_across_images(rng):
    masks = rng.random((12, 9, 11)) < 0.55
    masks[1::2, 0, :] = True  # first row of every other image full: touches the previous image's last row in memory
    masks[::2, -1, :] = True
    labels, counts = label_stack(masks, connectivity=2)
    for i in range(len(masks)):
        expected, n = ndimage.label(masks[i], structure(2))
        assert counts[i] == n
        np.testing.assert_array_equal(labels[i], expected)


def test_stack_ids_number_components_over_the_whole_stack():
    masks = np.zeros((3, 4, 4), bool)
    masks[0, 0, 0] = masks[0, 3, 3] = True  # two components in image 0
    masks[2, 1:3, 1:3] = True  # one in image 2, none in image 1
    ids = stack_ids(*label_stack(masks))
    assert ids[0, 0, 0] == 1 and ids[0, 3, 3] == 2 and ids[2, 1, 1] == 3 and not ids[1].any()


def test_component_stats_sizes_and_boxes_match_find_objects(rng):
    masks = rng.random((5, 20, 17)) < 0.4
    labels, counts = label_stack(masks)
    stats = component_stats(stack_ids(labels, counts))
    assert len(stats) == counts.sum()
    k = 0
    for i in range(len(masks)):
        sizes = np.bincount(labels[i].ravel())[1:]
        for j, (rows, cols) in enumerate(ndimage.find_objects(labels[i])):
            assert stats.image[k] == i and stats.size[k] == sizes[j]
            np.testing.assert_array_equal(stats.box[k], [cols.start, rows.start, cols.stop, rows.stop])
            k += 1


def test_no_components():
    stats = component_stats(np.zeros((2, 3, 3), np.int64))
    assert len(stats) == 0 and stats.box.shape == (0, 4)


def test_bad_input_is_refused_with_the_shape_or_option():
    with pytest.raises(ValueError, match=r"label: expected a binary mask \(H, W\), got an array of shape \(2, 3, 4\)"):
        label(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="connectivity must be 1 .* or 2 .*, got 3"):
        label(np.zeros((3, 4)), connectivity=3)
    with pytest.raises(ValueError, match="expected a binary mask"):
        label(np.array([["a", "b"]]))
    with pytest.raises(ValueError, match=r"component_stats: expected ids \(N, H, W\)"):
        component_stats(np.zeros((3, 3)))


def test_numbers_other_than_bool_count_as_foreground_when_nonzero():
    labels, count = label(np.array([[0, 2, 0], [0, 0.5, 0]]))
    assert count == 1 and labels[1, 1] == 1

"""Label masks from instance maps: class per pixel and the one-pixel ignore band outside each visible item."""

from __future__ import annotations

import numpy as np

from cnnkit.data.scenes import IGNORE_INDEX, ignore_band, label_mask, label_masks


def two_items() -> np.ndarray:
    instances = np.zeros((8, 8), dtype=np.uint8)
    instances[1:5, 1:5] = 1  # bottom item
    instances[3:7, 3:7] = 2  # top item, overlapping the bottom one's corner
    return instances


def test_band_is_the_ring_outside_each_item_on_whatever_lies_below():
    band = ignore_band(two_items())
    expected = np.zeros((8, 8), dtype=bool)
    expected[0:6, 0:6] = True  # ring around item 1 ...
    expected[1:5, 1:5] = False
    expected[2:8, 2:8] |= True  # ... and around item 2, on the background and on item 1
    expected[3:7, 3:7] = False
    assert np.array_equal(band, expected)
    assert not band[two_items() == 2].any()  # the top item loses no pixel


def test_label_mask_values():
    instances = two_items()
    mask = label_mask(instances, np.array([4, 9]))
    assert mask[1, 1] == 4 and mask[5, 5] == 9 and mask[7, 0] == 0
    assert mask[1, 4] == 4 and mask[2, 3] == IGNORE_INDEX  # item 1's pixel next to item 2 is ignored
    assert set(np.unique(label_mask(instances, np.array([4, 9]), ignore_border=False))) == {0, 4, 9}


def test_batched_masks_equal_one_at_a_time():
    stack = np.stack([two_items(), two_items().T, np.zeros((8, 8), np.uint8)])
    labels, offsets = np.array([4, 9, 1, 2]), np.array([0, 2, 4, 4])
    batched = label_masks(stack, labels, offsets)
    for i in range(3):
        assert np.array_equal(batched[i], label_mask(stack[i], labels[offsets[i] : offsets[i + 1]]))

"""COCO mask encodings: uncompressed RLE both ways, pycocotools' compressed strings, polygons."""

from __future__ import annotations

import numpy as np
import pytest

from cnnkit.data.formats.rle import counts_from_string, decode_counts, decode_segmentation, encode_rle


def small_mask() -> np.ndarray:
    mask = np.zeros((7, 5), dtype=bool)
    mask[1:4, 1:3] = True
    mask[5, 4] = mask[0, 0] = True
    return mask


def test_uncompressed_rle_hand_counts():
    # column-major: column 0 is 1,1,1,1,0,0,0 ... counts start with zeros, so a set first pixel gives a leading 0
    assert encode_rle(small_mask()) == {"size": [7, 5], "counts": [0, 1, 7, 3, 4, 3, 15, 1, 1]}


def test_round_trip_on_random_masks():
    rng = np.random.default_rng(0)
    for _ in range(50):
        h, w = rng.integers(1, 30, 2)
        mask = rng.random((h, w)) < rng.random()
        rle = encode_rle(mask)
        assert sum(rle["counts"]) == h * w
        assert np.array_equal(decode_segmentation(rle, h, w), mask)


def test_compressed_strings_from_pycocotools():
    # strings produced by pycocotools 2.0.11 `mask.encode` for these masks (the second has negative differences)
    assert counts_from_string("0172M0;NB") == [0, 1, 7, 3, 4, 3, 15, 1, 1]
    big = np.zeros((60, 50), dtype=bool)
    big[5:45, 10:40] = True
    big[20:25, 0:50] = True
    text = (
        "d05g100000000000000000AS1\\O000000000000000000000000000000000000000000000000000000000?mNd000000000000000000\\O"
    )
    assert np.array_equal(decode_segmentation({"size": [60, 50], "counts": text}, 60, 50), big)


def test_polygon_is_rasterised():
    mask = decode_segmentation([[2, 2, 9, 2, 9, 6, 2, 6]], 10, 12)
    assert mask[2:7, 2:10].all() and mask.sum() == 5 * 8  # Pillow fills the outline inclusively


def test_bad_encodings_are_refused():
    with pytest.raises(ValueError, match="RLE counts sum to 34 but the mask has 7×5 = 35 pixels"):
        decode_counts([0, 1, 7, 3, 4, 3, 15, 1], 7, 5)
    with pytest.raises(ValueError, match=r"RLE size \[5, 7\] differs from the image's \[7, 5\]"):
        decode_segmentation({"size": [5, 7], "counts": [35]}, 7, 5)
    with pytest.raises(ValueError, match="at least 3"):
        decode_segmentation([[1, 1, 2, 2]], 7, 5)

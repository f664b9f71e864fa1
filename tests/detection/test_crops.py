"""crop_and_resize against a direct point-by-point bilinear reference, and its exact cases."""

from __future__ import annotations

import numpy as np
import pytest

from cnnkit.detection.crops import crop_and_resize


def reference(image: np.ndarray, box, size: int) -> np.ndarray:
    """One channel, one box, one output pixel at a time: bilinear at the sample point, edges clamped."""
    h, w = image.shape
    x1, y1, x2, y2 = box
    out = np.zeros((size, size))
    for i in range(size):
        for j in range(size):
            v = min(max(y1 + (i + 0.5) * (y2 - y1) / size - 0.5, 0), h - 1)
            u = min(max(x1 + (j + 0.5) * (x2 - x1) / size - 0.5, 0), w - 1)
            r, c = int(np.floor(v)), int(np.floor(u))
            r1, c1 = min(r + 1, h - 1), min(c + 1, w - 1)
            a, b = v - r, u - c
            out[i, j] = (
                (1 - a) * (1 - b) * image[r, c]
                + (1 - a) * b * image[r, c1]
                + a * (1 - b) * image[r1, c]
                + a * b * image[r1, c1]
            )
    return out


def test_crops_match_the_point_by_point_reference(rng) -> None:
    images = rng.random((3, 2, 20, 24)).astype(np.float32)
    boxes = np.array([[0, 0, 24, 20], [3.5, 2.25, 10, 19], [20, 15, 24, 20], [1, 1, 2, 2], [-3, -2, 30, 25]])
    owner = np.array([0, 1, 2, 1, 0])
    crops = crop_and_resize(images, boxes, owner, size=7)
    assert crops.shape == (5, 2, 7, 7) and crops.dtype == np.float32
    for m, (box, n) in enumerate(zip(boxes, owner, strict=True)):
        for c in range(2):
            np.testing.assert_allclose(crops[m, c], reference(images[n, c], box, 7), rtol=1e-5, atol=1e-6)


def test_a_box_of_the_output_size_gives_back_its_pixels(rng) -> None:
    images = rng.random((1, 1, 64, 64)).astype(np.float32)
    crops = crop_and_resize(images, np.array([[10, 20, 38, 48]]), np.array([0]), size=28)
    np.testing.assert_allclose(crops[0, 0], images[0, 0, 20:48, 10:38], atol=1e-6)


def test_mismatched_boxes_and_owners_are_refused() -> None:
    with pytest.raises(ValueError, match=r"boxes \(M, 4\) and image_index \(M,\), got .*\(2, 4\) and \(1,\)"):
        crop_and_resize(np.zeros((1, 1, 8, 8)), np.zeros((2, 4)), np.zeros(1))

"""Otsu's threshold per image against the definition computed level by level; fixed thresholds; bad input."""

from __future__ import annotations

import numpy as np
import pytest

from cnnkit.segmentation.threshold import foreground, histograms, otsu_thresholds, parse_threshold


def otsu_by_definition(image: np.ndarray) -> int:
    """The t maximising w0·w1·(m0 − m1)² over the splits (≤ t | > t) with both classes non-empty."""
    values = image.ravel().astype(np.float64)
    best, best_t = -1.0, int(values.min())
    for t in range(256):
        low, high = values[values <= t], values[values > t]
        if len(low) == 0 or len(high) == 0:
            continue
        between = len(low) * len(high) / len(values) ** 2 * (low.mean() - high.mean()) ** 2
        if between > best * (1 + 1e-12):
            best, best_t = between, t
    return best_t


def test_otsu_matches_the_definition_on_random_images(rng):
    images = np.stack(
        [np.clip(rng.normal(rng.uniform(20, 230), rng.uniform(5, 60), (12, 10)), 0, 255) for _ in range(30)]
    ).astype(np.uint8)
    images[::3, :4] = rng.integers(0, 40, (10, 4, 10))  # some bimodal ones
    expected = [otsu_by_definition(image) for image in images]
    np.testing.assert_array_equal(otsu_thresholds(images), expected)


def test_two_grey_levels_are_split_between_them_and_one_level_gives_no_foreground():
    two = np.zeros((1, 4, 4), np.uint8)
    two[0, :, 2:] = 200
    t = otsu_thresholds(two)[0]
    assert 0 <= t < 200
    np.testing.assert_array_equal(foreground(two)[0], two[0] == 200)
    flat = np.full((2, 3, 3), 77, np.uint8)
    np.testing.assert_array_equal(otsu_thresholds(flat), [77, 77])
    assert not foreground(flat).any()


def test_histograms_count_every_pixel_of_each_image(rng):
    images = rng.integers(0, 256, (3, 5, 6)).astype(np.uint8)
    hist = histograms(images)
    assert hist.shape == (3, 256) and (hist.sum(axis=1) == 30).all()
    np.testing.assert_array_equal(hist[1], np.bincount(images[1].ravel(), minlength=256))


def test_fixed_threshold_and_bad_thresholds():
    images = np.array([[[0, 10, 11, 255]]], np.uint8)
    np.testing.assert_array_equal(foreground(images, 10), [[[False, False, True, True]]])
    for bad in (-1, 256, "mean", 2.5, True):
        with pytest.raises(ValueError, match="expected 'otsu' or a grey level 0-255"):
            foreground(images, bad)
    with pytest.raises(ValueError, match=r"expected uint8 images \(N, H, W\), got float64"):
        foreground(images.astype(np.float64))
    assert parse_threshold("otsu") == "otsu" and parse_threshold("12") == 12
    for text in ("300", "x"):
        with pytest.raises(ValueError, match="--threshold: expected 'otsu' or a grey level 0-255"):
            parse_threshold(text)

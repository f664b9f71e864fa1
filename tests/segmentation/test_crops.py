"""Components framed as Fashion-MNIST frames its items: exact copies at scale 1, aspect ratio kept and centred,
only the component's own pixels, shrinking without aliasing."""

from __future__ import annotations

import numpy as np

from cnnkit.segmentation.crops import crop_components
from cnnkit.signal.components import component_stats, label_stack, stack_ids


def frame(images: np.ndarray, size=(28, 28)) -> np.ndarray:
    ids = stack_ids(*label_stack(images > 0))
    return crop_components(images, ids, component_stats(ids), size)


def test_an_item_at_its_own_size_is_copied_exactly(rng):
    item = rng.integers(1, 256, (28, 28)).astype(np.uint8)  # no zero pixel: one component filling its box
    scene = np.zeros((1, 64, 64), np.uint8)
    scene[0, 20:48, 5:33] = item
    [crop] = frame(scene)
    np.testing.assert_allclose(crop, item / 255, atol=1e-6)


def test_a_wide_component_fills_the_width_and_is_centred_vertically():
    scene = np.zeros((1, 40, 40), np.uint8)
    scene[0, 5:15, 10:30] = 200  # h 10, w 20: scale 1.4, content 14 rows at rows 7..20 of 28
    [crop] = frame(scene)
    np.testing.assert_allclose(crop[8:20, 1:27], 200 / 255, atol=1e-6)  # inside, away from the bilinear edges
    assert (crop[:6] == 0).all() and (crop[22:] == 0).all()  # outside the content
    assert 0 < crop[7, 14] < 200 / 255 and 0 < crop[14, 0] < 200 / 255  # bilinear edges
    np.testing.assert_allclose(crop, crop[::-1], atol=1e-6)  # centred
    np.testing.assert_allclose(crop, crop[:, ::-1], atol=1e-6)  # and fills the width symmetrically


def test_other_components_in_the_box_are_blanked():
    scene = np.zeros((1, 30, 30), np.uint8)
    scene[0, 0:28, 0] = 100  # an L: left column and bottom row
    scene[0, 27, 0:28] = 100
    scene[0, 10:14, 10:14] = 250  # another component inside the L's box
    crops = frame(scene)
    assert len(crops) == 2
    assert crops[0].max() <= 100 / 255 + 1e-6  # the L's crop holds nothing of the bright square
    np.testing.assert_allclose(crops[1][4:24, 4:24], 250 / 255, atol=1e-6)  # the square alone, scaled 7×


def test_shrinking_averages_instead_of_skipping_pixels():
    stripes = np.zeros((1, 56, 56), np.uint8)
    stripes[0, :, 0::2] = 200  # columns alternating 200, 0 (but one component: joined by a full first row)
    stripes[0, 0, :] = 200
    [crop] = frame(stripes)
    assert abs(crop[10:20, 5:20].mean() - 100 / 255) < 0.02  # half of 200, not 200 or 0


def test_no_components_give_an_empty_stack():
    assert frame(np.zeros((2, 8, 8), np.uint8), (12, 10)).shape == (0, 12, 10)

"""Array resizing for the data pipeline: bilinear and nearest with half-pixel centres, as PyTorch's kernels."""

from __future__ import annotations

import numpy as np
import pytest

from cnnkit.data.resample import bilinear_matrix, nearest_indices, resize_bilinear, resize_nearest
from tests.gradcheck import requires_torch


def test_bilinear_rows_sum_to_one_and_identity_at_same_size():
    for n_in, n_out in ((28, 21), (28, 42), (5, 64), (1, 3)):
        assert np.allclose(bilinear_matrix(n_in, n_out).sum(axis=1), 1)
    assert np.array_equal(bilinear_matrix(7, 7), np.eye(7))


def test_nearest_reads_centres():
    assert nearest_indices(4, 8).tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    assert nearest_indices(6, 4).tolist() == [0, 2, 3, 5]  # floor((d + 0.5) · 1.5)
    labels = np.array([[0, 3], [7, 255]], dtype=np.uint8)
    assert resize_nearest(labels, (4, 4)).dtype == np.uint8 and set(np.unique(resize_nearest(labels, (3, 5)))) <= {
        0,
        3,
        7,
        255,
    }


@requires_torch
@pytest.mark.parametrize("size", [(21, 21), (42, 35), (64, 64), (9, 40)])
def test_matches_torch_interpolate(size):
    import torch

    x = np.random.default_rng(0).random((2, 3, 28, 30)).astype(np.float32)
    expected = torch.nn.functional.interpolate(torch.from_numpy(x), size=size, mode="bilinear", align_corners=False)
    assert np.allclose(resize_bilinear(x, size), expected.numpy(), atol=1e-5)
    nearest = torch.nn.functional.interpolate(torch.from_numpy(x), size=size, mode="nearest-exact")
    assert np.array_equal(resize_nearest(x, size), nearest.numpy())

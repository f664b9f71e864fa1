"""R-CNN box offsets: values by hand, the round trip, and the clamp on sizes."""

from __future__ import annotations

import numpy as np

from cnnkit.detection.box_coder import SIZE_CLAMP, apply_offsets, encode_offsets


def test_offsets_by_hand() -> None:
    proposal = np.array([[10, 10, 30, 20]], np.float32)  # centre (20, 15), 20 × 10
    target = np.array([[12, 8, 52, 28]], np.float32)  # centre (32, 18), 40 × 20
    np.testing.assert_allclose(
        encode_offsets(proposal, target), [[10 * 12 / 20, 10 * 3 / 10, 5 * np.log(2), 5 * np.log(2)]], rtol=1e-6
    )


def test_encoding_then_applying_gives_back_the_target(rng) -> None:
    xy = rng.uniform(0, 50, (100, 2, 2))
    wh = rng.uniform(2, 30, (100, 2, 2))
    proposals = np.concatenate([xy[:, 0], xy[:, 0] + wh[:, 0]], axis=1)
    targets = np.concatenate([xy[:, 1], xy[:, 1] + wh[:, 1]], axis=1)
    np.testing.assert_allclose(apply_offsets(proposals, encode_offsets(proposals, targets)), targets, atol=1e-3)


def test_huge_size_offsets_are_clamped() -> None:
    out = apply_offsets(np.array([[0, 0, 10, 10]], np.float32), np.array([[0, 0, 1e4, 1e4]], np.float32))
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out[0, 2] - out[0, 0], 10 * np.exp(SIZE_CLAMP), rtol=1e-5)

"""Box offsets relative to a proposal (R-CNN's parametrisation, torchvision's `BoxCoder` with weights 10, 10, 5, 5).

For a proposal P (centre px, py, size pw, ph) and a target box G:
    tx = 10 (gx − px) / pw,  ty = 10 (gy − py) / ph,  tw = 5 log(gw / pw),  th = 5 log(gh / ph)
The weights scale the offsets to about unit size for the regression loss. Decoding clamps tw, th at
5 log(1000 / 16), as torchvision does, so that a wild prediction cannot overflow exp().
"""

from __future__ import annotations

import math

import numpy as np

WEIGHTS = (10.0, 10.0, 5.0, 5.0)
SIZE_CLAMP = math.log(1000.0 / 16)


def _centre_size(boxes: np.ndarray) -> tuple[np.ndarray, ...]:
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    return boxes[:, 0] + w / 2, boxes[:, 1] + h / 2, w, h


def encode_offsets(proposals: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """float32 (M, 4) offsets that move each proposal (M, 4) onto its target box (M, 4); boxes of positive size."""
    px, py, pw, ph = _centre_size(np.asarray(proposals, dtype=np.float64).reshape(-1, 4))
    gx, gy, gw, gh = _centre_size(np.asarray(targets, dtype=np.float64).reshape(-1, 4))
    wx, wy, ww, wh = WEIGHTS
    return np.stack(
        [wx * (gx - px) / pw, wy * (gy - py) / ph, ww * np.log(gw / pw), wh * np.log(gh / ph)], axis=1
    ).astype(np.float32)


def apply_offsets(proposals: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """float32 (M, 4) boxes: the proposals (M, 4) moved by offsets (M, 4), the inverse of `encode_offsets`."""
    px, py, pw, ph = _centre_size(np.asarray(proposals, dtype=np.float64).reshape(-1, 4))
    d = np.asarray(offsets, dtype=np.float64).reshape(-1, 4) / np.asarray(WEIGHTS)
    cx, cy = px + d[:, 0] * pw, py + d[:, 1] * ph
    w, h = pw * np.exp(np.minimum(d[:, 2], SIZE_CLAMP)), ph * np.exp(np.minimum(d[:, 3], SIZE_CLAMP))
    return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1).astype(np.float32)

"""Cut boxes out of images and resize them to one size: bilinear sampling at the centres of a size × size grid
over each box, all boxes of all images at once (the "warp" of R-CNN, without its context padding).

Output pixel (i, j) of box (x1, y1, x2, y2) samples the image at the continuous point
    u = x1 + (j + ½)(x2 − x1)/size,  v = y1 + (i + ½)(y2 − y1)/size
in pixel-edge coordinates, i.e. array position (v − ½, u − ½), interpolating the four neighbouring pixels
(positions outside the image take the nearest edge pixel). A box of exactly size × size whole pixels gives
back its pixels unchanged.
"""

from __future__ import annotations

import numpy as np


def sample_points(lo: np.ndarray, hi: np.ndarray, size: int, limit: int) -> tuple[np.ndarray, ...]:
    """(index below, index above, weight of the one above) (M, size) along one axis, clamped to 0 … limit − 1."""
    pos = lo[:, None] + (np.arange(size) + 0.5)[None, :] * ((hi - lo) / size)[:, None] - 0.5
    pos = np.clip(pos, 0, limit - 1)
    below = np.floor(pos).astype(np.int64)
    above = np.minimum(below + 1, limit - 1)
    return below, above, (pos - below).astype(np.float32)


def crop_and_resize(images: np.ndarray, boxes: np.ndarray, image_index: np.ndarray, size: int = 28) -> np.ndarray:
    """float32 (M, C, size, size): box m of image image_index[m], from images (N, C, H, W), boxes (M, 4) xyxy."""
    images = np.asarray(images, dtype=np.float32)
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    image_index = np.asarray(image_index, dtype=np.int64).reshape(-1)
    if images.ndim != 4 or len(boxes) != len(image_index):
        raise ValueError(
            f"crop_and_resize: expected images (N, C, H, W), boxes (M, 4) and image_index (M,), got "
            f"{images.shape}, {boxes.shape} and {image_index.shape}"
        )
    h, w = images.shape[2:]
    y0, y1, wy = sample_points(boxes[:, 1], boxes[:, 3], size, h)
    x0, x1, wx = sample_points(boxes[:, 0], boxes[:, 2], size, w)
    n = image_index[:, None, None]
    channels_last = np.moveaxis(images, 1, -1)  # gathers then give (M, size, size, C)

    def gather(ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
        return channels_last[n, ys[:, :, None], xs[:, None, :]]

    wy, wx = wy[:, :, None, None], wx[:, None, :, None]
    top = gather(y0, x0) * (1 - wx) + gather(y0, x1) * wx
    bottom = gather(y1, x0) * (1 - wx) + gather(y1, x1) * wx
    out = top * (1 - wy) + bottom * wy
    return np.ascontiguousarray(np.moveaxis(out, -1, 1), dtype=np.float32)

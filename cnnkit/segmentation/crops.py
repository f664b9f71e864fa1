"""Each connected component cut out of its scene and resized to a classifier's input, framed as Fashion-MNIST
frames its items: the longest side of the component's box fills the frame, the other is centred.

Only the component's own pixels are kept (everything else in its box, background or another component, is 0, the
black of Fashion-MNIST's backgrounds). With box (x1, y1, x2, y2), frame H × W and scale s = min(H / h, W / w),
output pixel (i, j) reads the scene at
    y = y1 + (i + 0.5 − (H − s·h) / 2) / s − 0.5,    x likewise,
bilinearly (half-pixel centres, as `cnnkit.data.resample`); a component that is shrunk (s < 1) averages a 2 × 2
grid of sub-pixel positions per output pixel instead, so that it does not alias, and one kept at its size
(s = 1) is copied exactly. All components of a stack are cut in one vectorised gather.
"""

from __future__ import annotations

import numpy as np

from cnnkit.signal.components import ComponentStats

SUBSAMPLES = 2  # per axis: output pixels average SUBSAMPLES² bilinear samples


def crop_components(
    images: np.ndarray, ids: np.ndarray, stats: ComponentStats, size: tuple[int, int] = (28, 28)
) -> np.ndarray:
    """float32 (K, H, W) in [0, 1]: component k (id k + 1 in ids (N, H', W')) of uint8 images (N, H', W') framed."""
    images, ids = np.asarray(images), np.asarray(ids)
    if images.shape != ids.shape or images.ndim != 3:
        raise ValueError(f"crop_components: expected images and ids of one shape (N, H, W), got {images.shape} and "
                         f"{ids.shape}")  # fmt: skip
    height, width = size
    k = len(stats)
    if k == 0:
        return np.zeros((0, height, width), np.float32)
    box = stats.box.astype(np.float64)
    h, w = box[:, 3] - box[:, 1], box[:, 2] - box[:, 0]
    scale = np.minimum(height / h, width / w)
    spread = (np.arange(SUBSAMPLES) + 0.5) / SUBSAMPLES  # sub-pixel positions within an output pixel
    offsets = np.where((scale < 1)[:, None], spread, 0.5)  # (K, S): all at the centre unless shrinking
    rows = (np.arange(height)[None, :, None] + offsets[:, None, :]).reshape(k, -1)  # (K, H·S)
    cols = (np.arange(width)[None, :, None] + offsets[:, None, :]).reshape(k, -1)  # (K, W·S)
    y = box[:, 1, None] + (rows - (height - scale * h)[:, None] / 2) / scale[:, None] - 0.5
    x = box[:, 0, None] + (cols - (width - scale * w)[:, None] / 2) / scale[:, None] - 0.5
    values = _bilinear(images, ids, stats.image, y, x)  # (K, H·S, W·S)
    pooled = values.reshape(k, height, SUBSAMPLES, width, SUBSAMPLES).mean(axis=(2, 4))
    return (pooled / 255).astype(np.float32)


def _bilinear(images: np.ndarray, ids: np.ndarray, image: np.ndarray, y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """float64 (K, len(y), len(x)): bilinear samples of component k's pixels (others read as 0) at the grid y × x."""
    y0, x0 = np.floor(y).astype(np.int64), np.floor(x).astype(np.int64)
    wy, wx = (y - y0)[:, :, None], (x - x0)[:, None, :]
    out = np.zeros((len(image), y.shape[1], x.shape[1]))
    for dy, fy in ((0, 1 - wy), (1, wy)):
        for dx, fx in ((0, 1 - wx), (1, wx)):
            out += fy * fx * _pixels(images, ids, image, y0 + dy, x0 + dx)
    return out


def _pixels(images: np.ndarray, ids: np.ndarray, image: np.ndarray, yy: np.ndarray, xx: np.ndarray) -> np.ndarray:
    """float64 (K, len(yy), len(xx)): images[image_k, yy, xx] where that pixel belongs to component k, else 0."""
    n, height, width = images.shape
    inside = ((yy >= 0) & (yy < height))[:, :, None] & ((xx >= 0) & (xx < width))[:, None, :]
    flat = (image[:, None, None] * height + np.clip(yy, 0, height - 1)[:, :, None]) * width
    flat = flat + np.clip(xx, 0, width - 1)[:, None, :]
    component = np.arange(1, len(image) + 1)[:, None, None]
    own = inside & (ids.reshape(-1)[flat] == component)
    return np.where(own, images.reshape(-1)[flat], 0).astype(np.float64)

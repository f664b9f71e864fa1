"""The lecture's classic 3×3 image kernels as float32 arrays, and `apply_kernel` to filter an image with one.

    laplacian        [ 0 −1  0]   edge detection: the negative discrete Laplacian, 4·x − (sum of the
                     [−1  4 −1]   4 neighbours); zero on flat regions and linear ramps, large at edges
                     [ 0 −1  0]
    sharpen          [ 0 −1  0]   identity + laplacian: the image plus its edges
                     [−1  5 −1]
                     [ 0 −1  0]
    gaussian_blur    1/16 · [1 2 1; 2 4 2; 1 2 1]   a binomial approximation of a Gaussian, sums to 1
    vertical_edge    [−1  0  1]   Sobel: a horizontal derivative, so it responds to VERTICAL edges
                     [−2  0  2]   (positive where the image gets brighter to the right, under correlation)
                     [−1  0  1]
    horizontal_edge  vertical_edge transposed: responds to horizontal edges (brighter downwards: positive)

Sobel rather than Prewitt ([−1 0 1] in every row): its 1-2-1 column smooths along the edge while
differentiating across it, so noise moves it less. The kernels are read-only; `KERNELS` maps each name to
its array. `apply_kernel` correlates (as `conv2d` does), with zero fill and the output the size of the input.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnkit.signal.correlate import correlate2d


def _kernel(rows: list[list[float]], scale: float = 1.0) -> np.ndarray:
    array = np.asarray(rows, dtype=np.float32) * np.float32(scale)
    array.setflags(write=False)  # shared module constants: a caller's edit would change every later use
    return array


laplacian = _kernel([[0, -1, 0], [-1, 4, -1], [0, -1, 0]])
sharpen = _kernel([[0, -1, 0], [-1, 5, -1], [0, -1, 0]])
gaussian_blur = _kernel([[1, 2, 1], [2, 4, 2], [1, 2, 1]], 1 / 16)
vertical_edge = _kernel([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])
horizontal_edge = _kernel([[-1, -2, -1], [0, 0, 0], [1, 2, 1]])

KERNELS: dict[str, np.ndarray] = {
    "laplacian": laplacian,
    "sharpen": sharpen,
    "gaussian_blur": gaussian_blur,
    "vertical_edge": vertical_edge,
    "horizontal_edge": horizontal_edge,
}


def apply_kernel(image: Any, kernel: str | Any) -> np.ndarray:
    """Correlate an (H, W) or (C, H, W) image with a kernel (an array or a name in KERNELS), channel by channel.

    Zero fill, output the size of the input ('same'), float32.
    """
    if isinstance(kernel, str):
        if kernel not in KERNELS:
            raise ValueError(f"apply_kernel: unknown kernel {kernel!r}; known kernels: {', '.join(KERNELS)}")
        kernel = KERNELS[kernel]
    image = np.asarray(getattr(image, "_data", image), dtype=np.float32)
    kernel = np.asarray(kernel, dtype=np.float32)
    if image.ndim == 2:
        return correlate2d(image, kernel, mode="same")
    if image.ndim == 3:
        return np.stack([correlate2d(channel, kernel, mode="same") for channel in image])
    raise ValueError(f"apply_kernel: expected an image of shape (H, W) or (C, H, W), got shape {image.shape}")

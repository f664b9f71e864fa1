"""2-D correlation and convolution of plain arrays, equal to `scipy.signal.correlate2d` / `convolve2d` (zero fill).

Correlation slides the kernel over the image as it is; convolution flips it first:

    correlation  (x ⋆ h)[i, j] = Σ_k Σ_l h[k, l] · x[i + k, j + l]
    convolution  (x ∗ h)[i, j] = Σ_k Σ_l h[k, l] · x[i − k, j − l]  =  (x ⋆ h_flipped)[i, j]  (up to a shift)

Convolution is commutative and associative (blurring twice is one blur by the convolved kernels);
correlation is neither, but it reads naturally as "how well does the image match h here". When the
kernel is learned the flip does not matter: a network learning h with one would learn h flipped with
the other. So `cnnkit.nn.functional.conv2d`, like the "convolution" of every deep-learning library,
computes a cross-correlation; `convolve2d` below is the textbook (signal-processing) operation.

Modes, for an H×W image and a kH×kW kernel (values outside the image read as 0; the default mode is 'valid',
SciPy's is 'full'):
- 'full':  every overlap, (H + kH − 1) × (W + kW − 1);
- 'valid': only where the kernel lies inside the image, (H − kH + 1) × (W − kW + 1); when the kernel is the
  larger array in both axes, the two swap roles, as in SciPy;
- 'same':  H × W, the kernel's element ((kH − 1) // 2, (kW − 1) // 2) — as given, before any flip — lying over
  the output pixel. For even kernels that element is off-centre and the flip moves it, so convolve2d(x, h, 'same')
  is not correlate2d(x, flipped h, 'same'): each is cut from the (equal) 'full' results at its own offset.

The work is a loop over the kernel's taps only: one scaled, shifted copy of the image is added per tap.
"""

from __future__ import annotations

from typing import Any

import numpy as np

MODES = ("valid", "same", "full")


def _as_2d(op: str, name: str, value: Any) -> np.ndarray:
    """A NumPy array from an array, a nested list or a cnnkit Tensor (by its .data); must be 2-D and non-empty."""
    array = np.asarray(getattr(value, "_data", value))
    if array.ndim != 2 or array.size == 0:
        raise ValueError(f"{op}: expected {name} to be a non-empty 2-D array, got shape {array.shape}")
    return array


def _check_mode(op: str, mode: str, x: np.ndarray, h: np.ndarray) -> None:
    if mode not in MODES:
        raise ValueError(f"{op}: expected mode 'valid', 'same' or 'full', got {mode!r}")
    if mode == "valid":
        x_fits = all(a >= b for a, b in zip(x.shape, h.shape, strict=True))
        h_fits = all(a >= b for a, b in zip(h.shape, x.shape, strict=True))
        if not (x_fits or h_fits):
            raise ValueError(f"{op}: in mode 'valid' one input must be at least as large as the other in every "
                             f"dimension, got shapes {x.shape} and {h.shape}")


def _correlate(x: np.ndarray, h: np.ndarray, mode: str, anchor: tuple[int, int]) -> np.ndarray:
    """out[i, j] = Σ_k Σ_l h[k, l] · x[r0 + i + k − (kH − 1), c0 + j + l − (kW − 1)], x zero outside.

    (r0, c0) is where the output window starts inside the 'full' result: 0 for 'full', kH − 1 for 'valid',
    and kH − 1 − anchor for 'same', so that h[anchor] multiplies x[i, j] at output (i, j).
    """
    (height, width), (kh, kw) = x.shape, h.shape
    if mode == "full":
        start, shape = (0, 0), (height + kh - 1, width + kw - 1)
    elif mode == "valid":
        start, shape = (kh - 1, kw - 1), (height - kh + 1, width - kw + 1)
    else:
        start, shape = (kh - 1 - anchor[0], kw - 1 - anchor[1]), (height, width)
    # Zero-pad x just enough that every tap's window is a plain slice: padded index = x index + (k − 1) − start.
    top, left = kh - 1 - start[0], kw - 1 - start[1]
    bottom, right = max(0, start[0] + shape[0] - height), max(0, start[1] + shape[1] - width)
    dtype = np.result_type(x, h)
    padded = np.zeros((top + height + bottom, left + width + right), dtype=dtype)
    padded[top : top + height, left : left + width] = x
    h = h.astype(dtype, copy=False)
    out = np.zeros(shape, dtype=dtype)
    for k in range(kh):
        for l in range(kw):
            out += h[k, l] * padded[k : k + shape[0], l : l + shape[1]]
    return out


def correlate2d(x: Any, h: Any, mode: str = "valid") -> np.ndarray:
    """Cross-correlation of 2-D arrays: out[i, j] = Σ_k Σ_l conj(h[k, l]) · x[i + k, j + l] (shifted per `mode`).

    Equal to `scipy.signal.correlate2d(x, h, mode)` with boundary='fill', fillvalue=0. Accepts Tensors
    by their data; returns a NumPy array of the inputs' common dtype.
    """
    x, h = _as_2d("correlate2d", "x", x), _as_2d("correlate2d", "h", h)
    _check_mode("correlate2d", mode, x, h)
    swap = mode == "valid" and h.shape != x.shape and all(a >= b for a, b in zip(h.shape, x.shape, strict=True))
    if swap:  # the larger array slides over the smaller (SciPy conjugates whichever array ends up second)
        x, h = h, x
    h = np.conj(h) if np.iscomplexobj(h) else h
    out = _correlate(x, h, mode, ((h.shape[0] - 1) // 2, (h.shape[1] - 1) // 2))
    return out[::-1, ::-1].copy() if swap else out  # corr(h, x)[m] = corr(x, h)[−m] for real arrays


def convolve2d(x: Any, h: Any, mode: str = "valid") -> np.ndarray:
    """Convolution of 2-D arrays: out[i, j] = Σ_k Σ_l h[k, l] · x[i − k, j − l] (shifted per `mode`).

    Computed as a correlation with the kernel flipped up-down and left-right. Equal to
    `scipy.signal.convolve2d(x, h, mode)` with boundary='fill', fillvalue=0.
    """
    x, h = _as_2d("convolve2d", "x", x), _as_2d("convolve2d", "h", h)
    _check_mode("convolve2d", mode, x, h)
    if mode == "valid" and h.shape != x.shape and all(a >= b for a, b in zip(h.shape, x.shape, strict=True)):
        x, h = h, x  # convolution is commutative: slide the smaller array over the larger one
    kh, kw = h.shape
    # 'same' anchors the kernel as given at ((kH − 1) // 2, (kW − 1) // 2); flipped, that tap sits at (kH // 2, kW // 2)
    return _correlate(x, h[::-1, ::-1], mode, (kh // 2, kw // 2))

"""im2col / col2im: the gather and scatter that turn a 2-D convolution into one matrix product.

A `Window` is plain data saying where a kH×kW kernel reads in an H×W image (stride, dilation and
per-side zero padding). For output pixel (i, j) and kernel tap (k, l) the kernel reads input pixel

    (i·sH + k·dH − pad_top,  j·sW + l·dW − pad_left),

and reads zero where that falls in the padding. `im2col` copies these reads into a buffer shaped
(N, C·kH·kW, OH·OW), with the output pixels contiguous, so that a convolution is `W.reshape(F, −1) @ cols`.
`col2im` is its adjoint: it adds every column back onto the pixel it was read from (the gradient of
the gather, and the forward of a transposed convolution).

Both loop over the kH·kW kernel taps only. Each tap is one strided slice copy (or slice add) covering
the whole batch and all channels at once; the padding is never materialised: each tap touches only
the output pixels whose read lands inside the image, and the rest of its columns stay zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Pair = tuple[int, int]


@dataclass(frozen=True)
class Window:
    """A kernel's footprint: kernel size, stride, dilation and zero padding (top, bottom, left, right)."""

    kernel: Pair
    stride: Pair = (1, 1)
    dilation: Pair = (1, 1)
    padding: tuple[int, int, int, int] = (0, 0, 0, 0)

    @property
    def span(self) -> Pair:
        """Pixels covered by the dilated kernel: d·(k − 1) + 1 per axis."""
        return tuple(d * (k - 1) + 1 for k, d in zip(self.kernel, self.dilation, strict=True))

    def padded_size(self, in_hw: Pair) -> Pair:
        top, bottom, left, right = self.padding
        return in_hw[0] + top + bottom, in_hw[1] + left + right

    def output_size(self, in_hw: Pair) -> Pair:
        """(OH, OW) = ⌊(H + pads − d·(k − 1) − 1) / s⌋ + 1 per axis (≤ 0 when the kernel does not fit)."""
        padded, span = self.padded_size(in_hw), self.span
        return tuple((p - e) // s + 1 for p, e, s in zip(padded, span, self.stride, strict=True))

    def is_pointwise(self) -> bool:
        """A 1×1 kernel, stride 1, no padding: the image itself, reshaped, is already the cols matrix."""
        return self.kernel == (1, 1) and self.stride == (1, 1) and self.padding == (0, 0, 0, 0)


def _tap_range(offset: int, pad: int, stride: int, in_size: int, out_size: int) -> tuple[int, int, int]:
    """For one tap along one axis: outputs [lo, hi) read inside the image, starting at input index `start`.

    Output o reads input o·s + offset − pad; it is inside the image when 0 ≤ o·s + offset − pad < in_size.
    """
    lo = max(0, -((offset - pad) // stride))  # ⌈(pad − offset) / s⌉
    hi = min(out_size, (in_size - 1 + pad - offset) // stride + 1)
    hi = max(hi, lo)
    return lo, hi, lo * stride + offset - pad


def _taps(window: Window, in_hw: Pair, out_hw: Pair) -> list[tuple[int, int, slice, slice, slice, slice]]:
    """Per kernel tap (k, l): the output slices it fills and the strided input slices it reads."""
    (sh, sw), (dh, dw) = window.stride, window.dilation
    top, _, left, _ = window.padding
    taps = []
    for k in range(window.kernel[0]):
        h_lo, h_hi, h_start = _tap_range(k * dh, top, sh, in_hw[0], out_hw[0])
        for l in range(window.kernel[1]):
            w_lo, w_hi, w_start = _tap_range(l * dw, left, sw, in_hw[1], out_hw[1])
            if h_hi == h_lo or w_hi == w_lo:
                continue  # this tap reads only padding: its columns stay zero
            rows_in = slice(h_start, h_start + sh * (h_hi - h_lo - 1) + 1, sh)
            cols_in = slice(w_start, w_start + sw * (w_hi - w_lo - 1) + 1, sw)
            taps.append((k, l, slice(h_lo, h_hi), slice(w_lo, w_hi), rows_in, cols_in))
    return taps


def _covers_all(taps: list, window: Window, out_hw: Pair) -> bool:
    """True when every tap fills all of its output pixels (no read lands in the padding)."""
    full = (slice(0, out_hw[0]), slice(0, out_hw[1]))
    return len(taps) == window.kernel[0] * window.kernel[1] and all((t[2], t[3]) == full for t in taps)


def im2col(x: np.ndarray, window: Window, out_hw: Pair | None = None) -> np.ndarray:
    """Gather (N, C, H, W) into columns (N, C·kH·kW, OH·OW).

    cols[n, (c, k, l), (i, j)] = x_padded[n, c, i·s + k·d, j·s + l·d]; `out_hw` defaults to the window's output size.
    """
    n, c, h, w = x.shape
    out_hw = window.output_size((h, w)) if out_hw is None else out_hw
    if window.is_pointwise() and out_hw == (h, w):
        return x.reshape(n, c, h * w)
    kh, kw = window.kernel
    taps = _taps(window, (h, w), out_hw)
    # np.zeros of a large buffer costs no more than np.empty (fresh zero pages), and zeros are what the padding reads
    alloc = np.empty if _covers_all(taps, window, out_hw) else np.zeros
    cols = alloc((n, c, kh, kw) + tuple(out_hw), dtype=x.dtype)
    for k, l, out_rows, out_cols, in_rows, in_cols in taps:
        cols[:, :, k, l, out_rows, out_cols] = x[:, :, in_rows, in_cols]
    return cols.reshape(n, c * kh * kw, out_hw[0] * out_hw[1])


def col2im(cols: np.ndarray, window: Window, image_shape: tuple[int, int, int, int],
           out_hw: Pair | None = None) -> np.ndarray:
    """Scatter-add columns (N, C·kH·kW, OH·OW) back onto an image of `image_shape` (N, C, H, W).

    The adjoint of `im2col`: x[n, c, i·s + k·d − p, j·s + l·d − p] += cols[n, (c, k, l), (i, j)], summed over
    every (tap, output pixel) that read the same input pixel; reads of the padding are dropped.
    """
    n, c, h, w = image_shape
    out_hw = window.output_size((h, w)) if out_hw is None else out_hw
    if window.is_pointwise() and out_hw == (h, w):
        return cols.reshape(image_shape)
    kh, kw = window.kernel
    cols6 = cols.reshape((n, c, kh, kw) + tuple(out_hw))
    image = np.zeros(image_shape, dtype=cols.dtype)
    for k, l, out_rows, out_cols, in_rows, in_cols in _taps(window, (h, w), out_hw):
        image[:, :, in_rows, in_cols] += cols6[:, :, k, l, out_rows, out_cols]
    return image

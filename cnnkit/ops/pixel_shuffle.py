"""Pixel shuffle and unshuffle: moving r×r blocks between the channel and the spatial dims (sub-pixel convolution).

pixel_shuffle, upscale factor r: (*, C·r², H, W) → (*, C, H·r, W·r),
    out[c, h·r + i, w·r + j] = in[c·r² + i·r + j, h, w]
pixel_unshuffle is its inverse. Both are a reshape, a permutation and a reshape, so their backward is the
same rearrangement run the other way (the shape ops' own backward).
"""

from __future__ import annotations

from cnnkit.tensor import Tensor


def check_factor(op: str, name: str, factor: int) -> int:
    if isinstance(factor, bool) or not isinstance(factor, int) or factor < 1:
        raise ValueError(f"{op}: expected {name} to be a positive integer, got {factor!r}")
    return factor


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:  # noqa: A002
    """(*, C·r², H, W) → (*, C, H·r, W·r)."""
    r = check_factor("pixel_shuffle", "upscale_factor", upscale_factor)
    if input.ndim < 3:
        raise ValueError(f"pixel_shuffle: expected input of at least 3 dims (*, C, H, W), got shape {input.shape}")
    *batch, channels, h, w = input.shape
    if channels % (r * r):
        raise ValueError(f"pixel_shuffle: expects its input's 'channel' dimension to be divisible by the square of "
                         f"upscale_factor, but input.size(-3)={channels} is not divisible by {r * r}")
    c, k = channels // (r * r), len(batch)
    blocks = input.reshape(*batch, c, r, r, h, w)
    order = (*range(k), k, k + 3, k + 1, k + 4, k + 2)  # (*, C, H, r, W, r)
    return blocks.permute(*order).reshape(*batch, c, h * r, w * r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:  # noqa: A002
    """(*, C, H·r, W·r) → (*, C·r², H, W)."""
    r = check_factor("pixel_unshuffle", "downscale_factor", downscale_factor)
    if input.ndim < 3:
        raise ValueError(f"pixel_unshuffle: expected input of at least 3 dims (*, C, H, W), got shape {input.shape}")
    *batch, c, height, width = input.shape
    if height % r or width % r:
        raise ValueError(f"pixel_unshuffle: expects height and width to be divisible by downscale_factor, but "
                         f"input of shape {input.shape} has height {height} and width {width} and factor {r}")
    h, w, k = height // r, width // r, len(batch)
    blocks = input.reshape(*batch, c, h, r, w, r)
    order = (*range(k), k, k + 2, k + 4, k + 1, k + 3)  # (*, C, r, r, H, W)
    return blocks.permute(*order).reshape(*batch, c * r * r, h, w)

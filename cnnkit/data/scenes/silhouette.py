"""Item silhouettes: the pixels above a small threshold with their holes filled (`fill_holes(x > 10)`).

A bare `x > 0` splits 89 % of Fashion-MNIST items into pieces (faint speckle); `x > 10` leaves 8.6 % split, and
filling the holes adds about 7 pixels per item. A hole is a background pixel that no 4-connected path of
background pixels joins to the image border (scipy.ndimage.binary_fill_holes' default structure). They are
found by flooding the background from the border, for a whole stack of masks at once: first every background
pixel that sees the border along its row or column (four logical-AND scans), then 4-neighbour dilations kept
to background pixels, in bursts, on only the masks that still changed in the last burst, until none does.
Every pixel the flood never reaches is foreground. 60,000 Fashion-MNIST items take about 2 s.
"""

from __future__ import annotations

import numpy as np

THRESHOLD = 10  # grey levels out of 255
BURST = 4  # dilations between convergence checks (measured fastest on Fashion-MNIST among 1, 4, 8)


def seen_from_border(background: np.ndarray) -> np.ndarray:
    """Background pixels of (N, H, W) joined to the border by a straight run of background along a row or column."""
    scan = np.logical_and.accumulate
    seen = scan(background, axis=1) | scan(background[:, ::-1], axis=1)[:, ::-1]
    seen |= scan(background, axis=2) | scan(background[:, :, ::-1], axis=2)[:, :, ::-1]
    return seen


def dilate_within(reached: np.ndarray, background: np.ndarray, out: np.ndarray) -> None:
    """out = (reached ∪ its 4-neighbours) ∩ background, for a stack (N, H, W)."""
    out[...] = reached
    out[:, 1:, :] |= reached[:, :-1, :]
    out[:, :-1, :] |= reached[:, 1:, :]
    out[:, :, 1:] |= reached[:, :, :-1]
    out[:, :, :-1] |= reached[:, :, 1:]
    out &= background


def flood_outside(background: np.ndarray) -> np.ndarray:
    """Background pixels of a stack (N, H, W) that 4-connected background paths join to the border."""
    reached = seen_from_border(background)
    active = np.arange(len(background))
    while active.size:
        current, allowed = reached[active], background[active]
        spare = np.empty_like(current)
        for _ in range(BURST):
            dilate_within(current, allowed, spare)
            current, spare = spare, current
        dilate_within(current, allowed, spare)  # one more step tells which masks are still growing
        growing = (spare != current).any(axis=(1, 2))
        reached[active] = spare
        active = active[growing]
    return reached


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """The mask (H, W) or masks (N, H, W) with every enclosed background region set to True."""
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim not in (2, 3):
        raise ValueError(f"fill_holes: expected a mask (H, W) or masks (N, H, W), got shape {mask.shape}")
    stack = mask[None] if mask.ndim == 2 else mask
    background = np.pad(~stack, ((0, 0), (1, 1), (1, 1)), constant_values=True)  # a ring joining the border
    out = ~flood_outside(background)[:, 1:-1, 1:-1]
    return out[0] if mask.ndim == 2 else out


def silhouettes(images: np.ndarray, threshold: int = THRESHOLD) -> np.ndarray:
    """Boolean silhouettes fill_holes(images > threshold) of uint8 images (H, W) or (N, H, W)."""
    return fill_holes(np.asarray(images) > threshold)

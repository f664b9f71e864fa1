"""COCO's mask encodings: run-length encoding (RLE) and polygons, to and from boolean masks (H, W).

RLE runs over the mask in column-major (Fortran) order and alternates counts of 0s and 1s, starting with 0s (a
mask whose first pixel is set starts with a count of 0). Uncompressed RLE keeps the counts as a JSON list,
{"size": [h, w], "counts": [...]}; compressed RLE (pycocotools' strings) stores each count, from the third on
as the difference to the count two before, in 5-bit groups offset by 48 into ASCII, bit 5 meaning "more groups
follow" and bit 4 of the last group the sign. Polygons are rasterised with Pillow, which can differ from
pycocotools' rasteriser by a pixel along edges.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def encode_rle(mask: np.ndarray) -> dict[str, Any]:
    """Uncompressed RLE of a boolean mask (H, W)."""
    mask = np.asarray(mask, dtype=bool)
    h, w = mask.shape
    flat = mask.ravel(order="F")
    changes = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    counts = np.diff(np.concatenate([[0], changes, [flat.size]])).tolist()
    if flat.size and flat[0]:
        counts = [0, *counts]
    return {"size": [int(h), int(w)], "counts": [int(c) for c in counts]}


def decode_counts(counts: Sequence[int], h: int, w: int) -> np.ndarray:
    """Boolean (H, W) from alternating run lengths (0s first), column-major."""
    runs = np.asarray(counts, dtype=np.int64)
    if runs.ndim != 1 or np.any(runs < 0) or runs.sum() != h * w:
        raise ValueError(
            f"RLE counts sum to {int(runs.sum()) if runs.ndim == 1 else '?'} but the mask has "
            f"{h}×{w} = {h * w} pixels (or a count is negative)"
        )
    values = (np.arange(len(runs)) % 2).astype(bool)
    return np.repeat(values, runs).reshape((h, w), order="F")


def counts_from_string(text: str) -> list[int]:
    """pycocotools' compressed counts string → counts (its rleFrString)."""
    counts: list[int] = []
    p = 0
    while p < len(text):
        value, shift, more = 0, 0, True
        while more:
            if p >= len(text):
                raise ValueError("compressed RLE string ends inside a count")
            group = ord(text[p]) - 48
            value |= (group & 0x1F) << shift
            more = bool(group & 0x20)
            p += 1
            shift += 5
            if not more and group & 0x10:
                value |= -1 << shift  # sign-extend
        if len(counts) > 2:
            value += counts[-2]
        counts.append(value)
    return counts


def polygons_to_mask(polygons: Sequence[Sequence[float]], h: int, w: int) -> np.ndarray:
    """Boolean (H, W): the union of polygons [x1, y1, x2, y2, ...] in pixel coordinates."""
    from PIL import Image, ImageDraw

    canvas = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(canvas)
    for polygon in polygons:
        points = [float(v) for v in polygon]
        if len(points) < 6 or len(points) % 2:
            raise ValueError(f"a polygon needs at least 3 (x, y) points, got {len(points)} numbers")
        draw.polygon(list(zip(points[0::2], points[1::2], strict=True)), fill=1)
    return np.asarray(canvas, dtype=bool)


def decode_segmentation(segmentation: Any, h: int, w: int) -> np.ndarray:
    """Boolean (H, W) of any COCO segmentation: uncompressed or compressed RLE, or a list of polygons."""
    if isinstance(segmentation, list):
        return polygons_to_mask(segmentation, h, w)
    if not isinstance(segmentation, dict) or "counts" not in segmentation or "size" not in segmentation:
        raise ValueError("segmentation must be a list of polygons or an RLE {'size': [h, w], 'counts': ...}")
    if [int(v) for v in segmentation["size"]] != [h, w]:
        raise ValueError(f"RLE size {segmentation['size']} differs from the image's [{h}, {w}]")
    counts = segmentation["counts"]
    if isinstance(counts, str):
        counts = counts_from_string(counts)
    return decode_counts(counts, h, w)

"""Collate functions for dense tasks, for `DataLoader(..., collate_fn=...)`: a list of (image, target) items → a batch.

- `detection_collate`: images stacked into a float32 Tensor (B, C, H, W); targets kept as a list of B dicts
  (their numbers of boxes differ, so they cannot be stacked). torchvision's detection references return
  tuples of images instead, because their models take images of different sizes; cnnkit's batch is one array.
- `segmentation_collate`: images stacked as above, masks stacked into an int64 Tensor (B, H, W). A target may be
  a mask or a dict holding one under "mask" (as FashionScenes gives).
Images of different sizes are refused, naming the two sizes; a joint Resize or RandomCrop makes them one size.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from cnnkit.tensor import Tensor


def stack_same_size(arrays: Sequence[Any], what: str, dtype: type) -> np.ndarray:
    arrays = [np.asarray(a) for a in arrays]
    if not arrays:
        raise ValueError(f"collate: an empty batch has no {what}")
    odd = next((i for i, a in enumerate(arrays) if a.shape != arrays[0].shape), None)
    if odd is not None:
        raise ValueError(
            f"collate: cannot stack {what} of different shapes into a batch: item 0 is "
            f"{arrays[0].shape} but item {odd} is {arrays[odd].shape}; give the dataset a joint "
            f"transform that makes them one size (e.g. transforms=Resize((64, 64)))"
        )
    return np.stack(arrays).astype(dtype, copy=False)


def detection_collate(batch: Sequence[tuple[Any, Any]]) -> tuple[Tensor, list[Any]]:
    """(images Tensor (B, C, H, W), [target, ...])."""
    images = stack_same_size([image for image, _ in batch], "images", np.float32)
    return Tensor(images), [target for _, target in batch]


def segmentation_collate(batch: Sequence[tuple[Any, Any]]) -> tuple[Tensor, Tensor]:
    """(images Tensor (B, C, H, W), masks int64 Tensor (B, H, W))."""
    images = stack_same_size([image for image, _ in batch], "images", np.float32)
    masks = [target["mask"] if isinstance(target, dict) else target for _, target in batch]
    return Tensor(images), Tensor(stack_same_size(masks, "masks", np.int64), dtype=np.int64)

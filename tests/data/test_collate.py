"""Detection and segmentation collate functions, through DataLoader(collate_fn=...)."""

from __future__ import annotations

import numpy as np
import pytest

from cnnkit.data import DataLoader
from cnnkit.data.collate import detection_collate, segmentation_collate
from cnnkit.tensor import Tensor


class Scenes:
    """n items (image (1, 8, 8) filled with i, {"mask", "boxes" (i % 3 boxes), "labels"})."""

    def __init__(self, n: int = 5, odd: int | None = None) -> None:
        self.n, self.odd = n, odd

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int):
        side = 9 if i == self.odd else 8
        image = np.full((1, side, side), i, dtype=np.float32)
        boxes = np.tile(np.array([[0, 0, 2, 2]], np.float32), (i % 3, 1))
        return image, {"mask": np.full((side, side), i), "boxes": boxes, "labels": np.arange(i % 3) + 1}


def test_detection_batches_stack_images_and_list_targets():
    batches = list(DataLoader(Scenes(), batch_size=2, collate_fn=detection_collate))
    assert len(batches) == 3
    images, targets = batches[0]
    assert isinstance(images, Tensor) and images.shape == (2, 1, 8, 8) and images._data.dtype == np.float32
    assert [len(t["boxes"]) for t in targets] == [0, 1] and images._data[1].max() == 1
    assert batches[2][0].shape == (1, 1, 8, 8)


def test_segmentation_batches_stack_masks_from_dicts_or_arrays():
    images, masks = next(
        iter(DataLoader(Scenes(), batch_size=4, shuffle=True, seed=0, collate_fn=segmentation_collate))
    )
    assert masks._data.dtype == np.int64 and masks.shape == (4, 8, 8)
    assert np.array_equal(masks._data[:, 0, 0], images._data[:, 0, 0, 0].astype(np.int64))
    bare = [(np.zeros((1, 4, 4), np.float32), np.ones((4, 4), np.uint8))] * 2
    assert segmentation_collate(bare)[1]._data.sum() == 32


def test_images_of_different_sizes_are_refused():
    with pytest.raises(ValueError, match=r"cannot stack images of different shapes .* item 1 is \(1, 9, 9\)"):
        next(iter(DataLoader(Scenes(odd=1), batch_size=2, collate_fn=detection_collate)))


def test_collate_fn_and_batch_transform_do_not_mix():
    with pytest.raises(ValueError, match="pass either collate_fn or transform, not both"):
        DataLoader(Scenes(), batch_size=2, collate_fn=detection_collate, transform=lambda x: x)

"""Tiny scenes as AnnotatedImage records, written by the format tests and compared with what is read back."""

from __future__ import annotations

import numpy as np

from cnnkit.data.formats import AnnotatedImage
from cnnkit.data.scenes import CLASSES, ItemPool, generate_scenes
from tests.data.scenes.tiny_items import make_items


def tiny_records(n: int = 5, seed: int = 0, clutter: bool = True) -> list[AnnotatedImage]:
    items, labels = make_items(30, seed=seed)
    scenes = generate_scenes(ItemPool(items, labels, np.arange(30)), n, seed=seed, clutter=clutter)
    masks = scenes.masks()
    return [
        AnnotatedImage(
            f"scene_{i:03d}",
            scenes.images[i],
            scenes.boxes[scenes.objects(i)],
            scenes.labels[scenes.objects(i)],
            masks[i],
            scenes.instances[i],
        )
        for i in range(n)
    ]


__all__ = ["tiny_records", "CLASSES"]

"""DataLoader: batches of (images float32 (B, C, H, W), labels int64 (B,)) as cnnkit Tensors.

Array-backed datasets (with `data` and `targets`, and no per-item transform), also behind `Subset`s, are batched
with one fancy-indexing gather and one vectorised conversion; any other dataset is indexed item by item and
stacked. Shuffling draws one permutation per epoch from the loader's own generator, seeded by `seed` or, when
None, by a seed drawn once from cnnkit's global generator (so `cnnkit.manual_seed` makes it repeatable).
With `collate_fn`, each batch is `collate_fn([dataset[i] for i in batch_indices])`, as torch's DataLoader (for
targets that do not stack, e.g. `cnnkit.data.collate.detection_collate`); the batch `transform` then does not
apply, since the loader no longer knows which part is the image. With `sampler` (e.g.
`cnnkit.distributed.DistributedSampler`), each epoch's indices are the sampler's, in its order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from cnnkit.data.dataset import Subset
from cnnkit.data.transforms import image_to_float
from cnnkit.random import default_generator
from cnnkit.tensor import Tensor


def resolve_subsets(dataset: Any, indices: np.ndarray) -> tuple[Any, np.ndarray]:
    """Follow Subset chains down to the underlying dataset, mapping the indices on the way (no copies of data)."""
    while isinstance(dataset, Subset):
        indices = dataset.indices[indices]
        dataset = dataset.dataset
    return dataset, indices


def is_array_backed(dataset: Any) -> bool:
    """True when a batch can be gathered straight from `dataset.data` / `dataset.targets`."""
    data, targets = getattr(dataset, "data", None), getattr(dataset, "targets", None)
    return (isinstance(data, np.ndarray) and (data.dtype == np.uint8 or data.dtype.kind == "f")
            and data.ndim in (3, 4) and targets is not None and len(targets) == len(data)
            and getattr(dataset, "transform", None) is None and getattr(dataset, "target_transform", None) is None)


def gather_arrays(dataset: Any, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One fancy-indexing gather + one conversion: uint8 (B, H, W[, C]) -> float32 (B, C, H, W) in [0, 1].
    Targets: integer ones (class labels) as int64, floating ones (boxes, regression targets) as float32."""
    images = dataset.data[indices]
    images = image_to_float(images, batched=True) if images.dtype == np.uint8 else images.astype(np.float32)
    targets = np.asarray(dataset.targets)[indices]
    kind = np.float32 if np.issubdtype(targets.dtype, np.floating) else np.int64
    return images, targets.astype(kind, copy=False)


def describe_item(dataset: Any, index: int) -> str:
    describe = getattr(dataset, "describe", None)
    return f"item {index} ({describe(index)})" if describe is not None else f"item {index}"


def stack_items(dataset: Any, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index item by item and stack; images of different shapes are refused, naming two of them."""
    images, labels = [], []
    for i in indices:
        image, label = dataset[int(i)]
        image = np.asarray(image)
        images.append(image_to_float(image, batched=False) if image.dtype == np.uint8 else image)
        labels.append(label)
    first = images[0].shape
    odd = next((k for k, image in enumerate(images) if image.shape != first), None)
    if odd is not None:
        base, other = resolve_subsets(dataset, np.array([indices[0], indices[odd]]))
        raise ValueError(f"DataLoader: cannot stack images of different shapes into a batch: "
                         f"{describe_item(base, int(other[0]))} is {first} but "
                         f"{describe_item(base, int(other[1]))} is {images[odd].shape}; give the dataset a "
                         f"transform that makes them one size (e.g. transform=Resize((32, 32)))")
    batch = np.stack(images)
    if batch.dtype.kind == "f" and batch.dtype != np.float32:
        batch = batch.astype(np.float32)
    label_array = np.asarray(labels)
    if label_array.dtype.kind in "iub":
        label_array = label_array.astype(np.int64)
    return batch, label_array


class DataLoader:
    """Iterate over a dataset in (shuffled) batches; each epoch is one `for images, labels in loader` loop."""

    def __init__(self, dataset: Any, batch_size: int = 1, shuffle: bool = False, drop_last: bool = False,
                 seed: int | None = None, transform: Callable | None = None,
                 collate_fn: Callable | None = None, sampler: Any = None) -> None:
        if not hasattr(dataset, "__len__") or not hasattr(dataset, "__getitem__"):
            raise TypeError(f"DataLoader: expected a dataset with __len__ and __getitem__, "
                            f"got {type(dataset).__name__}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer) or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive integer, got {batch_size!r}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        if collate_fn is not None and transform is not None:
            raise ValueError("DataLoader: pass either collate_fn or transform, not both (a collate_fn's batch has "
                             "no known image part for the transform; transform the items in the dataset instead)")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle (the sampler decides the "
                             "order, e.g. DistributedSampler(dataset, shuffle=True))")
        self.transform = transform
        self.collate_fn = collate_fn
        self.sampler = sampler
        if shuffle and seed is None:
            seed = int(default_generator().integers(2**63))
        self.seed = seed
        self.generator = np.random.default_rng(seed) if shuffle else None

    def __len__(self) -> int:
        n = len(self.sampler if self.sampler is not None else self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def epoch_order(self) -> np.ndarray:
        """The dataset indices of one epoch: the sampler's, else a fresh permutation when shuffling, else 0..N-1."""
        if self.sampler is not None:
            return np.fromiter(iter(self.sampler), dtype=np.int64)
        n = len(self.dataset)
        return self.generator.permutation(n) if self.generator is not None else np.arange(n)

    def batch_arrays(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(images float32 (B, C, H, W), labels (B,)) of the given dataset indices, before the batch transform."""
        base, base_indices = resolve_subsets(self.dataset, indices)
        if is_array_backed(base):
            return gather_arrays(base, base_indices)
        return stack_items(self.dataset, indices)

    def __iter__(self) -> Iterator[Any]:
        order = self.epoch_order()
        stop = len(self) * self.batch_size
        for start in range(0, min(stop, len(order)), self.batch_size):
            if self.collate_fn is not None:
                yield self.collate_fn([self.dataset[int(i)] for i in order[start : start + self.batch_size]])
                continue
            images, labels = self.batch_arrays(order[start:start + self.batch_size])
            if self.transform is not None:
                images = np.asarray(self.transform(images))
            yield Tensor(images), Tensor(labels)

    def __repr__(self) -> str:
        return (f"DataLoader(dataset={type(self.dataset).__name__}, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last}, batches={len(self)})")

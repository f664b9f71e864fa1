"""DataLoader: batch shapes and dtypes, len/drop_last, shuffling (coverage, determinism), the vectorised path for
array-backed datasets and Subsets, the item-by-item fallback, batch transforms; plus ArrayDataset/random_split."""

from __future__ import annotations

import numpy as np
import pytest

import cnnkit
from cnnkit.data import ArrayDataset, DataLoader, Subset, random_split


def digits_dataset(n: int = 10, side: int = 4, channels: int | None = None, seed: int = 0) -> ArrayDataset:
    """uint8 images whose label is their own index, so a batch's labels tell which items it holds."""
    shape = (n, side, side) if channels is None else (n, side, side, channels)
    data = np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)
    return ArrayDataset(data, np.arange(n))


class NoGetItem(ArrayDataset):
    def __getitem__(self, index):
        raise AssertionError("the vectorised path must not index item by item")


class PlainDataset:
    """Not array-backed: only __len__ and __getitem__."""

    def __init__(self, base: ArrayDataset) -> None:
        self.base = base

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, index):
        return self.base[index]


def epoch_labels(loader: DataLoader) -> np.ndarray:
    return np.concatenate([labels._data for _, labels in loader])


@pytest.mark.parametrize("channels", [None, 3])
def test_batches_are_float32_nchw_and_int64(channels):
    ds = digits_dataset(n=7, channels=channels)
    batches = list(DataLoader(ds, batch_size=3))
    assert [len(labels) for _, labels in batches] == [3, 3, 1]
    c = 1 if channels is None else 3
    for images, labels in batches:
        assert isinstance(images, cnnkit.Tensor) and isinstance(labels, cnnkit.Tensor)
        assert images.dtype == np.float32 and images.shape == (len(labels), c, 4, 4) and not images.requires_grad
        assert labels.dtype == np.int64
        for image, index in zip(images._data, labels._data, strict=True):
            raw = ds.data[index] if channels is None else ds.data[index].transpose(2, 0, 1)
            np.testing.assert_array_equal(image.reshape(raw.shape), raw.astype(np.float32) / 255)


@pytest.mark.parametrize("n, batch, drop_last, expected", [(10, 3, False, 4), (10, 3, True, 3), (9, 3, True, 3),
                                                           (9, 3, False, 3), (2, 5, True, 0), (2, 5, False, 1)])
def test_len_and_drop_last(n, batch, drop_last, expected):
    loader = DataLoader(digits_dataset(n), batch_size=batch, drop_last=drop_last, shuffle=True, seed=0)
    assert len(loader) == expected
    sizes = [len(labels) for _, labels in loader]
    assert len(sizes) == expected
    assert all(s == batch for s in sizes) if drop_last else sum(sizes) == n


def test_unshuffled_order_is_the_dataset_order():
    np.testing.assert_array_equal(epoch_labels(DataLoader(digits_dataset(11), batch_size=4)), np.arange(11))


def test_shuffle_covers_every_index_once_per_epoch_and_varies():
    loader = DataLoader(digits_dataset(25), batch_size=4, shuffle=True, seed=7)
    first, second = epoch_labels(loader), epoch_labels(loader)
    assert sorted(first.tolist()) == list(range(25)) and sorted(second.tolist()) == list(range(25))
    assert not np.array_equal(first, second)
    assert not np.array_equal(first, np.arange(25))


def test_sampler_decides_the_order_and_the_length():
    sampler = [7, 2, 9, 0, 4]  # anything with __len__ and __iter__ over indices
    loader = DataLoader(digits_dataset(10), batch_size=2, sampler=sampler)
    assert len(loader) == 3
    np.testing.assert_array_equal(epoch_labels(loader), sampler)
    assert len(DataLoader(digits_dataset(10), batch_size=2, sampler=sampler, drop_last=True)) == 2


def test_sampler_with_shuffle_is_refused():
    with pytest.raises(ValueError, match="mutually exclusive with shuffle"):
        DataLoader(digits_dataset(4), sampler=[0, 1], shuffle=True)


def test_same_seed_same_sequence_of_epochs():
    a = DataLoader(digits_dataset(20), batch_size=6, shuffle=True, seed=3)
    b = DataLoader(digits_dataset(20), batch_size=6, shuffle=True, seed=3)
    c = DataLoader(digits_dataset(20), batch_size=6, shuffle=True, seed=4)
    runs_a = [epoch_labels(a) for _ in range(3)]
    runs_b = [epoch_labels(b) for _ in range(3)]
    for x, y in zip(runs_a, runs_b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(runs_a[0], epoch_labels(c))


def test_default_seed_follows_manual_seed():
    cnnkit.manual_seed(11)
    first = epoch_labels(DataLoader(digits_dataset(30), batch_size=8, shuffle=True))
    cnnkit.manual_seed(11)
    again = epoch_labels(DataLoader(digits_dataset(30), batch_size=8, shuffle=True))
    cnnkit.manual_seed(12)
    other = epoch_labels(DataLoader(digits_dataset(30), batch_size=8, shuffle=True))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_array_backed_dataset_batches_without_getitem():
    base = digits_dataset(9)
    ds = NoGetItem(base.data, base.targets)
    images, labels = next(iter(DataLoader(ds, batch_size=9, shuffle=True, seed=1)))
    np.testing.assert_array_equal(images._data[:, 0], base.data[labels._data] / np.float32(255))


def test_subset_of_array_backed_dataset_stays_vectorised():
    base = digits_dataset(12)
    ds = NoGetItem(base.data, base.targets)
    subset = Subset(Subset(ds, [11, 3, 5, 7, 0, 2]), [1, 3, 5])
    images, labels = next(iter(DataLoader(subset, batch_size=3)))
    assert labels.tolist() == [3, 7, 2]
    np.testing.assert_array_equal(images._data[:, 0], base.data[[3, 7, 2]] / np.float32(255))


def test_fallback_matches_vectorised_path():
    ds = digits_dataset(8, channels=3, seed=2)
    fast = list(DataLoader(ds, batch_size=3, shuffle=True, seed=5))
    slow = list(DataLoader(PlainDataset(ds), batch_size=3, shuffle=True, seed=5))
    for (fi, fl), (si, sl) in zip(fast, slow, strict=True):
        np.testing.assert_array_equal(fi._data, si._data)
        np.testing.assert_array_equal(fl._data, sl._data)
        assert si.dtype == np.float32 and sl.dtype == np.int64


def test_dataset_transform_forces_per_item_path():
    base = digits_dataset(5)
    ds = ArrayDataset(base.data, base.targets, transform=lambda x: 1 - x, target_transform=lambda y: y * 10)
    images, labels = next(iter(DataLoader(ds, batch_size=5)))
    np.testing.assert_allclose(images._data[:, 0], 1 - base.data / np.float32(255), rtol=1e-6)
    assert labels.tolist() == [0, 10, 20, 30, 40]


def test_float_images_pass_as_float32():
    data = np.random.default_rng(0).random((6, 2, 3, 3))  # float64, already (N, C, H, W)
    images, _ = next(iter(DataLoader(ArrayDataset(data, np.zeros(6, int)), batch_size=4)))
    assert images.dtype == np.float32 and images.shape == (4, 2, 3, 3)
    np.testing.assert_array_equal(images._data, data[:4].astype(np.float32))


def test_float_targets_stay_float32_and_integer_targets_become_int64():
    data = np.zeros((6, 1, 2, 2), np.float32)
    boxes = np.random.default_rng(0).random((6, 4)) * 60  # float64 regression targets

    class Boxes:  # an array-backed data set of the user's own: `data` and `targets`, batched by one gather
        def __init__(self) -> None:
            self.data, self.targets = data, boxes

        def __len__(self) -> int:
            return len(self.data)

        def __getitem__(self, index: int):
            raise AssertionError("an array-backed data set is gathered whole, not item by item")

    _, targets = next(iter(DataLoader(Boxes(), batch_size=4)))
    assert targets.dtype == np.float32
    np.testing.assert_array_equal(targets._data, boxes[:4].astype(np.float32))  # not truncated to whole numbers
    _, labels = next(iter(DataLoader(ArrayDataset(data, np.arange(6, dtype=np.int32)), batch_size=4)))
    assert labels.dtype == np.int64 and labels.tolist() == [0, 1, 2, 3]


def test_batch_transform_sees_whole_batches():
    seen = []

    def record(batch):
        seen.append(batch.shape)
        return batch * 2

    ds = digits_dataset(5)
    images = [x for x, _ in DataLoader(ds, batch_size=2, transform=record)]
    assert seen == [(2, 1, 4, 4), (2, 1, 4, 4), (1, 1, 4, 4)]
    np.testing.assert_allclose(images[0]._data[:, 0], ds.data[:2] / np.float32(255) * 2, rtol=1e-6)


def test_bad_arguments_refused():
    with pytest.raises(ValueError, match=r"DataLoader: batch_size must be a positive integer, got 0"):
        DataLoader(digits_dataset(), batch_size=0)
    with pytest.raises(TypeError, match=r"DataLoader: expected a dataset with __len__ and __getitem__, got int"):
        DataLoader(5)


# ------------------------------------------------------------------------------------------------ datasets
def test_array_dataset_checks_inputs():
    with pytest.raises(ValueError, match=r"ArrayDataset: 3 images but 2 labels"):
        ArrayDataset(np.zeros((3, 2, 2), np.uint8), [0, 1])
    with pytest.raises(TypeError, match=r"ArrayDataset: expected uint8 or floating images, got dtype int32"):
        ArrayDataset(np.zeros((3, 2, 2), np.int32), [0, 1, 2])
    with pytest.raises(ValueError, match=r"ArrayDataset: expected images of shape"):
        ArrayDataset(np.zeros((3, 2), np.uint8), [0, 1, 2])
    ds = ArrayDataset(np.zeros((3, 2, 2), np.uint8), [0, 4, 1])
    assert ds.classes == ["0", "1", "2", "3", "4"] and ds.targets.dtype == np.int64


def test_subset_checks_range():
    with pytest.raises(IndexError, match=r"Subset: indices must lie in \[0, 4\)"):
        Subset(digits_dataset(4), [0, 4])


@pytest.mark.parametrize("lengths, expected", [([3, 7], [3, 7]), ([0.5, 0.5], [5, 5]), ([0.34, 0.33, 0.33], [4, 3, 3]),
                                               ([1.0, 0.0], [10, 0])])
def test_random_split_lengths_and_disjoint_cover(lengths, expected):
    parts = random_split(digits_dataset(10), lengths, seed=0)
    assert [len(p) for p in parts] == expected
    covered = np.concatenate([p.indices for p in parts])
    assert sorted(covered.tolist()) == list(range(10))
    again = random_split(digits_dataset(10), lengths, seed=0)
    for p, q in zip(parts, again, strict=True):
        np.testing.assert_array_equal(p.indices, q.indices)


def test_random_split_refuses_bad_lengths():
    with pytest.raises(ValueError, match=r"random_split: lengths \[3, 3\] do not add up to the dataset's 10 items"):
        random_split(digits_dataset(10), [3, 3])
    with pytest.raises(ValueError, match=r"random_split: lengths must be integers or fractions summing to 1"):
        random_split(digits_dataset(10), [0.5, 0.2])

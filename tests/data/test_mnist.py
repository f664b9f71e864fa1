"""MNIST-family datasets read from tiny IDX files written by the tests, and the real Fashion-MNIST when installed."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from cnnkit.data import KMNIST, MNIST, DatasetFormatError, FashionMNIST
from tests.data.builders import idx_bytes, random_split_arrays, write, write_mnist
from tests.data.conftest import SYSTEM_FASHION_SPEC


@pytest.mark.parametrize("gz", [True, False])
@pytest.mark.parametrize("cls", [MNIST, FashionMNIST, KMNIST])
@pytest.mark.parametrize("train", [True, False])
def test_reads_both_splits(tmp_path, cls, gz, train):
    expected = write_mnist(tmp_path, n_train=7, n_test=4, gz=gz)["train" if train else "test"]
    ds = cls(root=tmp_path, train=train, download=False)
    assert len(ds) == len(expected[0])
    assert ds.data.dtype == np.uint8 and ds.data.shape == expected[0].shape
    assert ds.targets.dtype == np.int64
    np.testing.assert_array_equal(ds.data, expected[0])
    np.testing.assert_array_equal(ds.targets, expected[1])
    assert len(ds.classes) == 10 and ds.class_to_idx[ds.classes[3]] == 3
    assert ds.folder == tmp_path


def test_item_is_float_chw_in_unit_range_and_int_label(tmp_path):
    images, labels = write_mnist(tmp_path, n_train=3)["train"]
    image, label = FashionMNIST(tmp_path, download=False)[2]
    assert isinstance(image, np.ndarray) and image.dtype == np.float32 and image.shape == (1, 28, 28)
    np.testing.assert_array_equal(image[0], images[2].astype(np.float32) / 255)
    assert type(label) is int and label == labels[2]


def test_transforms_apply_per_item(tmp_path):
    images, labels = write_mnist(tmp_path, n_train=3)["train"]
    ds = MNIST(tmp_path, transform=lambda x: x * 2, target_transform=lambda y: y + 100, download=False)
    image, label = ds[1]
    np.testing.assert_allclose(image[0], images[1] / 255 * 2, rtol=1e-6)
    assert label == labels[1] + 100


def test_classes_as_torchvision():
    assert FashionMNIST.classes[0] == "T-shirt/top" and FashionMNIST.classes[9] == "Ankle boot"
    assert MNIST.classes[7] == "7 - seven"
    assert KMNIST.classes == ["o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"]


@pytest.mark.parametrize("layout", ["", "fashion-mnist", "FashionMNIST/raw", "raw", "fashion_mnist"])
def test_lenient_root_layouts(tmp_path, layout):
    expected = write_mnist(tmp_path / layout if layout else tmp_path, n_train=4)["train"]
    ds = FashionMNIST(root=tmp_path, download=False)
    np.testing.assert_array_equal(ds.data, expected[0])


def test_dotted_file_names_accepted(tmp_path):
    expected = write_mnist(tmp_path, n_train=4, gz=False, dotted=True)["train"]
    np.testing.assert_array_equal(MNIST(tmp_path, download=False).targets, expected[1])


def test_count_mismatch_refused(tmp_path):
    images, labels = random_split_arrays(5, 0)
    write(tmp_path / "train-images-idx3-ubyte.gz", idx_bytes(images), gz=True)
    write(tmp_path / "train-labels-idx1-ubyte.gz", idx_bytes(labels[:4]), gz=True)
    with pytest.raises(DatasetFormatError, match=r"MNIST \(train split\): .*train-images-idx3-ubyte.gz holds 5 images "
                                                 r"but .*train-labels-idx1-ubyte.gz holds 4 labels"):
        MNIST(tmp_path, download=False)


def test_label_out_of_range_refused(tmp_path):
    images, labels = random_split_arrays(5, 0)
    labels[3] = 12
    write(tmp_path / "train-images-idx3-ubyte", idx_bytes(images), gz=False)
    write(tmp_path / "train-labels-idx1-ubyte", idx_bytes(labels), gz=False)
    with pytest.raises(DatasetFormatError, match=r"train-labels-idx1-ubyte has label 12 at index 3 .*outside 0..9"):
        MNIST(tmp_path, download=False)


@pytest.mark.parametrize("corruption", ["magic", "truncated", "trailing"])
def test_corrupt_file_refuses_whole_dataset(tmp_path, corruption):
    write_mnist(tmp_path, n_train=4, gz=True)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    good = idx_bytes(random_split_arrays(4, 0)[0])
    bad = {"magic": b"\x00\x00\x08\x02" + good[4:], "truncated": good[:-1], "trailing": good + b"x"}[corruption]
    write(path, bad, gz=True)
    with pytest.raises(DatasetFormatError, match=str(path)):
        FashionMNIST(tmp_path, download=False)


SYSTEM = Path(SYSTEM_FASHION_SPEC.system_dirs[0])


@pytest.mark.skipif(not SYSTEM.is_dir(), reason="Debian's dataset-fashion-mnist is not installed")
def test_system_fashion_mnist(monkeypatch):
    monkeypatch.setattr(FashionMNIST, "spec", dataclasses.replace(SYSTEM_FASHION_SPEC))
    train = FashionMNIST(download=False)
    test = FashionMNIST(train=False, download=False)
    assert train.folder == SYSTEM and test.folder == SYSTEM
    assert train.data.shape == (60000, 28, 28) and test.data.shape == (10000, 28, 28)
    assert train.targets[:5].tolist() == [9, 0, 0, 3, 0] and test.targets[:5].tolist() == [9, 2, 1, 1, 6]
    assert np.bincount(train.targets).tolist() == [6000] * 10  # Fashion-MNIST is balanced
    assert train.classes[int(train.targets[0])] == "Ankle boot"

"""CIFAR-10 binary version: from the tar.gz (not extracted) or from extracted files; malformed files refused."""

from __future__ import annotations

import numpy as np
import pytest

from cnnkit.data import CIFAR10, DatasetFormatError
from tests.data.builders import CIFAR_NAMES, cifar_members, write_cifar_folder, write_cifar_tar


def check(ds: CIFAR10, expected: tuple[np.ndarray, np.ndarray]) -> None:
    images, labels = expected
    assert ds.data.dtype == np.uint8 and ds.data.shape == images.shape
    np.testing.assert_array_equal(ds.data, images)
    np.testing.assert_array_equal(ds.targets, labels)
    assert ds.targets.dtype == np.int64
    assert ds.classes == CIFAR_NAMES


@pytest.mark.parametrize("train", [True, False])
def test_reads_from_tar_without_extracting(tmp_path, train):
    members, expected = cifar_members(per_batch=2, n_test=3)
    write_cifar_tar(tmp_path / "cifar-10-binary.tar.gz", members)
    ds = CIFAR10(tmp_path, train=train, download=False)
    check(ds, expected["train" if train else "test"])
    assert len(ds) == (10 if train else 3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cifar-10-binary.tar.gz"]  # nothing extracted


@pytest.mark.parametrize("sub", ["cifar-10-batches-bin", "", "cifar-10/cifar-10-batches-bin"])
def test_reads_extracted_files(tmp_path, sub):
    members, expected = cifar_members(per_batch=1, n_test=2, seed=5)
    write_cifar_folder(tmp_path / sub if sub else tmp_path, members)
    check(CIFAR10(tmp_path, train=False, download=False), expected["test"])
    check(CIFAR10(tmp_path, train=True, download=False), expected["train"])


def test_item_is_chw_planes(tmp_path):
    members, expected = cifar_members(per_batch=1, n_test=2)
    write_cifar_folder(tmp_path, members)
    image, label = CIFAR10(tmp_path, train=False, download=False)[1]
    assert image.shape == (3, 32, 32) and image.dtype == np.float32
    np.testing.assert_array_equal(image, expected["test"][0][1].transpose(2, 0, 1) / np.float32(255))
    assert label == expected["test"][1][1]


def test_classes_default_without_meta(tmp_path):
    members, _ = cifar_members(per_batch=1, n_test=1)
    del members["batches.meta.txt"]
    write_cifar_folder(tmp_path, members)
    assert CIFAR10(tmp_path, train=False, download=False).classes == CIFAR_NAMES


@pytest.mark.parametrize("extra", [1, -1, 3072])
def test_bad_record_size_refused(tmp_path, extra):
    members, _ = cifar_members(per_batch=1, n_test=2)
    payload = members["test_batch.bin"]
    members["test_batch.bin"] = payload + b"\x00" * extra if extra > 0 else payload[:extra]
    write_cifar_tar(tmp_path / "cifar-10-binary.tar.gz", members)
    with pytest.raises(DatasetFormatError, match=r"test_batch.bin \(in .*cifar-10-binary.tar.gz\): \d+ bytes is not a "
                                                 r"whole, non-zero number of 3073-byte records"):
        CIFAR10(tmp_path, train=False, download=False)


def test_bad_label_refused(tmp_path):
    members, _ = cifar_members(per_batch=1, n_test=2)
    payload = bytearray(members["data_batch_3.bin"])
    payload[0] = 10
    members["data_batch_3.bin"] = bytes(payload)
    write_cifar_folder(tmp_path, members)
    with pytest.raises(DatasetFormatError, match=r"data_batch_3.bin: record 0 has label 10, outside 0..9"):
        CIFAR10(tmp_path, download=False)


def test_archive_missing_member_refused(tmp_path):
    members, _ = cifar_members(per_batch=1, n_test=1)
    del members["data_batch_4.bin"]
    write_cifar_tar(tmp_path / "cifar-10-binary.tar.gz", members)
    with pytest.raises(DatasetFormatError, match=r"cifar-10-binary.tar.gz: lacks data_batch_4.bin"):
        CIFAR10(tmp_path, download=False)


def test_corrupt_archive_refused(tmp_path):
    (tmp_path / "cifar-10-binary.tar.gz").write_bytes(b"\x1f\x8b\x08\x00 not really gzip")
    with pytest.raises(DatasetFormatError, match=r"cifar-10-binary.tar.gz: cannot be read as a tar.gz"):
        CIFAR10(tmp_path, download=False)


def test_meta_with_wrong_class_count_refused(tmp_path):
    members, _ = cifar_members(per_batch=1, n_test=1)
    members["batches.meta.txt"] = b"cat\ndog\n"
    write_cifar_folder(tmp_path, members)
    with pytest.raises(DatasetFormatError, match=r"batches.meta.txt: expected 10 class names, got 2"):
        CIFAR10(tmp_path, train=False, download=False)

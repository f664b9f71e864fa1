"""The IDX reader: round trips, gzip detection, and every malformed-file case refused with a clear message."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from cnnkit.data import DatasetFormatError, read_idx, read_idx_images, read_idx_labels
from cnnkit.data.idx import encode_idx, parse_idx
from tests.data.builders import idx_bytes


@pytest.mark.parametrize("gz", [True, False])
@pytest.mark.parametrize("shape", [(3, 4, 5), (1, 28, 28), (0, 2, 2)])
def test_images_round_trip(tmp_path, rng, gz, shape):
    images = rng.integers(0, 256, shape, dtype=np.uint8)
    path = tmp_path / "x-images-idx3-ubyte"
    path.write_bytes(gzip.compress(idx_bytes(images)) if gz else idx_bytes(images))
    out = read_idx_images(path)
    assert out.dtype == np.uint8 and out.shape == shape
    np.testing.assert_array_equal(out, images)
    out[...] = 0  # writable, as torchvision's tensors are


def test_labels_round_trip(tmp_path):
    labels = np.array([3, 0, 9, 9, 1], dtype=np.uint8)
    path = tmp_path / "labels.gz"
    path.write_bytes(gzip.compress(idx_bytes(labels)))
    np.testing.assert_array_equal(read_idx_labels(path), labels)


def test_gzip_detected_by_content_not_name(tmp_path):
    labels = np.arange(7, dtype=np.uint8)
    (tmp_path / "plain.gz").write_bytes(idx_bytes(labels))  # misnamed: not compressed
    (tmp_path / "packed").write_bytes(gzip.compress(idx_bytes(labels)))  # misnamed: compressed
    np.testing.assert_array_equal(read_idx(tmp_path / "plain.gz"), labels)
    np.testing.assert_array_equal(read_idx(tmp_path / "packed"), labels)


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.float32, np.float64])
def test_other_idx_types_round_trip_big_endian(dtype, rng):
    values = (rng.standard_normal((2, 3)) * 50).astype(dtype)
    buffer = encode_idx(values)
    itemsize = np.dtype(dtype).itemsize
    assert buffer[8 + 4: 8 + 4 + itemsize] == values.astype(np.dtype(dtype).newbyteorder(">")).tobytes()[:itemsize]
    out = parse_idx(buffer)
    assert out.dtype == np.dtype(dtype) and out.dtype.isnative
    np.testing.assert_array_equal(out, values)


def test_wrong_magic_names_file_and_both_numbers(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(idx_bytes(np.zeros(4, np.uint8)))  # a labels file where images are expected
    with pytest.raises(DatasetFormatError, match=r"train-images-idx3-ubyte: wrong magic number 0x00000801, "
                                                 r"expected 0x00000803"):
        read_idx_images(path)


def test_not_idx_at_all(tmp_path):
    path = tmp_path / "junk"
    path.write_bytes(b"PK\x03\x04 this is a zip file")
    with pytest.raises(DatasetFormatError, match=r"junk: 0x504B0304 is not an IDX magic number"):
        read_idx(path)


def test_truncated_data_refused(tmp_path):
    full = idx_bytes(np.ones((3, 4, 4), np.uint8))
    path = tmp_path / "short-images"
    path.write_bytes(gzip.compress(full[:-5]))
    with pytest.raises(DatasetFormatError, match=r"short-images: truncated: the header promises shape \(3, 4, 4\) "
                                                 r"\(48 bytes of data\) but only 43 bytes follow"):
        read_idx_images(path)


def test_truncated_header_refused(tmp_path):
    path = tmp_path / "h"
    path.write_bytes(struct.pack(">BBBB", 0, 0, 8, 3) + struct.pack(">I", 5))
    with pytest.raises(DatasetFormatError, match=r"truncated header \(8 bytes, need 16 for 3 dimensions\)"):
        read_idx_images(path)


def test_too_short_for_magic(tmp_path):
    path = tmp_path / "tiny"
    path.write_bytes(b"\x00\x00")
    with pytest.raises(DatasetFormatError, match=r"tiny: only 2 bytes"):
        read_idx(path)


def test_trailing_garbage_refused(tmp_path):
    path = tmp_path / "long-labels"
    path.write_bytes(idx_bytes(np.arange(5, dtype=np.uint8)) + b"\x00\x01\x02")
    with pytest.raises(DatasetFormatError, match=r"long-labels: 3 bytes of trailing garbage after the 5 bytes"):
        read_idx_labels(path)


def test_corrupt_gzip_refused(tmp_path):
    packed = gzip.compress(idx_bytes(np.arange(200, dtype=np.uint8)))
    path = tmp_path / "cut.gz"
    path.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(DatasetFormatError, match=r"cut.gz: corrupt or truncated gzip stream"):
        read_idx_labels(path)


def test_encode_refuses_unknown_dtype():
    with pytest.raises(TypeError, match="encode_idx: dtype uint16"):
        encode_idx(np.zeros(3, np.uint16))

"""IDX files (MNIST's format): decompression bombs, impossible headers, empty files — refused by name, bounded."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from cnnkit.data import DatasetFormatError, read_idx, read_idx_images
from cnnkit.data.idx import MAX_IDX_BYTES
from tests.hostile.helpers import GiB, one_line_refusal, refused, run_cli, run_fenced
from tests.training.tiny_data import write_tiny_fashion

ZEROS = 64 << 20  # bytes of zeros in one gzip member (~65 KB compressed)


def images_header(n: int, h: int = 28, w: int = 28) -> bytes:
    return struct.pack(">BBBBIII", 0, 0, 0x08, 3, n, h, w)


def write_bomb(path, header: bytes, inflated: int) -> int:
    """A gzip file inflating to `header` + `inflated` zero bytes, as repeated members (a 7.8 GB stream in ~8 MB)."""
    member = gzip.compress(bytes(ZEROS), compresslevel=9)
    with open(path, "wb") as f:
        f.write(gzip.compress(header))
        for _ in range(inflated // ZEROS):
            f.write(member)
        f.write(gzip.compress(bytes(inflated % ZEROS)))
    return path.stat().st_size


def read_fenced(path, memory: int = GiB):
    return run_fenced(f"""
        from cnnkit.data import read_idx_images, DatasetFormatError
        try:
            read_idx_images({str(path)!r})
        except DatasetFormatError as error:
            print("refused:", error)
        else:
            print("read")
        """, memory=memory, timeout=60)


def test_the_ten_million_image_bomb_is_refused_from_its_header_under_1_gib(tmp_path):
    bomb = tmp_path / "train-images-idx3-ubyte.gz"
    size = write_bomb(bomb, images_header(10_000_000), 10_000_000 * 784)
    assert size < 10 << 20  # ~8 MB on disk, 7.84 GB inflated
    result = read_fenced(bomb)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("refused:") and str(bomb) in result.stdout
    assert "7,840,000,000 bytes" in result.stdout


def test_a_bomb_under_the_size_bound_is_refused_by_its_compression_ratio(tmp_path):
    bomb = tmp_path / "images.gz"
    n = (1 * GiB) // 784  # ~1 GiB claimed, below MAX_IDX_BYTES, from a file of ~1 MB
    write_bomb(bomb, images_header(n), n * 784)
    with pytest.raises(DatasetFormatError, match=r"images.gz: .* times the .*decompression bomb"):
        read_idx_images(bomb)


def test_a_small_header_followed_by_a_bomb_is_refused_as_trailing_data_under_1_gib(tmp_path):
    bomb = tmp_path / "t10k-images-idx3-ubyte.gz"
    write_bomb(bomb, images_header(10) + bytes(7840), 4 * GiB)  # 10 images, then 4 GiB of "trailing" zeros
    result = read_fenced(bomb)
    assert result.returncode == 0, result.stderr
    assert "trailing garbage" in result.stdout and str(bomb) in result.stdout


@pytest.mark.parametrize("dims", [(2**32 - 1,) * 3, (2**31, 2**31, 4), (2**16, 2**16, 2**16)])
def test_header_dimensions_whose_product_overflows_are_refused(tmp_path, dims):
    path = tmp_path / "overflow-idx3-ubyte"
    path.write_bytes(struct.pack(">BBBBIII", 0, 0, 0x08, 3, *dims) + bytes(100))
    with pytest.raises(DatasetFormatError, match=r"overflow-idx3-ubyte: the header declares shape .* more than"):
        read_idx(path)


def test_float64_dims_are_sized_by_their_item_size(tmp_path):
    n = MAX_IDX_BYTES // 8 + 1  # fits the bound counted in elements, not in bytes
    path = tmp_path / "doubles"
    path.write_bytes(struct.pack(">BBBBI", 0, 0, 0x0E, 1, n))
    with pytest.raises(DatasetFormatError, match="more than"):
        read_idx(path)


def test_the_exact_bytes_are_read_and_values_kept(tmp_path):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    path = tmp_path / "ok.gz"
    path.write_bytes(gzip.compress(images_header(2, 3, 4) + images.tobytes()))
    np.testing.assert_array_equal(read_idx_images(path), images)


def _bad_split(tmp_path, images: bytes):
    folder = write_tiny_fashion(tmp_path / "data", n_train=16, n_test=8)
    (folder / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(images))
    return folder, folder / "train-images-idx3-ubyte.gz"


def test_zero_images_are_refused_by_the_cli_naming_the_file(tmp_path, capsys):
    folder, path = _bad_split(tmp_path, images_header(0))
    (folder / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(struct.pack(">BBBBI", 0, 0, 8, 1, 0)))
    refused(["train", "--data-dir", folder, "--out", tmp_path / "run", "--epochs", "1", "--quiet"], capsys,
            str(path), "0 images")
    assert not (tmp_path / "run").exists()


def test_the_cli_refuses_a_bomb_in_one_line_under_a_memory_limit(tmp_path):
    folder, path = _bad_split(tmp_path, b"")
    write_bomb(path, images_header(10_000_000), 10_000_000 * 784)
    result = run_cli(["train", "--data-dir", folder, "--out", tmp_path / "run", "--epochs", "1", "--quiet"],
                     memory=2 * GiB, timeout=120)
    one_line_refusal(result, str(path), "10000000")
    assert not (tmp_path / "run").exists()

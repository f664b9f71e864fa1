"""CIFAR-10 archives built to exhaust memory: a member whose header claims gigabytes of zeros (a few megabytes of
gzip) is refused before it is read, under a memory limit, by both the binary reader and the torchvision-style
python reader; a tar of endless members is refused by count."""

from __future__ import annotations

import gzip
import tarfile

import pytest

from cnnkit.data.cifar import MAX_MEMBERS, read_tar_members
from cnnkit.data.errors import DatasetFormatError
from tests.hostile.helpers import GiB, one_line_refusal, run_cli, run_fenced

CHUNK = 16 << 20


def write_zero_bomb(path, member: str, size: int) -> None:
    """A .tar.gz whose one member holds `size` zero bytes, written as repeated gzip members (no gigabytes pass
    through the compressor: one compressed chunk of zeros is repeated)."""
    info = tarfile.TarInfo(member)
    info.size = size
    zeros = gzip.compress(bytes(CHUNK), compresslevel=9)
    with open(path, "wb") as f:
        f.write(gzip.compress(info.tobuf(format=tarfile.GNU_FORMAT)))
        for _ in range(size // CHUNK):
            f.write(zeros)
        f.write(gzip.compress(bytes(1024)))  # the end-of-archive blocks


def test_the_binary_reader_refuses_a_2_gib_member_unread_under_1_gib(tmp_path):
    write_zero_bomb(tmp_path / "cifar-10-binary.tar.gz", "cifar-10-batches-bin/data_batch_1.bin", 2 * GiB)
    assert (tmp_path / "cifar-10-binary.tar.gz").stat().st_size < 8 << 20
    result = run_cli(["train", "--dataset", "cifar10", "--data-dir", tmp_path, "--model", "resnet20", "--epochs", "1",
                      "--out", tmp_path / "run", "--quiet"], memory=GiB, timeout=60)
    one_line_refusal(result, "cifar-10-binary.tar.gz", "data_batch_1.bin", "claims 2,147,483,648 bytes")


def test_the_python_reader_refuses_it_too_under_1_gib(tmp_path):
    write_zero_bomb(tmp_path / "cifar-10-python.tar.gz", "cifar-10-batches-py/data_batch_1", 2 * GiB)
    result = run_fenced(f"""
        from cnnkit.data.errors import DatasetFormatError
        from cnnkit.vision.datasets import CIFAR10
        try:
            CIFAR10({str(tmp_path)!r}, train=True, download=False)
        except DatasetFormatError as error:
            print(error)
        """, memory=GiB, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "data_batch_1 claims 2,147,483,648 bytes" in result.stdout


def test_an_archive_of_endless_members_is_refused_by_count(tmp_path):
    path = tmp_path / "many.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for i in range(MAX_MEMBERS + 1):
            tar.addfile(tarfile.TarInfo(f"x{i}"))
    with pytest.raises(DatasetFormatError, match="more than 10,000 members"):
        read_tar_members(path, {"data_batch_1.bin"})

"""Finding dataset files (root > $CNNKIT_DATA > cache > system copy > download), the not-found message, and
downloading with MD5 verification through file:// URLs (no network needed)."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import shutil
import urllib.error
from pathlib import Path

import numpy as np
import pytest

from cnnkit.data import (
    CIFAR10,
    MNIST,
    ChecksumError,
    DatasetNotFoundError,
    DownloadError,
    FashionMNIST,
    download_file,
    locate,
)
from tests.data.builders import cifar_members, write_cifar_tar, write_mnist
from tests.data.conftest import SYSTEM_FASHION_SPEC


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def patch_spec(monkeypatch, cls, **changes):
    monkeypatch.setattr(cls, "spec", dataclasses.replace(cls.spec, **changes))


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# ------------------------------------------------------------------------------------------------ search order
@pytest.fixture
def four_copies(tmp_path, monkeypatch, isolated):
    """A copy of the train split in each place, told apart by the first label: root 1, env 2, cache 3, system 4."""
    places = {
        "root": tmp_path / "root",
        "env": tmp_path / "env" / "fashion-mnist",
        "cache": isolated / ".cache" / "cnnkit" / "fashion-mnist",
        "system": tmp_path / "usr-share" / "fashion-mnist",
    }
    for label, folder in enumerate(places.values(), start=1):
        write_mnist(folder, n_train=3, first_label=label)
    monkeypatch.setenv("CNNKIT_DATA", str(tmp_path / "env"))
    patch_spec(monkeypatch, FashionMNIST, system_dirs=(str(places["system"]),))
    return places


def first_label(**kwargs) -> int:
    return int(FashionMNIST(download=False, **kwargs).targets[0])


def test_search_order_root_env_cache_system(four_copies, monkeypatch):
    places = four_copies
    assert first_label(root=places["root"]) == 1
    assert first_label() == 2  # no root: $CNNKIT_DATA first
    monkeypatch.delenv("CNNKIT_DATA")
    assert first_label() == 3
    shutil.rmtree(places["cache"])
    assert first_label() == 4
    assert FashionMNIST(download=False).folder == places["system"]


def test_empty_root_falls_through_to_the_other_places(four_copies, tmp_path):
    (tmp_path / "empty").mkdir()
    assert first_label(root=tmp_path / "empty") == 2


def test_env_accepts_raw_subfolder_and_alias(tmp_path, monkeypatch):
    write_mnist(tmp_path / "env" / "FashionMNIST" / "raw", n_train=2, first_label=7)
    monkeypatch.setenv("CNNKIT_DATA", str(tmp_path / "env"))
    assert first_label() == 7


def test_search_places_lists_every_layout(tmp_path, monkeypatch, isolated):
    monkeypatch.setenv("CNNKIT_DATA", str(tmp_path / "env"))
    places = [str(p) for p, _ in locate.search_places(SYSTEM_FASHION_SPEC, tmp_path / "r")]
    r, e, c = tmp_path / "r", tmp_path / "env", isolated / ".cache" / "cnnkit"
    assert places == [str(p) for p in (
        r, r / "fashion-mnist", r / "fashion-mnist/raw", r / "FashionMNIST", r / "FashionMNIST/raw",
        r / "fashion_mnist", r / "fashion_mnist/raw", r / "raw",
        e / "fashion-mnist", e / "fashion-mnist/raw", e / "FashionMNIST", e / "FashionMNIST/raw",
        e / "fashion_mnist", e / "fashion_mnist/raw",
        c / "fashion-mnist", c / "fashion-mnist/raw", Path("/usr/share/datasets/fashion-mnist"))]


# ------------------------------------------------------------------------------------------------ not found
def test_not_found_message_is_one_paragraph_with_places_and_remedies(tmp_path, monkeypatch, isolated):
    patch_spec(monkeypatch, FashionMNIST, system_dirs=(str(tmp_path / "sys"),))
    with pytest.raises(DatasetNotFoundError) as info:
        FashionMNIST(root=tmp_path / "mine", download=False)
    message = str(info.value)
    assert isinstance(info.value, FileNotFoundError)
    assert "\n" not in message
    assert message.startswith("Fashion-MNIST not found: looked for train-images-idx3-ubyte[.gz] and "
                              "train-labels-idx1-ubyte[.gz] in ")
    for place, _ in locate.search_places(FashionMNIST.spec, tmp_path / "mine"):
        assert str(place) in message
    assert str(isolated / ".cache" / "cnnkit" / "fashion-mnist") in message
    assert str(tmp_path / "sys") + " (system copy, missing)" in message
    assert "$CNNKIT_DATA is not set" in message
    assert "download=False" in message
    assert "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/train-images-idx3-ubyte.gz" in message
    assert "apt-get install dataset-fashion-mnist" in message
    assert "--data-dir" in message


def test_not_found_after_failed_download_says_why(tmp_path):
    with pytest.raises(DatasetNotFoundError, match=r"MNIST not found: .*Downloading into .*mnist failed: "
                                                   r"https://ossci-datasets.*download failed.*do not use the network"):
        MNIST(root=tmp_path)
    assert leftovers(tmp_path / "mnist") == []  # no partial files from the attempts


def test_test_split_message_names_test_files(tmp_path):
    with pytest.raises(DatasetNotFoundError, match=r"t10k-images-idx3-ubyte\[.gz\] and t10k-labels-idx1-ubyte"):
        MNIST(root=tmp_path, train=False, download=False)


# ------------------------------------------------------------------------------------------------ downloads
def test_download_file_verifies_md5_and_renames(tmp_path):
    source = tmp_path / "src" / "blob.bin"
    source.parent.mkdir()
    payload = bytes(range(256)) * 5000  # > one chunk
    source.write_bytes(payload)
    dest = download_file(source.as_uri(), tmp_path / "out" / "blob.bin", md5(payload), progress=False)
    assert dest.read_bytes() == payload
    assert leftovers(tmp_path / "out") == ["blob.bin"]


def test_checksum_mismatch_refused_and_nothing_left(tmp_path):
    source = tmp_path / "blob.bin"
    source.write_bytes(b"tampered")
    with pytest.raises(ChecksumError, match=r"blob.bin: MD5 [0-9a-f]{32} does not match the published 0{32}"):
        download_file(source.as_uri(), tmp_path / "out" / "blob.bin", "0" * 32, progress=False)
    assert leftovers(tmp_path / "out") == []


def test_failed_download_leaves_nothing(tmp_path):
    with pytest.raises(DownloadError, match=r"missing.bin: download failed"):
        download_file((tmp_path / "missing.bin").as_uri(), tmp_path / "out" / "x", None, progress=False)
    assert leftovers(tmp_path / "out") == []


def test_connection_dropped_mid_download_leaves_nothing(tmp_path, monkeypatch):
    class Dropping(io.BytesIO):
        headers = {"Content-Length": "100"}

        def read(self, n=-1):
            if self.tell() > 0:
                raise ConnectionResetError("connection reset by peer")
            return super().read(10)

    monkeypatch.setattr(locate, "urlopen", lambda url, timeout: Dropping(b"x" * 100))
    with pytest.raises(DownloadError, match="connection reset by peer"):
        download_file("https://example.invalid/f.gz", tmp_path / "f.gz", None, progress=False)
    assert leftovers(tmp_path) == []


def test_http_error_is_a_download_error(tmp_path, monkeypatch):
    def refuse(url, timeout):
        raise urllib.error.HTTPError(url, 404, "Not Found", {}, None)

    monkeypatch.setattr(locate, "urlopen", refuse)
    with pytest.raises(DownloadError, match="HTTP Error 404"):
        download_file("https://example.invalid/f.gz", tmp_path / "f.gz", None, progress=False)


def serve_mnist(folder: Path) -> tuple[str, tuple[tuple[str, str], ...], dict]:
    """A file:// mirror holding a tiny MNIST, with the right MD5s."""
    expected = write_mnist(folder, n_train=6, n_test=3, first_label=5)
    sums = tuple((p.name, md5(p.read_bytes())) for p in sorted(folder.iterdir()))
    return folder.as_uri() + "/", sums, expected


def test_dataset_downloads_into_cache_when_nothing_found(tmp_path, monkeypatch, isolated):
    mirror, sums, expected = serve_mnist(tmp_path / "mirror")
    patch_spec(monkeypatch, FashionMNIST, mirrors=("https://unreachable.invalid/", mirror), md5=sums)
    ds = FashionMNIST()  # download=True is the default
    cache = isolated / ".cache" / "cnnkit" / "fashion-mnist"
    assert ds.folder == cache
    assert leftovers(cache) == ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]  # only this split
    np.testing.assert_array_equal(ds.data, expected["train"][0])
    FashionMNIST(train=False)
    assert len(leftovers(cache)) == 4


def test_dataset_downloads_into_root_subfolder(tmp_path, monkeypatch):
    mirror, sums, expected = serve_mnist(tmp_path / "mirror")
    patch_spec(monkeypatch, MNIST, mirrors=(mirror,), md5=sums)
    ds = MNIST(root=tmp_path / "data", train=False)
    assert ds.folder == tmp_path / "data" / "mnist"
    np.testing.assert_array_equal(ds.targets, expected["test"][1])


def test_dataset_download_with_bad_checksum_refused(tmp_path, monkeypatch, isolated):
    mirror, sums, _ = serve_mnist(tmp_path / "mirror")
    wrong = tuple((name, "f" * 32) for name, _ in sums)
    patch_spec(monkeypatch, FashionMNIST, mirrors=(mirror,), md5=wrong)
    with pytest.raises(DatasetNotFoundError, match=r"does not match the published f{32}"):
        FashionMNIST()
    assert leftovers(isolated / ".cache" / "cnnkit" / "fashion-mnist") == []


def test_cifar_downloads_archive(tmp_path, monkeypatch):
    members, expected = cifar_members(per_batch=1, n_test=2)
    archive = write_cifar_tar(tmp_path / "mirror" / "cifar-10-binary.tar.gz", members)
    patch_spec(monkeypatch, CIFAR10, mirrors=(archive.parent.as_uri() + "/",),
               md5=(("cifar-10-binary.tar.gz", md5(archive.read_bytes())),))
    ds = CIFAR10(root=tmp_path / "data", train=False)
    np.testing.assert_array_equal(ds.data, expected["test"][0])
    assert leftovers(tmp_path / "data" / "cifar-10") == ["cifar-10-binary.tar.gz"]


def test_published_checksums_match_torchvision():
    assert dict(SYSTEM_FASHION_SPEC.md5)["train-images-idx3-ubyte.gz"] == "8d4fb7e6c68d591d4c3dfef9ec88bf0d"
    assert dict(MNIST.spec.md5)["t10k-labels-idx1-ubyte.gz"] == "ec29112dd5afa0611ce80d1b7f02629c"

"""cnnkit.vision.datasets: torchvision's constructors and items over tiny files written here in the real formats
(IDX under root/<Name>/raw, CIFAR-10's python pickles and their tar.gz, an image folder)."""

from __future__ import annotations

import gzip
import os
import pickle
import tarfile

import numpy as np
import pytest
from PIL import Image

from cnnkit.data.errors import DatasetFormatError, DatasetNotFoundError
from cnnkit.data.idx import encode_idx
from cnnkit.utils.data import DataLoader
from cnnkit.vision import datasets, transforms


def write_idx_split(folder, prefix: str, images: np.ndarray, labels: np.ndarray, gz: bool) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for stem, array in ((f"{prefix}-images-idx3-ubyte", images), (f"{prefix}-labels-idx1-ubyte", labels)):
        payload = encode_idx(array)
        (folder / (stem + (".gz" if gz else ""))).write_bytes(gzip.compress(payload) if gz else payload)


@pytest.fixture
def idx_root(tmp_path, rng):
    images = rng.integers(0, 256, (6, 28, 28), dtype=np.uint8)
    labels = np.array([3, 1, 4, 1, 5, 9], dtype=np.uint8)
    for name, gz in (("FashionMNIST", True), ("MNIST", False), ("KMNIST", True)):
        write_idx_split(tmp_path / name / "raw", "train", images, labels, gz)
        write_idx_split(tmp_path / name / "raw", "t10k", images[:2], labels[:2], gz)
    return tmp_path, images, labels


@pytest.mark.parametrize("cls", [datasets.FashionMNIST, datasets.MNIST, datasets.KMNIST])
def test_mnist_family_reads_torchvision_layout_and_gives_pil_items(idx_root, cls):
    root, images, labels = idx_root
    train = cls(root, train=True)
    assert len(train) == 6 and len(cls(str(root), train=False)) == 2
    image, target = train[2]
    assert isinstance(image, Image.Image) and image.mode == "L" and image.size == (28, 28)
    np.testing.assert_array_equal(np.asarray(image), images[2])
    assert target == 4 and isinstance(target, int)
    assert len(train.classes) == 10 and train.class_to_idx[train.classes[3]] == 3


def test_transforms_and_target_transform_apply_and_batch(idx_root):
    root, images, labels = idx_root
    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])
    train = datasets.FashionMNIST(root, train=True, transform=tf, target_transform=lambda t: t + 100)
    x, y = train[0]
    np.testing.assert_allclose(x.numpy()[0], (images[0] / 255 - 0.5) / 0.5, atol=1e-6)
    assert y == 103
    xb, yb = next(iter(DataLoader(train, batch_size=4)))
    assert xb.shape == (4, 1, 28, 28) and yb.numpy().tolist() == [103, 101, 104, 101]


def test_missing_files_without_download_say_where_they_were_looked_for(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("CNNKIT_DATA", raising=False)
    with pytest.raises(DatasetNotFoundError, match=r"Kuzushiji-MNIST not found: looked for .*download=False"):
        datasets.KMNIST(tmp_path / "data")


def test_download_without_network_is_a_clear_error(tmp_path, monkeypatch):
    from cnnkit.data import locate

    def offline(url, timeout=None):
        raise OSError("network is unreachable")

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(locate, "urlopen", offline)
    with pytest.raises(DatasetNotFoundError, match=r"Downloading into .* failed: .*network is unreachable"):
        datasets.KMNIST(tmp_path / "data", download=True)


def test_download_true_uses_files_already_present(idx_root, monkeypatch):
    from cnnkit.data import locate

    monkeypatch.setattr(locate, "urlopen", lambda *a, **k: pytest.fail("no download expected"))
    assert len(datasets.MNIST(idx_root[0], download=True)) == 6


# ----------------------------------------------------------------- CIFAR-10, python version
def cifar_batch(rng, n: int) -> tuple[dict, np.ndarray]:
    images = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
    data = images.transpose(0, 3, 1, 2).reshape(n, 3072)  # rows of R plane, G plane, B plane
    return {"batch_label": "training batch", "labels": [int(v) for v in rng.integers(0, 10, n)], "data": data,
            "filenames": [f"img_{i}.png" for i in range(n)]}, images


@pytest.fixture
def cifar_root(tmp_path, rng):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    batches = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        entry, images = cifar_batch(rng, 3)
        (folder / name).write_bytes(pickle.dumps(entry, protocol=2))
        batches[name] = (entry, images)
    meta = {"label_names": ["plane", "car", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta, protocol=2))
    return tmp_path, batches


def test_cifar10_python_batches_are_read_without_running_pickles(cifar_root):
    root, batches = cifar_root
    train = datasets.CIFAR10(root, train=True)
    test = datasets.CIFAR10(str(root), train=False)
    assert len(train) == 15 and len(test) == 3 and train.classes[0] == "plane"
    image, label = train[4]  # the second item of data_batch_2
    entry, images = batches["data_batch_2"]
    assert isinstance(image, Image.Image) and image.mode == "RGB"
    np.testing.assert_array_equal(np.asarray(image), images[1])
    assert label == entry["labels"][1]
    np.testing.assert_array_equal(test.data, batches["test_batch"][1])


def test_cifar10_reads_the_python_archive(cifar_root, tmp_path):
    root, batches = cifar_root
    archive_root = tmp_path / "archive"
    archive_root.mkdir()
    with tarfile.open(archive_root / "cifar-10-python.tar.gz", "w:gz") as tar:
        tar.add(root / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    test = datasets.CIFAR10(archive_root, train=False)
    np.testing.assert_array_equal(test.data, batches["test_batch"][1])


class Exploit:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def test_cifar10_hostile_pickle_is_refused_by_name(cifar_root, monkeypatch):
    root, _ = cifar_root
    monkeypatch.chdir(root)
    (root / "cifar-10-batches-py" / "test_batch").write_bytes(pickle.dumps({"data": Exploit()}, protocol=2))
    with pytest.raises(DatasetFormatError, match=r"test_batch: refused to load (posix|os)\.system"):
        datasets.CIFAR10(root, train=False)
    assert not (root / "pwned").exists()


# ----------------------------------------------------------------- ImageFolder
def test_image_folder_gives_rgb_pil_images_in_sorted_class_order(tmp_path, rng):
    pictures = {}
    for cls, mode in (("dog", "L"), ("cat", "RGB")):
        (tmp_path / cls).mkdir()
        for i in range(2):
            shape = (5, 7) if mode == "L" else (5, 7, 3)
            pixels = rng.integers(0, 256, shape, dtype=np.uint8)
            Image.fromarray(pixels).save(tmp_path / cls / f"{i}.PNG")
            pictures[(cls, i)] = pixels
    (tmp_path / "cat" / "notes.txt").write_text("not an image")
    folder = datasets.ImageFolder(tmp_path, transform=transforms.ToTensor())
    assert folder.classes == ["cat", "dog"] and folder.class_to_idx == {"cat": 0, "dog": 1}
    assert len(folder) == 4 and folder.targets == [0, 0, 1, 1]
    x, y = folder[2]
    assert y == 1 and x.shape == (3, 5, 7)
    np.testing.assert_allclose(x.numpy()[1], pictures[("dog", 0)] / 255, atol=1e-6)  # gray → RGB: all planes equal
    raw, _ = datasets.ImageFolder(tmp_path)[0]
    assert isinstance(raw, Image.Image) and raw.mode == "RGB"
    only_first = datasets.ImageFolder(tmp_path, is_valid_file=lambda p: p.endswith("0.PNG"))
    assert len(only_first) == 2


def test_image_folder_names_an_unreadable_file(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "broken.png").write_bytes(b"not a png")
    folder = datasets.ImageFolder(tmp_path)
    with pytest.raises(DatasetFormatError, match="broken.png"):
        folder[0]

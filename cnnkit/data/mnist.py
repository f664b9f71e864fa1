"""MNIST, Fashion-MNIST and Kuzushiji-MNIST: 28×28 grayscale images in IDX files, loaded whole into memory.

Each dataset keeps `data` (uint8 (N, 28, 28)) and `targets` (int64 (N,)) as torchvision does, so a DataLoader
can gather a batch with one fancy-indexing op; indexing returns (float32 (1, 28, 28) in [0, 1], int label).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from cnnkit.data.dataset import SplitDataset
from cnnkit.data.errors import DatasetFormatError
from cnnkit.data.idx import read_idx_images, read_idx_labels
from cnnkit.data.locate import DatasetSpec, find_dataset

NUM_CLASSES = 10


def idx_variants(stem: str) -> list[str]:
    """Accepted names of one IDX file: `train-images-idx3-ubyte`, the `train-images.idx3-ubyte` spelling, ± `.gz`."""
    dotted = stem.replace("-idx", ".idx")
    return [stem + ".gz", stem, dotted + ".gz", dotted]


def split_stems(train: bool) -> tuple[str, str]:
    prefix = "train" if train else "t10k"
    return f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"


def probe_idx_folder(folder: Path, stems: tuple[str, ...]) -> list[Path] | None:
    """The paths of all the stems' files in folder (first accepted spelling of each), or None if one is missing."""
    paths = []
    for stem in stems:
        path = next((folder / n for n in idx_variants(stem) if (folder / n).is_file()), None)
        if path is None:
            return None
        paths.append(path)
    return paths


def load_idx_pair(images_path: Path, labels_path: Path, title: str) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, H, W) uint8 and labels (N,) int64, checked against each other and the label range."""
    images = read_idx_images(images_path)
    labels = read_idx_labels(labels_path)
    if len(images) == 0:
        raise DatasetFormatError(f"{title}: {images_path} holds 0 images; a dataset split needs at least one")
    if len(images) != len(labels):
        raise DatasetFormatError(f"{title}: {images_path} holds {len(images)} images but {labels_path} holds "
                                 f"{len(labels)} labels; the two files must have the same count")
    bad = np.flatnonzero(labels >= NUM_CLASSES)
    if bad.size:
        raise DatasetFormatError(f"{title}: {labels_path} has label {int(labels[bad[0]])} at index {int(bad[0])} "
                                 f"({bad.size} labels in all) outside 0..{NUM_CLASSES - 1}")
    return images, labels.astype(np.int64)


class MNIST(SplitDataset):
    """MNIST handwritten digits (60,000 train / 10,000 test), found or downloaded as described in `locate`."""

    spec = DatasetSpec(
        name="mnist", title="MNIST", aliases=("MNIST",),
        mirrors=("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"),
        md5=(("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
             ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
             ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
             ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c")),
        homepage="http://yann.lecun.com/exdb/mnist/",
    )
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four",
               "5 - five", "6 - six", "7 - seven", "8 - eight", "9 - nine"]

    def load(self, root: str | os.PathLike | None, download: bool) -> tuple[Path, np.ndarray, np.ndarray]:
        """(folder found in, images, labels) of this split."""
        stems = split_stems(self.train)
        wanted = " and ".join(f"{s}[.gz]" for s in stems)
        folder, paths = find_dataset(self.spec, lambda f: probe_idx_folder(f, stems), [s + ".gz" for s in stems],
                                     wanted, root=root, download=download)
        return (folder, *load_idx_pair(paths[0], paths[1], f"{self.spec.title} ({self.split} split)"))


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST: ten kinds of clothing, same sizes and file format as MNIST."""

    spec = DatasetSpec(
        name="fashion-mnist", title="Fashion-MNIST", aliases=("FashionMNIST", "fashion_mnist"),
        mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        md5=(("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
             ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
             ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
             ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310")),
        system_dirs=("/usr/share/datasets/fashion-mnist",),
        apt_package="dataset-fashion-mnist",
        homepage="https://github.com/zalandoresearch/fashion-mnist",
    )
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


class KMNIST(MNIST):
    """Kuzushiji-MNIST: ten cursive Japanese (hiragana) characters, MNIST's format."""

    spec = DatasetSpec(
        name="kmnist", title="Kuzushiji-MNIST", aliases=("KMNIST",),
        mirrors=("http://codh.rois.ac.jp/kmnist/dataset/kmnist/",),
        md5=(("train-images-idx3-ubyte.gz", "bdb82020997e1d708af4cf47b453dcf7"),
             ("train-labels-idx1-ubyte.gz", "e144d726b3acfaa3e44228e80efcd344"),
             ("t10k-images-idx3-ubyte.gz", "5c965bf0a639b31b8f53240b1b52f4d7"),
             ("t10k-labels-idx1-ubyte.gz", "7320c461ea6c1c855c0b718fb2a4b134")),
        homepage="https://github.com/rois-codh/kmnist",
    )
    classes = ["o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"]

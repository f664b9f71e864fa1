"""Writers of tiny datasets in the real file formats (independent of cnnkit's readers), for the data tests."""

from __future__ import annotations

import gzip
import io
import struct
import tarfile
from pathlib import Path

import numpy as np

CIFAR_RECORD = 3073


def idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    """IDX encoding written out by hand: 0, 0, type, ndim, big-endian uint32 dims, then the bytes."""
    array = np.asarray(array, dtype=np.uint8)
    return struct.pack(">BBBB", 0, 0, type_code, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape) \
        + array.tobytes()


def write(path: Path, payload: bytes, gz: bool) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(payload) if gz else payload)
    return path


def random_split_arrays(n: int, seed: int, side: int = 28) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, side, side), dtype=np.uint8), rng.integers(0, 10, n).astype(np.uint8)


def write_mnist(folder: Path, n_train: int = 12, n_test: int = 5, gz: bool = True, seed: int = 0,
                first_label: int | None = None, dotted: bool = False) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Both splits of an MNIST-like dataset in folder; returns {'train': (images, labels), 'test': ...}."""
    out = {}
    for split, prefix, n in (("train", "train", n_train), ("test", "t10k", n_test)):
        images, labels = random_split_arrays(n, seed + (split == "test"))
        if first_label is not None:
            labels[0] = first_label
        sep = "." if dotted else "-"
        suffix = ".gz" if gz else ""
        write(folder / f"{prefix}-images{sep}idx3-ubyte{suffix}", idx_bytes(images, 0x08), gz)
        write(folder / f"{prefix}-labels{sep}idx1-ubyte{suffix}", idx_bytes(labels, 0x08), gz)
        out[split] = (images, labels)
    return out


def cifar_records(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, bytes]:
    """n random CIFAR records: images (N, 32, 32, 3), labels (N,), and their bytes (label, R plane, G, B)."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
    labels = rng.integers(0, 10, n).astype(np.uint8)
    payload = b"".join(bytes([labels[i]]) + images[i].transpose(2, 0, 1).tobytes() for i in range(n))
    return images, labels, payload


CIFAR_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def cifar_members(per_batch: int = 2, n_test: int = 3, seed: int = 0) -> tuple[dict[str, bytes], dict]:
    """The binary version's files (name -> bytes) and the expected arrays per split."""
    members, train_images, train_labels = {}, [], []
    for i in range(1, 6):
        images, labels, payload = cifar_records(per_batch, seed + i)
        members[f"data_batch_{i}.bin"] = payload
        train_images.append(images)
        train_labels.append(labels)
    test_images, test_labels, members["test_batch.bin"] = cifar_records(n_test, seed + 10)
    members["batches.meta.txt"] = ("\n".join(CIFAR_NAMES) + "\n\n").encode()
    expected = {"train": (np.concatenate(train_images), np.concatenate(train_labels)),
                "test": (test_images, test_labels)}
    return members, expected


def write_cifar_tar(path: Path, members: dict[str, bytes]) -> Path:
    """cifar-10-binary.tar.gz with every member under cifar-10-batches-bin/."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for name, payload in members.items():
            info = tarfile.TarInfo(f"cifar-10-batches-bin/{name}")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    return path


def write_cifar_folder(folder: Path, members: dict[str, bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, payload in members.items():
        (folder / name).write_bytes(payload)
    return folder

"""torchvision.datasets.CIFAR10: the python version torchvision downloads, read without running its pickles.

torchvision keeps CIFAR-10 as `root/cifar-10-batches-py/{data_batch_1..5, test_batch, batches.meta}` (or the
`cifar-10-python.tar.gz` archive): Python pickles of dicts holding a uint8 array (N, 3072) under "data", a list
of ints under "labels" and byte strings. They are read with cnnkit's allow-list unpickler, which rebuilds only
dicts, lists, strings, numbers and numeric arrays and refuses anything else by name. When the python version is
not there, the binary version (`cnnkit.data.CIFAR10`'s) is looked for as usual. Items are (PIL RGB image, int).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from cnnkit.data import cifar
from cnnkit.data.errors import DatasetFormatError
from cnnkit.safe_pickle import UnsafePickleError, load_numpy_pickle
from cnnkit.vision.datasets.mnist import TorchvisionItems

PY_FOLDER = "cifar-10-batches-py"
PY_ARCHIVE = "cifar-10-python.tar.gz"
PY_TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
PY_TEST = ("test_batch",)
PY_META = "batches.meta"


def read_python_files(root: Path, files: tuple[str, ...]) -> dict[str, tuple[bytes, str]] | None:
    """name → (bytes, where) of the batch files and meta, from the folder or the archive under root; None if absent."""
    for folder in (root / PY_FOLDER, root):
        if all((folder / f).is_file() for f in files):
            found = {f: ((folder / f).read_bytes(), str(folder / f)) for f in files}
            if (folder / PY_META).is_file():
                found[PY_META] = ((folder / PY_META).read_bytes(), str(folder / PY_META))
            return found
    archive = root / PY_ARCHIVE
    if not archive.is_file():
        return None
    read = cifar.read_tar_members(archive, {*files, PY_META})
    found = {base: (payload, f"{base} (in {archive})") for base, payload in read.items()}
    missing = [f for f in files if f not in found]
    if missing:
        raise DatasetFormatError(f"CIFAR-10 archive {archive}: lacks {', '.join(missing)}")
    return found


def decode_batch(payload: bytes, where: str) -> tuple[np.ndarray, np.ndarray]:
    """uint8 images (N, 32, 32, 3) and int64 labels (N,) of one python batch file."""
    try:
        entry = load_numpy_pickle(payload, where)
    except UnsafePickleError as error:
        raise DatasetFormatError(f"CIFAR-10 file {error}") from None
    if not isinstance(entry, dict):
        raise DatasetFormatError(f"CIFAR-10 file {where}: expected a dict, got {type(entry).__name__}")
    entry = {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in entry.items()}
    data, labels = entry.get("data"), entry.get("labels", entry.get("fine_labels"))
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        got = f"{data.dtype} {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        raise DatasetFormatError(f"CIFAR-10 file {where}: expected 'data' to be uint8 (N, 3072), got {got}")
    labels = np.asarray(labels, dtype=np.int64)
    if labels.shape != (len(data),):
        raise DatasetFormatError(f"CIFAR-10 file {where}: {len(data)} images but labels of shape {labels.shape}")
    bad = np.flatnonzero((labels < 0) | (labels >= len(cifar.CLASSES)))
    if bad.size:
        raise DatasetFormatError(f"CIFAR-10 file {where}: record {int(bad[0])} has label {int(labels[bad[0]])}, "
                                 f"outside 0..{len(cifar.CLASSES) - 1}")
    return np.ascontiguousarray(data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)), labels


def class_names(payload: bytes, where: str) -> list[str]:
    meta = load_numpy_pickle(payload, where)
    names = meta.get("label_names", meta.get(b"label_names")) if isinstance(meta, dict) else None
    if not isinstance(names, list) or len(names) != len(cifar.CLASSES):
        raise DatasetFormatError(f"CIFAR-10 file {where}: expected {len(cifar.CLASSES)} label_names")
    return [n.decode("latin1") if isinstance(n, bytes) else str(n) for n in names]


class CIFAR10(TorchvisionItems, cifar.CIFAR10):
    """CIFAR10(root, train=True, transform=None, target_transform=None, download=False), torchvision's."""

    def __init__(self, root: str | os.PathLike, train: bool = True, transform: Callable | None = None,
                 target_transform: Callable | None = None, download: bool = False) -> None:
        super().__init__(root, train, transform, target_transform, download)

    def load(self, root: str | os.PathLike | None, download: bool) -> tuple[Path, np.ndarray, np.ndarray]:
        files = PY_TRAIN if self.train else PY_TEST
        found = read_python_files(Path(root).expanduser(), files) if root is not None else None
        if found is None:
            return super().load(root, download)
        parts = [decode_batch(*found[f]) for f in files]
        if PY_META in found:
            self.classes = class_names(*found[PY_META])
        return Path(root), np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    @property
    def class_to_idx(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.classes)}

    @staticmethod
    def to_pil(pixels: Any) -> Any:
        from PIL import Image

        return Image.fromarray(pixels)

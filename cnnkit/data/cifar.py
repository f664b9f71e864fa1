"""CIFAR-10 from its binary version (`cifar-10-binary.tar.gz`), read straight from the tar or from extracted files.

Each record is 1 label byte + 3072 pixel bytes: the red plane, then green, then blue, each 32×32 row-major.
The Python (pickle) version is deliberately not supported: unpickling a downloaded file can run arbitrary code.
`data` is uint8 (N, 32, 32, 3) and `targets` int64 (N,), as torchvision's CIFAR10.
"""

from __future__ import annotations

import os
import tarfile
import zlib
from pathlib import Path

import numpy as np

from cnnkit.data.dataset import SplitDataset
from cnnkit.data.errors import DatasetFormatError
from cnnkit.data.locate import DatasetSpec, find_dataset

ARCHIVE = "cifar-10-binary.tar.gz"
FOLDER = "cifar-10-batches-bin"
SIDE, CHANNELS = 32, 3
RECORD = 1 + CHANNELS * SIDE * SIDE  # 3073 bytes
TRAIN_FILES = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
TEST_FILES = ("test_batch.bin",)
META_FILE = "batches.meta.txt"
MAX_MEMBER = 64 << 20  # a batch file is 30.7 MB (10,000 records)
MAX_TOTAL = 1 << 30
MAX_MEMBERS = 10_000
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def decode_records(buffer: bytes, name: str) -> tuple[np.ndarray, np.ndarray]:
    """uint8 images (N, 32, 32, 3) and int64 labels (N,) from one batch file's bytes; whole records only."""
    if len(buffer) == 0 or len(buffer) % RECORD:
        raise DatasetFormatError(f"CIFAR-10 file {name}: {len(buffer)} bytes is not a whole, non-zero number of "
                                 f"{RECORD}-byte records (1 label byte + {RECORD - 1} pixel bytes)")
    records = np.frombuffer(buffer, dtype=np.uint8).reshape(-1, RECORD)
    labels = records[:, 0].astype(np.int64)
    bad = np.flatnonzero(labels >= len(CLASSES))
    if bad.size:
        raise DatasetFormatError(f"CIFAR-10 file {name}: record {int(bad[0])} has label {int(labels[bad[0]])}, "
                                 f"outside 0..{len(CLASSES) - 1}")
    planes = records[:, 1:].reshape(-1, CHANNELS, SIDE, SIDE)  # R, G, B planes
    return np.ascontiguousarray(planes.transpose(0, 2, 3, 1)), labels  # (N, H, W, C) as torchvision keeps it


def parse_classes(text: str, name: str) -> list[str]:
    names = [line.strip() for line in text.splitlines() if line.strip()]
    if len(names) != len(CLASSES):
        raise DatasetFormatError(f"CIFAR-10 file {name}: expected {len(CLASSES)} class names, got {len(names)}")
    return names


def read_tar_members(archive: Path, wanted: set[str]) -> dict[str, bytes]:
    """The members of a .tar.gz whose base names are `wanted`, read in one pass, never written to disk; bounded:
    a member claiming more than MAX_MEMBER bytes is refused before it is read (a gzip of zeros holds gigabytes in
    a few megabytes), and so is an archive whose members add up to more than MAX_TOTAL or number more than
    MAX_MEMBERS (CIFAR-10's hold 8 members, 180 MB)."""
    found: dict[str, bytes] = {}
    total = 0
    try:
        with tarfile.open(archive, "r:*") as tar:
            for count, member in enumerate(tar, 1):
                base = member.name.rsplit("/", 1)[-1]
                chosen = member.isfile() and base in wanted and base not in found
                if chosen and member.size > MAX_MEMBER:
                    raise DatasetFormatError(f"CIFAR-10 archive {archive}: {member.name} claims {member.size:,} "
                                             f"bytes, more than any CIFAR-10 file ({MAX_MEMBER:,} at most); "
                                             "refused unread")
                total += member.size
                if count > MAX_MEMBERS or total > MAX_TOTAL:
                    raise DatasetFormatError(f"CIFAR-10 archive {archive}: more than {MAX_MEMBERS:,} members or "
                                             f"{MAX_TOTAL >> 20:,} MiB; not a CIFAR-10 archive, refused")
                if chosen:
                    found[base] = tar.extractfile(member).read()
                    if set(found) == wanted:
                        break  # nothing more to read
    except (tarfile.TarError, OSError, EOFError, zlib.error) as error:
        raise DatasetFormatError(f"CIFAR-10 archive {archive}: cannot be read as a tar.gz ({error})") from None
    return found


def read_from_tar(archive: Path, files: tuple[str, ...]) -> dict[str, bytes]:
    """The named batch files (matched by base name) and the class names of a .tar.gz."""
    found = read_tar_members(archive, set(files) | {META_FILE})
    missing = [f for f in files if f not in found]
    if missing:
        raise DatasetFormatError(f"CIFAR-10 archive {archive}: lacks {', '.join(missing)}")
    return found


def probe_cifar_folder(folder: Path, files: tuple[str, ...]) -> Path | None:
    """The archive or folder of .bin files holding `files` in folder, or None."""
    for candidate in (folder / FOLDER, folder):
        if all((candidate / f).is_file() for f in files):
            return candidate
    archive = folder / ARCHIVE
    return archive if archive.is_file() else None


def load_cifar(source: Path, files: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Images, labels and class names from the archive or the folder `source`."""
    if source.is_file():
        contents = read_from_tar(source, files)
        named = {f: (contents[f], f"{f} (in {source})") for f in files}
        meta = contents.get(META_FILE)
        meta_name = f"{META_FILE} (in {source})"
    else:
        named = {f: ((source / f).read_bytes(), str(source / f)) for f in files}
        meta_path = source / META_FILE
        meta = meta_path.read_bytes() if meta_path.is_file() else None
        meta_name = str(meta_path)
    parts = [decode_records(buffer, name) for buffer, name in named.values()]
    classes = parse_classes(meta.decode("ascii", "replace"), meta_name) if meta is not None else list(CLASSES)
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]), classes


class CIFAR10(SplitDataset):
    """CIFAR-10: 50,000 train / 10,000 test colour images 32×32 in ten classes; items are (float32 (3, 32, 32), int)."""

    spec = DatasetSpec(
        name="cifar-10", title="CIFAR-10 (binary version)", aliases=("cifar10", "CIFAR10"),
        mirrors=("https://www.cs.toronto.edu/~kriz/",),
        md5=((ARCHIVE, "c32a1d4ab5d03f1284b67883e8d87530"),),
        homepage="https://www.cs.toronto.edu/~kriz/cifar.html",
    )
    classes = list(CLASSES)

    def load(self, root: str | os.PathLike | None, download: bool) -> tuple[Path, np.ndarray, np.ndarray]:
        """(folder found in, images, labels) of this split; the class names come from batches.meta.txt."""
        files = TRAIN_FILES if self.train else TEST_FILES
        wanted = f"{ARCHIVE} or the files {', '.join(files)} (in {FOLDER}/ or directly)"
        folder, source = find_dataset(self.spec, lambda f: probe_cifar_folder(f, files), [ARCHIVE], wanted,
                                      root=root, download=download)
        data, targets, self.classes = load_cifar(source, files)
        return folder, data, targets

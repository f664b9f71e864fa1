"""The classification datasets the trainer and the command line know by name, with their normalisation.

`load_classification_data(name, data_dir)` returns the train and test datasets and a `DataInfo`
(class names, input shape, per-channel mean and std) that a checkpoint stores so that `predict`
prepares an image exactly as training did.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

# Per-channel statistics of each training set (pixel values scaled to [0, 1]).
NORMALISATION = {
    "fashion-mnist": ((0.2860,), (0.3530,)),
    "mnist": ((0.1307,), (0.3081,)),
    "kmnist": ((0.1918,), (0.3483,)),
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
}
DATASETS = ("fashion-mnist", "mnist", "kmnist", "cifar10", "folder")


@dataclass
class DataInfo:
    """What a model needs to know about its data, as plain data (stored in checkpoints)."""

    dataset: str
    classes: list[str]
    input_shape: tuple[int, int, int]  # (C, H, W)
    mean: tuple[float, ...]
    std: tuple[float, ...]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DataInfo:
        return cls(d["dataset"], list(d["classes"]), tuple(d["input_shape"]), tuple(d["mean"]), tuple(d["std"]))


def data_dir_for_run(given: str | None, recorded: str | None, dataset: str, log=None) -> str | None:
    """The data folder to evaluate a trained run on: the one given now, else the one it was trained from.

    A recorded folder that has moved or vanished is not an error for a data set cnnkit can find by itself: the
    usual search takes over (as in a training without --data-dir), said in one line through `log` (default:
    stderr). A folder of the user's own images cannot be searched for: that is refused, naming the folder."""
    if given is not None or recorded is None or Path(recorded).expanduser().is_dir():
        return given if given is not None else recorded
    if dataset == "folder":
        raise FileNotFoundError(f"the run's data folder {recorded} no longer exists; pass --data-dir with the "
                                "folder's new place")
    import sys

    note = (f"note: the run's data folder {recorded} no longer exists; looking for {dataset} in the usual places "
            "instead (pass --data-dir to choose the folder)")
    (log or (lambda line: print(line, file=sys.stderr)))(note)
    return None


def _channel_stats(dataset) -> tuple[tuple[float, ...], tuple[float, ...]]:
    import numpy as np

    images = np.stack([dataset[i][0] for i in range(min(len(dataset), 2000))])
    return tuple(float(m) for m in images.mean(axis=(0, 2, 3))), tuple(float(s) for s in images.std(axis=(0, 2, 3)))


def load_classification_data(name: str, data_dir: str | None = None, download: bool = True):
    """(train_set, test_set, DataInfo) for a dataset name; 'folder' reads DATA_DIR/train and DATA_DIR/test."""
    from cnnkit import data
    from cnnkit.data.locate import check_root_used

    name = name.lower()
    if data_dir is not None and not Path(data_dir).expanduser().is_dir():
        raise FileNotFoundError(f"--data-dir {data_dir} does not exist or is not a folder")
    if name == "folder":
        if data_dir is None:
            raise ValueError("--dataset folder needs --data-dir DIR with DIR/train/<class>/ and DIR/test/<class>/ "
                             "image folders")
        root = Path(data_dir)
        test_dir = root / "test" if (root / "test").is_dir() else root / "val"
        train = data.ImageFolder(root / "train")
        test = data.ImageFolder(test_dir, mode=train.mode)  # one colour mode for both: the training set's
        test.check_same_size(train.check_same_size())  # no resizing here: one size, or the file that differs
        mean, std = _channel_stats(train)
    else:
        builders = {"fashion-mnist": data.FashionMNIST, "mnist": data.MNIST, "kmnist": data.KMNIST,
                    "cifar10": data.CIFAR10}
        if name not in builders:
            raise ValueError(f"unknown dataset {name!r}; choose one of: {', '.join(DATASETS)}")
        train = builders[name](root=data_dir, train=True, download=download)
        test = builders[name](root=data_dir, train=False, download=download)
        if data_dir is not None:  # an explicit folder is used or refused, never silently skipped
            check_root_used(data_dir, train.spec.title, train.folder, test.folder)
        mean, std = NORMALISATION[name]
    sample = train[0][0]
    info = DataInfo(name, list(train.classes), tuple(int(n) for n in sample.shape), mean, std)
    return train, test, info

"""torchvision.datasets' MNIST, FashionMNIST and KMNIST: the IDX files read by `cnnkit.data`, items as PIL images.

`FashionMNIST(root, train=True, transform=None, target_transform=None, download=False)`. The files are looked
for under `root` as torchvision lays them out (`root/FashionMNIST/raw/train-images-idx3-ubyte[.gz]`, also
`root/FashionMNIST`, `root/raw`, `root` itself), then in $CNNKIT_DATA, ~/.cache/cnnkit and the system copy
(/usr/share/datasets/fashion-mnist). `download=True` fetches what is missing (MD5-checked); without a network
it raises one error saying where it looked and how to get the files. Items are (PIL image mode "L", int).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from cnnkit.data import mnist


def pil_gray(pixels: Any) -> Any:
    from PIL import Image

    return Image.fromarray(pixels, mode="L")


class TorchvisionItems:
    """Items as torchvision gives them: (PIL image, int target), then `transform` / `target_transform` (the
    `cnnkit.data` dataset's own `__getitem__`, with PIL images in place of float arrays)."""

    def item_image(self, pixels: Any) -> Any:
        return self.to_pil(pixels)

    @staticmethod
    def to_pil(pixels: Any) -> Any:
        return pil_gray(pixels)


class MNIST(TorchvisionItems, mnist.MNIST):
    """MNIST with torchvision's constructor (download=False by default) and PIL items."""

    def __init__(self, root: str | os.PathLike, train: bool = True, transform: Callable | None = None,
                 target_transform: Callable | None = None, download: bool = False) -> None:
        super().__init__(root, train, transform, target_transform, download)

    @property
    def class_to_idx(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.classes)}

    @property
    def train_data(self) -> Any:
        return self.data

    @property
    def train_labels(self) -> Any:
        return self.targets


class FashionMNIST(MNIST):
    """Fashion-MNIST (Zalando's clothing images), MNIST's format."""

    spec = mnist.FashionMNIST.spec
    classes = list(mnist.FashionMNIST.classes)


class KMNIST(MNIST):
    """Kuzushiji-MNIST (cursive hiragana), MNIST's format."""

    spec = mnist.KMNIST.spec
    classes = list(mnist.KMNIST.classes)

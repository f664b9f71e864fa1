"""cnnkit.data: datasets in their real file formats, finding/downloading them, the DataLoader, batch transforms.

    from cnnkit.data import FashionMNIST, DataLoader
    from cnnkit.data.transforms import Compose, RandomCrop, RandomHorizontalFlip
    train = FashionMNIST(train=True)  # root, then $CNNKIT_DATA, ~/.cache/cnnkit, the system copy, a download
    loader = DataLoader(train, batch_size=128, shuffle=True,
                        transform=Compose([RandomCrop(28, padding=2), RandomHorizontalFlip()]))
    for images, labels in loader: ...  # float32 (128, 1, 28, 28) and int64 (128,) Tensors

Dense tasks: `FashionScenes` (scenes package), the VOC / COCO / YOLO readers (formats package), joint transforms
for an image with its mask and boxes (`joint_transforms`) and collate functions for their batches (`collate`).
"""

from __future__ import annotations

from cnnkit.data import joint_transforms, transforms
from cnnkit.data.cifar import CIFAR10
from cnnkit.data.collate import detection_collate, segmentation_collate
from cnnkit.data.dataset import ArrayDataset, Dataset, SplitDataset, Subset, random_split
from cnnkit.data.errors import ChecksumError, DatasetFormatError, DatasetNotFoundError, DownloadError
from cnnkit.data.formats import CocoDetection, VOCDetection, VOCSegmentation, YoloDetection
from cnnkit.data.idx import read_idx, read_idx_images, read_idx_labels
from cnnkit.data.image_folder import ImageFolder
from cnnkit.data.loader import DataLoader
from cnnkit.data.locate import DatasetSpec, download_file, find_dataset
from cnnkit.data.mnist import KMNIST, MNIST, FashionMNIST
from cnnkit.data.scenes import FashionScenes

__all__ = [
    "transforms", "Dataset", "ArrayDataset", "SplitDataset", "Subset", "random_split", "MNIST", "FashionMNIST",
    "KMNIST", "CIFAR10", "ImageFolder", "DataLoader", "DatasetSpec", "find_dataset", "download_file", "read_idx",
    "read_idx_images", "read_idx_labels", "DatasetNotFoundError", "DatasetFormatError", "DownloadError",
    "ChecksumError", "joint_transforms", "detection_collate", "segmentation_collate", "FashionScenes",
    "VOCSegmentation", "VOCDetection", "CocoDetection", "YoloDetection",
]

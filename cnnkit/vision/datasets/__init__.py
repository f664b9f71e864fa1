"""`cnnkit.vision.datasets`: torchvision.datasets' constructors and items (PIL images, int targets).

    from cnnkit.vision import datasets, transforms
    train = datasets.FashionMNIST("data", train=True, download=True, transform=transforms.ToTensor())
"""

from cnnkit.vision.datasets.cifar import CIFAR10
from cnnkit.vision.datasets.folder import DatasetFolder, ImageFolder, default_loader, pil_loader
from cnnkit.vision.datasets.mnist import KMNIST, MNIST, FashionMNIST

__all__ = ["MNIST", "FashionMNIST", "KMNIST", "CIFAR10", "ImageFolder", "DatasetFolder", "default_loader",
           "pil_loader"]

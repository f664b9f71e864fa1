"""`cnnkit.vision.transforms`: torchvision.transforms' names, on PIL images, uint8 arrays and Tensors.

    from cnnkit.vision import transforms
    train_tf = transforms.Compose([transforms.RandomCrop(32, padding=4), transforms.RandomHorizontalFlip(),
                                   transforms.ToTensor(), transforms.Normalize((0.5,) * 3, (0.5,) * 3)])
"""

from cnnkit.vision.transforms import functional
from cnnkit.vision.transforms.functional import InterpolationMode
from cnnkit.vision.transforms.transforms import (
    CenterCrop,
    ColorJitter,
    Compose,
    Grayscale,
    Lambda,
    Normalize,
    Pad,
    PILToTensor,
    RandomApply,
    RandomCrop,
    RandomErasing,
    RandomGrayscale,
    RandomHorizontalFlip,
    RandomResizedCrop,
    RandomVerticalFlip,
    Resize,
    ToPILImage,
    ToTensor,
)

__all__ = [
    "functional", "InterpolationMode", "Compose", "Lambda", "ToTensor", "PILToTensor", "ToPILImage", "Normalize",
    "Resize", "CenterCrop", "Pad", "RandomCrop", "RandomHorizontalFlip", "RandomVerticalFlip", "RandomResizedCrop",
    "ColorJitter", "Grayscale", "RandomGrayscale", "RandomApply", "RandomErasing",
]

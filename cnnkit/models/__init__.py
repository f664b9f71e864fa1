"""`cnnkit.models`: the model zoo (LeNet-5, AlexNet, VGG, ResNet, U-Net) and its registry.

Each builder takes keyword `num_classes` and `in_channels` and returns an `nn.Module` whose layout and
parameter names follow torchvision where torchvision has the model. `get_model(name, **kwargs)` builds by
name; `list_models()` gives each entry's default input shape, parameter count and description.
"""

from cnnkit.models.alexnet import AlexNet, alexnet, alexnet_small
from cnnkit.models.flip_average import FlipAverage
from cnnkit.models.lenet import LeNet5, lenet5, lenet5_relu
from cnnkit.models.registry import ModelInfo, format_models, get_model, list_models, model_info
from cnnkit.models.resnet import (
    BasicBlock,
    Bottleneck,
    CifarResNet,
    ResNet,
    resnet18,
    resnet20,
    resnet32,
    resnet34,
    resnet50,
    resnet56,
)
from cnnkit.models.unet import UNet, unet
from cnnkit.models.unet_blocks import DoubleConv, Down, Up
from cnnkit.models.vgg import (
    VGG,
    fashion_vgg,
    vgg11,
    vgg11_bn,
    vgg13,
    vgg13_bn,
    vgg16,
    vgg16_bn,
    vgg19,
    vgg19_bn,
    vgg_block,
)

__all__ = [
    "AlexNet", "BasicBlock", "Bottleneck", "CifarResNet", "DoubleConv", "Down", "FlipAverage", "LeNet5",
    "ModelInfo", "ResNet",
    "UNet", "Up", "VGG", "alexnet", "alexnet_small", "fashion_vgg", "format_models", "get_model", "lenet5",
    "lenet5_relu", "list_models", "model_info", "resnet18", "resnet20", "resnet32", "resnet34", "resnet50",
    "resnet56", "unet", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn",
    "vgg_block",
]

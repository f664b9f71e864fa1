"""Every layer, one file per kind: conv, linear, pooling, normalization, activation, dropout, loss, shape."""

from cnnkit.nn.layers.activation import (
    ELU,
    GELU,
    Hardtanh,
    LeakyReLU,
    LogSoftmax,
    ReLU,
    ReLU6,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Tanh,
)
from cnnkit.nn.layers.conv import Conv2d, ConvTranspose2d
from cnnkit.nn.layers.dropout import Dropout, Dropout2d
from cnnkit.nn.layers.linear import Linear
from cnnkit.nn.layers.loss import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    DiceLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
    SmoothL1Loss,
)
from cnnkit.nn.layers.normalization import (
    BatchNorm1d,
    BatchNorm2d,
    GroupNorm,
    InstanceNorm2d,
    LayerNorm,
    LocalResponseNorm,
)
from cnnkit.nn.layers.pooling import AdaptiveAvgPool2d, AdaptiveMaxPool2d, AvgPool2d, MaxPool2d
from cnnkit.nn.layers.shape import (
    ConstantPad2d,
    Flatten,
    Identity,
    PixelShuffle,
    PixelUnshuffle,
    ReflectionPad2d,
    ReplicationPad2d,
    Unflatten,
    Upsample,
    ZeroPad2d,
)

__all__ = [
    "InstanceNorm2d", "PixelShuffle", "PixelUnshuffle",
    "AdaptiveAvgPool2d", "AdaptiveMaxPool2d", "AvgPool2d", "BCELoss", "BCEWithLogitsLoss", "BatchNorm1d",
    "BatchNorm2d", "ConstantPad2d", "Conv2d", "ConvTranspose2d", "CrossEntropyLoss", "DiceLoss", "Dropout",
    "Dropout2d", "ELU", "Flatten", "GELU", "GroupNorm", "Hardtanh", "Identity", "L1Loss", "LayerNorm", "LeakyReLU",
    "Linear",
    "LocalResponseNorm", "LogSoftmax", "MSELoss", "MaxPool2d", "NLLLoss", "ReLU", "ReLU6", "ReflectionPad2d",
    "ReplicationPad2d", "SiLU", "Sigmoid", "SmoothL1Loss", "Softmax", "Softplus", "Tanh", "Unflatten", "Upsample",
    "ZeroPad2d",
]

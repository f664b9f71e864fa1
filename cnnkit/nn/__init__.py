"""`cnnkit.nn`: the `Module` system, containers, every layer, `Parameter`, and the `functional` and `init` APIs.

Names, constructor signatures, parameter names and default initialisation follow `torch.nn`.
"""

from cnnkit.nn import functional, init, parallel, utils
from cnnkit.nn.containers import ModuleDict, ModuleList, Sequential
from cnnkit.nn.layers import (
    ELU,
    GELU,
    AdaptiveAvgPool2d,
    AdaptiveMaxPool2d,
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    BCELoss,
    BCEWithLogitsLoss,
    ConstantPad2d,
    Conv2d,
    ConvTranspose2d,
    CrossEntropyLoss,
    DiceLoss,
    Dropout,
    Dropout2d,
    Flatten,
    GroupNorm,
    Hardtanh,
    Identity,
    InstanceNorm2d,
    L1Loss,
    LayerNorm,
    LeakyReLU,
    Linear,
    LocalResponseNorm,
    LogSoftmax,
    MaxPool2d,
    MSELoss,
    NLLLoss,
    PixelShuffle,
    PixelUnshuffle,
    ReflectionPad2d,
    ReLU,
    ReLU6,
    ReplicationPad2d,
    Sigmoid,
    SiLU,
    SmoothL1Loss,
    Softmax,
    Softplus,
    Tanh,
    Unflatten,
    Upsample,
    ZeroPad2d,
)
from cnnkit.nn.module import Module, RemovableHandle
from cnnkit.nn.parallel import DataParallel
from cnnkit.nn.parameter import Parameter

__all__ = [
    "InstanceNorm2d", "PixelShuffle", "PixelUnshuffle", "DataParallel", "parallel",
    "functional", "init", "utils", "Module", "Parameter", "RemovableHandle", "Sequential", "ModuleList", "ModuleDict",
    "AdaptiveAvgPool2d", "AdaptiveMaxPool2d", "AvgPool2d", "BCELoss", "BCEWithLogitsLoss", "BatchNorm1d",
    "BatchNorm2d", "ConstantPad2d", "Conv2d", "ConvTranspose2d", "CrossEntropyLoss", "DiceLoss", "Dropout",
    "Dropout2d", "ELU", "Flatten", "GELU", "GroupNorm", "Hardtanh", "Identity", "L1Loss", "LayerNorm", "LeakyReLU",
    "Linear",
    "LocalResponseNorm", "LogSoftmax", "MSELoss", "MaxPool2d", "NLLLoss", "ReLU", "ReLU6", "ReflectionPad2d",
    "ReplicationPad2d", "SiLU", "Sigmoid", "SmoothL1Loss", "Softmax", "Softplus", "Tanh", "Unflatten", "Upsample",
    "ZeroPad2d",
]

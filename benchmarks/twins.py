"""The PyTorch twin of a cnnkit model: the same layers, built from the cnnkit module tree, with the same weights.

`torch_twin(model)` walks the cnnkit modules: each leaf (Conv2d, Linear, BatchNorm2d, pools, activations,
Dropout, Flatten, ...) becomes the torch.nn layer with the same hyper-parameters, each Sequential a
torch Sequential with the same child names, and a module with its own forward (LeNet5, VGG) a torch
module with the same children and that forward written out below. ResNet's residual blocks are written
by hand (`TorchBasicBlock`, `TorchCifarResNet`, torchvision's code with the CIFAR stem and the option-B
projection shortcut). Every twin then takes the cnnkit state_dict through `load_state_dict(strict=True)`,
so the parameter and buffer names and shapes must match exactly.

This module imports torch, never cnnkit: `python -m benchmarks.memory --framework torch` builds its
ResNet-20 from here without loading cnnkit into the measured process.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn as tnn


def _leaf_conv2d(m: Any) -> tnn.Module:
    return tnn.Conv2d(m.in_channels, m.out_channels, m.kernel_size, stride=m.stride, padding=m.padding,
                      dilation=m.dilation, groups=m.groups, bias=m.bias is not None, padding_mode=m.padding_mode)


def _leaf_batchnorm2d(m: Any) -> tnn.Module:
    return tnn.BatchNorm2d(m.num_features, eps=m.eps, momentum=m.momentum, affine=m.affine,
                           track_running_stats=m.track_running_stats)


_LEAVES: dict[str, Callable[[Any], tnn.Module]] = {
    "Conv2d": _leaf_conv2d,
    "Linear": lambda m: tnn.Linear(m.in_features, m.out_features, bias=m.bias is not None),
    "BatchNorm2d": _leaf_batchnorm2d,
    "MaxPool2d": lambda m: tnn.MaxPool2d(m.kernel_size, m.stride, m.padding, m.dilation, m.return_indices,
                                         m.ceil_mode),
    "AvgPool2d": lambda m: tnn.AvgPool2d(m.kernel_size, m.stride, m.padding, m.ceil_mode, m.count_include_pad,
                                         m.divisor_override),
    "AdaptiveAvgPool2d": lambda m: tnn.AdaptiveAvgPool2d(m.output_size),
    "AdaptiveMaxPool2d": lambda m: tnn.AdaptiveMaxPool2d(m.output_size, m.return_indices),
    "ReLU": lambda m: tnn.ReLU(inplace=m.inplace),
    "Tanh": lambda m: tnn.Tanh(),
    "Sigmoid": lambda m: tnn.Sigmoid(),
    "Dropout": lambda m: tnn.Dropout(m.p),
    "Dropout2d": lambda m: tnn.Dropout2d(m.p),
    "Flatten": lambda m: tnn.Flatten(m.start_dim, m.end_dim),
    "Identity": lambda m: tnn.Identity(),
    "LocalResponseNorm": lambda m: tnn.LocalResponseNorm(m.size, m.alpha, m.beta, m.k),
}

# Modules with their own forward: the same computation as the cnnkit class's forward, on the twin's children.
_FORWARDS: dict[str, Callable[[tnn.Module, torch.Tensor], torch.Tensor]] = {
    "LeNet5": lambda m, x: m.classifier(m.flatten(m.features(x))),
    "VGG": lambda m, x: m.classifier(torch.flatten(m.avgpool(m.features(x)), 1)),
    "AlexNet": lambda m, x: m.classifier(torch.flatten(m.avgpool(m.features(x)), 1)),
}


class _Composite(tnn.Module):
    """A torch module holding the twins of a cnnkit module's children, with that module's forward."""

    def __init__(self, name: str, children: OrderedDict[str, tnn.Module]) -> None:
        super().__init__()
        self.twin_of = name
        for child_name, child in children.items():
            self.add_module(child_name, child)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _FORWARDS[self.twin_of](self, x)


def _conv3x3(inplanes: int, planes: int, stride: int = 1) -> tnn.Conv2d:
    return tnn.Conv2d(inplanes, planes, kernel_size=3, stride=stride, padding=1, bias=False)


class TorchBasicBlock(tnn.Module):
    """torchvision's BasicBlock: relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))."""

    def __init__(self, inplanes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = _conv3x3(inplanes, planes, stride)
        self.bn1 = tnn.BatchNorm2d(planes)
        self.relu = tnn.ReLU(inplace=True)  # torchvision's choice; it changes memory, not the result
        self.conv2 = _conv3x3(planes, planes)
        self.bn2 = tnn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or inplanes != planes:  # option B: 1×1 strided projection + BN
            self.downsample = tnn.Sequential(tnn.Conv2d(inplanes, planes, 1, stride=stride, bias=False),
                                             tnn.BatchNorm2d(planes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class TorchCifarResNet(tnn.Module):
    """He et al.'s CIFAR ResNet-(6n+2) with cnnkit's (torchvision's) parameter names."""

    def __init__(self, n: int, num_classes: int = 10, in_channels: int = 3) -> None:
        super().__init__()
        self.conv1 = _conv3x3(in_channels, 16)
        self.bn1 = tnn.BatchNorm2d(16)
        self.relu = tnn.ReLU(inplace=True)
        self.layer1 = self._stage(16, 16, n, 1)
        self.layer2 = self._stage(16, 32, n, 2)
        self.layer3 = self._stage(32, 64, n, 2)
        self.avgpool = tnn.AdaptiveAvgPool2d((1, 1))
        self.fc = tnn.Linear(64, num_classes)

    @staticmethod
    def _stage(inplanes: int, planes: int, blocks: int, stride: int) -> tnn.Sequential:
        layers = [TorchBasicBlock(inplanes, planes, stride)]
        layers += [TorchBasicBlock(planes, planes) for _ in range(1, blocks)]
        return tnn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def _cifar_resnet_twin(m: Any) -> tnn.Module:
    return TorchCifarResNet(len(m.layer1), num_classes=m.fc.out_features, in_channels=m.conv1.in_channels)


_BY_HAND: dict[str, Callable[[Any], tnn.Module]] = {"CifarResNet": _cifar_resnet_twin}


def twin_structure(module: Any) -> tnn.Module:
    """The torch layers mirroring a cnnkit module tree (weights not copied yet)."""
    kind = type(module).__name__
    if kind in _BY_HAND:
        return _BY_HAND[kind](module)
    if kind in _LEAVES:
        return _LEAVES[kind](module)
    children = OrderedDict((name, twin_structure(child)) for name, child in module.named_children())
    if kind == "Sequential":
        return tnn.Sequential(children)
    if kind in _FORWARDS:
        return _Composite(kind, children)
    raise NotImplementedError(f"torch_twin: no PyTorch twin for cnnkit module {kind}; add it to benchmarks/twins.py")


def torch_state_dict(model: Any) -> OrderedDict[str, torch.Tensor]:
    """A cnnkit model's state_dict as torch tensors (copies, so the two models never share memory)."""
    return OrderedDict((key, torch.from_numpy(np.array(value._data, copy=True)))
                       for key, value in model.state_dict().items())


def torch_twin(model: Any) -> tnn.Module:
    """The PyTorch twin of a cnnkit model: same architecture, same weights and buffers, same train/eval mode."""
    twin = twin_structure(model)
    twin.load_state_dict(torch_state_dict(model), strict=True)
    twin.train(model.training)
    return twin

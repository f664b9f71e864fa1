"""`cnnkit.vision.models`: cnnkit's zoo under torchvision.models' names and constructors.

`resnet18(weights=None, progress=True, **kwargs)` and the others build the same layout with the same parameter
names as torchvision's (so a converted torchvision state dict loads), with `num_classes=1000` by default.
Pretrained weights are not bundled: `weights=` other than None is refused; load weights with
`model.load_state_dict(cnnkit.load("resnet18.pth"))` (cnnkit.load reads torch.save files).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cnnkit import models as zoo
from cnnkit.nn.module import Module


def torchvision_builder(build: Callable[..., Module], name: str, **fixed: Any) -> Callable[..., Module]:
    def constructor(*, weights: Any = None, progress: bool = True, pretrained: bool = False, **kwargs: Any) -> Module:
        if weights is not None or pretrained:
            raise ValueError(f"{name}: cnnkit does not bundle pretrained weights; build with weights=None and load "
                             f"a state dict with model.load_state_dict(cnnkit.load(path)) (a torch.save .pth works)")
        return build(**fixed, **kwargs)

    constructor.__name__ = constructor.__qualname__ = name
    constructor.__doc__ = f"torchvision.models.{name}(*, weights=None, progress=True, **kwargs) built by cnnkit."
    return constructor


resnet18 = torchvision_builder(zoo.resnet18, "resnet18")
resnet34 = torchvision_builder(zoo.resnet34, "resnet34")
resnet50 = torchvision_builder(zoo.resnet50, "resnet50")
vgg11 = torchvision_builder(zoo.vgg11, "vgg11")
vgg11_bn = torchvision_builder(zoo.vgg11_bn, "vgg11_bn")
vgg13 = torchvision_builder(zoo.vgg13, "vgg13")
vgg13_bn = torchvision_builder(zoo.vgg13_bn, "vgg13_bn")
vgg16 = torchvision_builder(zoo.vgg16, "vgg16")
vgg16_bn = torchvision_builder(zoo.vgg16_bn, "vgg16_bn")
vgg19 = torchvision_builder(zoo.vgg19, "vgg19")
vgg19_bn = torchvision_builder(zoo.vgg19_bn, "vgg19_bn")
alexnet = torchvision_builder(zoo.alexnet, "alexnet", lrn=False)  # torchvision's AlexNet has no LRN
ResNet, VGG, AlexNet, BasicBlock, Bottleneck = zoo.ResNet, zoo.VGG, zoo.AlexNet, zoo.BasicBlock, zoo.Bottleneck

__all__ = ["resnet18", "resnet34", "resnet50", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19",
           "vgg19_bn", "alexnet", "ResNet", "VGG", "AlexNet", "BasicBlock", "Bottleneck"]

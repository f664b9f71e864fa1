"""The model registry: name → builder, default input shape, parameter count and a one-line description.

`get_model("resnet20", num_classes=10)` builds a model by name; `list_models()` lists the entries (the
`cnnkit models` command prints `format_models()`). Parameter counts are for the default arguments and are
checked against the built models by the tests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cnnkit import nn
from cnnkit.detection.propose_classify import propose_classify
from cnnkit.detection.yolo import yolo_v1
from cnnkit.models.alexnet import alexnet, alexnet_small
from cnnkit.models.lenet import lenet5, lenet5_relu
from cnnkit.models.resnet import resnet18, resnet20, resnet32, resnet34, resnet50, resnet56
from cnnkit.models.unet import unet
from cnnkit.models.vgg import fashion_vgg, vgg11, vgg11_bn, vgg13, vgg13_bn, vgg16, vgg16_bn, vgg19, vgg19_bn


def diffusion_unet(**kwargs: Any) -> nn.Module:
    """`cnnkit.diffusion.diffusion_unet` (imported on use: cnnkit.diffusion builds on cnnkit.models' blocks)."""
    return _diffusion_builder()(**kwargs)


def _diffusion_builder() -> Callable[..., nn.Module]:
    from cnnkit.diffusion.gaussian import diffusion_unet as build

    return build


def _propose_classify_class() -> Callable[..., nn.Module]:
    from cnnkit.detection.propose_classify import ProposeClassify

    return ProposeClassify


@dataclass(frozen=True)
class ModelInfo:
    """One registry entry; `input_shape` is (channels, height, width) without the batch dimension."""

    name: str
    builder: Callable[..., nn.Module]
    input_shape: tuple[int, int, int]
    num_classes: int
    num_params: int  # with the default arguments
    description: str
    # for a builder that passes **kwargs on: returns the callable they go to, whose signature lists the rest
    forwards_to: Callable[[], Callable[..., Any]] | None = None


MNIST, CIFAR, IMAGENET = (1, 28, 28), (3, 32, 32), (3, 224, 224)

_ENTRIES = [
    ModelInfo("lenet5", lenet5, MNIST, 10, 61_706, "LeNet-5 (LeCun 1998): tanh, average pooling"),
    ModelInfo("lenet5_relu", lenet5_relu, MNIST, 10, 61_706, "LeNet-5 with ReLU and max pooling"),
    ModelInfo("alexnet", alexnet, IMAGENET, 1000, 62_378_344,
              "AlexNet (Krizhevsky 2012) with LRN; lrn=False gives torchvision's layout (61,100,840)"),
    ModelInfo("alexnet_small", alexnet_small, MNIST, 10, 776_330,
              "AlexNet scaled to 28×28: five convs, three max-pools, two FC with dropout"),
    ModelInfo("vgg11", vgg11, IMAGENET, 1000, 132_863_336, "VGG-11 (configuration A), torchvision layout"),
    ModelInfo("vgg11_bn", vgg11_bn, IMAGENET, 1000, 132_868_840, "VGG-11 with batch norm"),
    ModelInfo("vgg13", vgg13, IMAGENET, 1000, 133_047_848, "VGG-13 (configuration B), torchvision layout"),
    ModelInfo("vgg13_bn", vgg13_bn, IMAGENET, 1000, 133_053_736, "VGG-13 with batch norm"),
    ModelInfo("vgg16", vgg16, IMAGENET, 1000, 138_357_544, "VGG-16 (configuration D), torchvision layout"),
    ModelInfo("vgg16_bn", vgg16_bn, IMAGENET, 1000, 138_365_992, "VGG-16 with batch norm"),
    ModelInfo("vgg19", vgg19, IMAGENET, 1000, 143_667_240, "VGG-19 (configuration E), torchvision layout"),
    ModelInfo("vgg19_bn", vgg19_bn, IMAGENET, 1000, 143_678_248, "VGG-19 with batch norm"),
    ModelInfo("resnet18", resnet18, IMAGENET, 1000, 11_689_512, "ResNet-18, torchvision layout"),
    ModelInfo("resnet34", resnet34, IMAGENET, 1000, 21_797_672, "ResNet-34, torchvision layout"),
    ModelInfo("resnet50", resnet50, IMAGENET, 1000, 25_557_032,
              "ResNet-50 (bottleneck blocks), torchvision layout"),
    ModelInfo("resnet20", resnet20, CIFAR, 10, 272_474, "CIFAR ResNet-20 (He 2016), projection shortcuts"),
    ModelInfo("resnet32", resnet32, CIFAR, 10, 466_906, "CIFAR ResNet-32 (He 2016), projection shortcuts"),
    ModelInfo("resnet56", resnet56, CIFAR, 10, 855_770, "CIFAR ResNet-56 (He 2016), projection shortcuts"),
    ModelInfo("fashion_vgg", fashion_vgg, MNIST, 10, 575_754,
              "VGG-style net with batch norm: the zoo's Fashion-MNIST recipe"),
    ModelInfo("unet", unet, (1, 64, 64), 11, 482_619,
              "U-Net (Ronneberger 2015), batch norm, depth 3, width 16: a class per pixel"),
    ModelInfo("diffusion_unet", diffusion_unet, MNIST, 10, 958_209,
              "DDPM noise predictor: U-Net blocks with GroupNorm, SiLU, time and class embeddings, EMA",
              _diffusion_builder),
    ModelInfo("yolo", yolo_v1, (1, 64, 64), 10, 202_948,
              "YOLO v1 (Redmon 2016) for 64×64 scenes: 8×8 grid, 2 boxes per cell, batch norm, leaky ReLU"),
    ModelInfo("propose_classify", propose_classify, (1, 28, 28), 10, 62_131,
              "propose-then-classify (R-CNN in miniature): windows → 28×28 crops → LeNet-5, 11 classes + 4 offsets",
              _propose_classify_class),
]
_REGISTRY = {info.name: info for info in _ENTRIES}


def list_models() -> list[ModelInfo]:
    """Every registered model, in a fixed order (small ones first within each family)."""
    return list(_ENTRIES)


def model_info(name: str) -> ModelInfo:
    """The registry entry for `name`; unknown names raise a ValueError listing the known ones."""
    key = name.lower().replace("-", "_") if isinstance(name, str) else None  # propose-classify = propose_classify
    if key not in _REGISTRY:
        raise ValueError(f"unknown model {name!r}; known models: {', '.join(_REGISTRY)}")
    return _REGISTRY[key]


def model_arguments(name: str) -> list[str] | None:
    """The keyword arguments the builder of `name` accepts, including those its **kwargs pass on to the callable
    the entry names (`forwards_to`); None only for a builder whose **kwargs go somewhere unnamed."""
    import inspect

    info = model_info(name)
    accepted: list[str] = []
    for target in (info.builder, info.forwards_to() if info.forwards_to is not None else None):
        if target is None:
            return None  # **kwargs that go nowhere named: any keyword may be right
        parameters = inspect.signature(target).parameters.values()
        accepted += [p.name for p in parameters
                     if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name not in accepted]
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
            return accepted
    return None


def check_model_args(name: str, kwargs: dict[str, Any], reserved: tuple[str, ...] = (), option: str = "get_model"
                     ) -> None:
    """Refuse arguments that `name`'s builder does not take, or that the caller sets itself (`reserved`),
    listing the ones it does take."""
    accepted = model_arguments(name)
    own = [key for key in kwargs if key in reserved]
    unknown = [] if accepted is None else [key for key in kwargs if key not in accepted and key not in reserved]
    if not own and not unknown:
        return
    free = ", ".join(a for a in accepted if a not in reserved) if accepted is not None else "any keyword"
    problem = (f"sets {', '.join(map(repr, own))}, which the run sets itself from the data" if own
               else f"has {', '.join(map(repr, unknown))}, which model {name!r} does not take")
    named = f"{', '.join(reserved[:-1])} and {reserved[-1]}" if len(reserved) > 1 else "".join(reserved)
    note = f" ({named} come from the data)" if reserved else ""
    raise ValueError(f"{option} {problem}; {name}'s arguments{note}: {free or 'none'}")


def get_model(name: str, **kwargs: Any) -> nn.Module:
    """Build the model called `name`, passing kwargs (num_classes, in_channels, ...) to its builder."""
    info = model_info(name)
    check_model_args(name, kwargs)
    for key in ("num_classes", "in_channels"):
        value = kwargs.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
            raise ValueError(f"get_model: expected {key} to be a positive int, got {value!r}")
    return info.builder(**kwargs)


def format_models() -> str:
    """The registry as a table: name, input shape, parameter count, description."""
    lines = [f"{'name':<18}{'input':<16}{'params':>14}  description"]
    for info in _ENTRIES:
        shape = "×".join(str(d) for d in info.input_shape)
        lines.append(f"{info.name:<18}{shape:<16}{info.num_params:>14,}  {info.description}")
    return "\n".join(lines)

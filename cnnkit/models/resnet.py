"""Residual networks (He et al. 2016): torchvision's ResNet-18/34/50 and the paper's CIFAR ResNet-20/32/56.

Layout and parameter names are torchvision's, so a torchvision state_dict converted to NumPy loads with
no renaming: `conv1`, `bn1`, `relu`, `maxpool`, `layer1` ... `layer4` (Sequentials of blocks, each block
`conv1/bn1/conv2/bn2[/conv3/bn3]` plus `downsample.0` (1×1 conv) / `downsample.1` (BN) where the shape
changes), `avgpool`, `fc`. Initialisation is torchvision's: convs He-normal with fan_out and ReLU gain,
BN γ = 1 and β = 0, the final Linear PyTorch's default.

| model | block | blocks per stage | parameters at 1000 classes |
|-------|-------|------------------|----------------------------|
| resnet18 | BasicBlock | 2-2-2-2 | 11,689,512 |
| resnet34 | BasicBlock | 3-4-6-3 | 21,797,672 |
| resnet50 | Bottleneck (×4 expansion) | 3-4-6-3 | 25,557,032 |

The CIFAR variants (section 4.2 of the paper) take 32×32 images: a 3×3 conv to 16 channels, three stages of
n BasicBlocks at 16/32/64 channels (stride 2 at the start of stages 2 and 3: 32 → 16 → 8), global average
pooling and one FC layer, 6n + 2 weighted layers: resnet20 (n = 3), resnet32 (n = 5), resnet56 (n = 9).
Where the shape changes the shortcut is the paper's option B, a 1×1 stride-2 convolution + BN projection
(the paper's CIFAR runs used option A, zero-padded identity, which has no parameters); with B resnet20 has
272,474 parameters (option A: 269,722).
"""

from __future__ import annotations

from cnnkit import nn
from cnnkit.nn import init
from cnnkit.tensor import Tensor


def conv3x3(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)


def conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """y = ReLU(BN(conv3×3(ReLU(BN(conv3×3(x))))) + shortcut(x)); two 3×3 convs, the first may stride."""

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU()
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """1×1 reduce → 3×3 (strided, as torchvision's "ResNet v1.5") → 1×1 expand ×4, plus the shortcut."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.conv1 = conv1x1(inplanes, planes)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = conv1x1(planes, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU()
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


def make_stage(block: type, inplanes: int, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
    """`blocks` residual blocks; the first strides and, when the shape changes, projects the shortcut."""
    downsample = None
    if stride != 1 or inplanes != planes * block.expansion:
        downsample = nn.Sequential(
            conv1x1(inplanes, planes * block.expansion, stride),
            nn.BatchNorm2d(planes * block.expansion),
        )
    layers = [block(inplanes, planes, stride, downsample)]
    layers += [block(planes * block.expansion, planes) for _ in range(1, blocks)]
    return nn.Sequential(*layers)


def _init_resnet(model: nn.Module) -> None:
    # torchvision: W ~ N(0, 2 / (out_channels · kH · kW)) for convs; BN γ = 1, β = 0; Linear left at default
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            init.constant_(m.weight, 1)
            init.constant_(m.bias, 0)


class ResNet(nn.Module):
    """torchvision's ImageNet ResNet: 7×7/2 conv, 3×3/2 max-pool, four stages (64-128-256-512), pool, FC."""

    def __init__(self, block: type, layers: tuple[int, int, int, int], num_classes: int = 1000,
                 in_channels: int = 3) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = make_stage(block, 64, 64, layers[0])
        self.layer2 = make_stage(block, 64 * block.expansion, 128, layers[1], stride=2)
        self.layer3 = make_stage(block, 128 * block.expansion, 256, layers[2], stride=2)
        self.layer4 = make_stage(block, 256 * block.expansion, 512, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)
        _init_resnet(self)

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.avgpool(x).flatten(1))


class CifarResNet(nn.Module):
    """He et al.'s CIFAR ResNet: 3×3 conv 16, stages of n BasicBlocks at 16/32/64, global pool, FC."""

    def __init__(self, n: int, num_classes: int = 10, in_channels: int = 3) -> None:
        super().__init__()
        self.conv1 = conv3x3(in_channels, 16)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU()
        self.layer1 = make_stage(BasicBlock, 16, 16, n)  # 32×32
        self.layer2 = make_stage(BasicBlock, 16, 32, n, stride=2)  # 16×16, option-B projection shortcut
        self.layer3 = make_stage(BasicBlock, 32, 64, n, stride=2)  # 8×8
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(64, num_classes)
        _init_resnet(self)

    def forward(self, x: Tensor) -> Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(self.avgpool(x).flatten(1))


def resnet18(*, num_classes: int = 1000, in_channels: int = 3) -> ResNet:
    """ResNet-18 for 224×224 inputs (any size ≥ 32 works: the head pools globally)."""
    return ResNet(BasicBlock, (2, 2, 2, 2), num_classes, in_channels)


def resnet34(*, num_classes: int = 1000, in_channels: int = 3) -> ResNet:
    """ResNet-34 for 224×224 inputs."""
    return ResNet(BasicBlock, (3, 4, 6, 3), num_classes, in_channels)


def resnet50(*, num_classes: int = 1000, in_channels: int = 3) -> ResNet:
    """ResNet-50 (Bottleneck blocks, stride on the 3×3 conv as torchvision) for 224×224 inputs."""
    return ResNet(Bottleneck, (3, 4, 6, 3), num_classes, in_channels)


def resnet20(*, num_classes: int = 10, in_channels: int = 3) -> CifarResNet:
    """CIFAR ResNet-20 (n = 3) for 32×32 inputs: 272,474 parameters at 10 classes."""
    return CifarResNet(3, num_classes, in_channels)


def resnet32(*, num_classes: int = 10, in_channels: int = 3) -> CifarResNet:
    """CIFAR ResNet-32 (n = 5) for 32×32 inputs."""
    return CifarResNet(5, num_classes, in_channels)


def resnet56(*, num_classes: int = 10, in_channels: int = 3) -> CifarResNet:
    """CIFAR ResNet-56 (n = 9) for 32×32 inputs."""
    return CifarResNet(9, num_classes, in_channels)

"""AlexNet (Krizhevsky, Sutskever & Hinton 2012) for 224×224 images, and a scaled-down AlexNet for 28×28/32×32.

`alexnet(lrn=True)` follows the paper: conv 96@11×11/4 → ReLU → LRN → max-pool 3×3/2 → conv 256@5×5 → ReLU
→ LRN → max-pool → conv 384@3×3 → conv 384@3×3 → conv 256@3×3 → max-pool → FC 4096 → FC 4096 → FC classes,
with dropout before both hidden FC layers; 62,378,344 parameters at 1000 classes. The paper split conv2,
conv4 and conv5 into two groups across two GPUs; like most single-device re-implementations we keep one
tower (full connections), which is the layer table the lectures' complexity comparison uses.

`alexnet(lrn=False)` is torchvision's exact layout and parameter names (its "one weird trick" channel widths
64-192-384-256-256, no LRN, `features.0` ... `features.10`, `avgpool`, `classifier.1/.4/.6`), 61,100,840
parameters at 1000 classes, so a torchvision state_dict loads without renaming.

Both end their features with AdaptiveAvgPool2d((6, 6)), the identity at 224×224, as torchvision does.
"""

from __future__ import annotations

from cnnkit import nn
from cnnkit.tensor import Tensor

# The paper's LRN: b = a / (k + α Σ a²)^β over n = 5 neighbouring channels, α = 1e-4, β = 0.75, k = 2.
# PyTorch's LocalResponseNorm divides alpha by size, b = a / (k + alpha/size · Σ a²)^β, so the paper's
# formula needs alpha = size · 1e-4.
LRN_SIZE, LRN_ALPHA, LRN_BETA, LRN_K = 5, 1e-4, 0.75, 2.0


class AlexNet(nn.Module):
    """`features` (convolutions) → `avgpool` → flatten → `classifier` (three FC layers)."""

    def __init__(self, features: nn.Module, classifier: nn.Module, pool_size: tuple[int, int]) -> None:
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d(pool_size)
        self.classifier = classifier

    def forward(self, x: Tensor) -> Tensor:
        x = self.avgpool(self.features(x))
        return self.classifier(x.flatten(1))


def _lrn() -> nn.Module:
    return nn.LocalResponseNorm(LRN_SIZE, alpha=LRN_SIZE * LRN_ALPHA, beta=LRN_BETA, k=LRN_K)


def _classifier(in_features: int, hidden: int, num_classes: int, dropout: float) -> nn.Sequential:
    # torchvision's order: Dropout, Linear, ReLU, Dropout, Linear, ReLU, Linear (names .1, .4, .6)
    return nn.Sequential(
        nn.Dropout(p=dropout),
        nn.Linear(in_features, hidden),
        nn.ReLU(),
        nn.Dropout(p=dropout),
        nn.Linear(hidden, hidden),
        nn.ReLU(),
        nn.Linear(hidden, num_classes),
    )


def _paper_features(in_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, 96, kernel_size=11, stride=4, padding=2),  # 224 → 55
        nn.ReLU(),
        _lrn(),
        nn.MaxPool2d(kernel_size=3, stride=2),  # 55 → 27 (overlapping pooling)
        nn.Conv2d(96, 256, kernel_size=5, padding=2),
        nn.ReLU(),
        _lrn(),
        nn.MaxPool2d(kernel_size=3, stride=2),  # 27 → 13
        nn.Conv2d(256, 384, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.Conv2d(384, 384, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.Conv2d(384, 256, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),  # 13 → 6
    )


def _torchvision_features(in_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, 64, kernel_size=11, stride=4, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(64, 192, kernel_size=5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(192, 384, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.Conv2d(384, 256, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.Conv2d(256, 256, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),
    )


def alexnet(*, num_classes: int = 1000, in_channels: int = 3, lrn: bool = True, dropout: float = 0.5) -> AlexNet:
    """AlexNet for (N, in_channels, 224, 224) inputs: the 2012 paper's net with LRN, or torchvision's with lrn=False."""
    features = _paper_features(in_channels) if lrn else _torchvision_features(in_channels)
    return AlexNet(features, _classifier(256 * 6 * 6, 4096, num_classes, dropout), (6, 6))


def alexnet_small(*, num_classes: int = 10, in_channels: int = 1, dropout: float = 0.5) -> AlexNet:
    """AlexNet's shape scaled to 28×28 or 32×32 images: five 3×3-or-larger convs, three max-pools, two hidden FC.

    Widths 32-64-96-96-64 (about a quarter of AlexNet's), a 5×5 first conv, overlapping 3×3/2 last pool:
    28 → 14 → 7 → 3 (and 32 → 16 → 8 → 3), then FC 512 → FC 512 → classes with dropout; 0.78 M parameters.
    """
    features = nn.Sequential(
        nn.Conv2d(in_channels, 32, kernel_size=5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(kernel_size=2, stride=2),  # 28 → 14
        nn.Conv2d(32, 64, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(kernel_size=2, stride=2),  # 14 → 7
        nn.Conv2d(64, 96, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.Conv2d(96, 96, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.Conv2d(96, 64, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),  # 7 → 3
    )
    return AlexNet(features, _classifier(64 * 3 * 3, 512, num_classes, dropout), (3, 3))

"""LeNet-5 (LeCun et al. 1998) for 28×28 digit or clothing images, and its ReLU / max-pool variant.

The lecture's table, with the input 32×32×1:

| layer   | kernel / units | output    | parameters           |
|---------|----------------|-----------|----------------------|
| C1      | 6 @ 5×5, tanh  | 6×28×28   | 6·(1·25 + 1) = 156   |
| S2      | avg 2×2 / 2    | 6×14×14   | 0                    |
| C3      | 16 @ 5×5, tanh | 16×10×10  | 16·(6·25 + 1) = 2,416 |
| S4      | avg 2×2 / 2    | 16×5×5    | 0                    |
| C5      | 120 @ 5×5, tanh| 120×1×1   | 120·(16·25 + 1) = 48,120 |
| F6      | 84, tanh       | 84        | 84·(120 + 1) = 10,164 |
| output  | 10             | 10        | 10·(84 + 1) = 850    |

61,706 parameters in all. MNIST and Fashion-MNIST images are 28×28: the paper pads them to 32×32, and
giving C1 a zero padding of 2 (`Conv2d(1, 6, 5, padding=2)`) is the same arithmetic, so these models take
28×28 inputs directly. (The paper's S2/S4 had a trainable coefficient and bias, C3 a sparse connection
table and the output layer RBF units; like every modern re-implementation we use plain average pooling,
full connections and a linear output.)
"""

from __future__ import annotations

from cnnkit import nn
from cnnkit.tensor import Tensor


class LeNet5(nn.Module):
    """`features` (three convs, two pools) → `flatten` → `classifier` (two fully connected layers).

    Input (N, in_channels, 28, 28); output (N, num_classes) logits.
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 1, activation: str = "tanh",
                 pool: str = "avg") -> None:
        super().__init__()
        act = _activation(activation)
        pool_layer = _pool(pool)
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, kernel_size=5, padding=2),  # C1: 28×28 (= 32×32 unpadded) → 6×28×28
            act(),
            pool_layer(kernel_size=2, stride=2),  # S2 → 6×14×14
            nn.Conv2d(6, 16, kernel_size=5),  # C3 → 16×10×10
            act(),
            pool_layer(kernel_size=2, stride=2),  # S4 → 16×5×5
            nn.Conv2d(16, 120, kernel_size=5),  # C5 → 120×1×1
            act(),
        )
        self.flatten = nn.Flatten()
        self.classifier = nn.Sequential(
            nn.Linear(120, 84),  # F6
            act(),
            nn.Linear(84, num_classes),  # output
        )

    def forward(self, x: Tensor) -> Tensor:
        channels = self.features[0].in_channels
        if x.ndim != 4 or tuple(x.shape[1:]) != (channels, 28, 28):
            raise ValueError(f"LeNet5: expected input of shape (N, {channels}, 28, 28) (28×28 images; C1's padding "
                             f"of 2 stands for the paper's 32×32), got {tuple(x.shape)}")
        return self.classifier(self.flatten(self.features(x)))


def _activation(name: str) -> type:
    choices = {"tanh": nn.Tanh, "relu": nn.ReLU}
    if name not in choices:
        raise ValueError(f"LeNet5: activation must be one of {sorted(choices)}, got {name!r}")
    return choices[name]


def _pool(name: str) -> type:
    choices = {"avg": nn.AvgPool2d, "max": nn.MaxPool2d}
    if name not in choices:
        raise ValueError(f"LeNet5: pool must be one of {sorted(choices)}, got {name!r}")
    return choices[name]


def lenet5(*, num_classes: int = 10, in_channels: int = 1) -> LeNet5:
    """The lecture's LeNet-5: tanh activations and 2×2 average pooling, 61,706 parameters at 10 classes."""
    return LeNet5(num_classes=num_classes, in_channels=in_channels, activation="tanh", pool="avg")


def lenet5_relu(*, num_classes: int = 10, in_channels: int = 1) -> LeNet5:
    """The same table with ReLU and 2×2 max pooling (the modern variant): the same 61,706 parameters."""
    return LeNet5(num_classes=num_classes, in_channels=in_channels, activation="relu", pool="max")

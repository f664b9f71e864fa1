"""The vanishing-gradient demo: plain CNNs of depth 8, 20 and 32 with sigmoid, with ReLU, and with ReLU and
residual connections, on the same Fashion-MNIST images with the same budget.

The lecture's claims: by the chain rule the gradient reaching layer l is a product of one factor per layer
above it; a sigmoid's derivative is at most 1/4, so with sigmoids that product shrinks geometrically with
depth, while a ReLU passes the gradient of every active unit unchanged. Even so, a deep plain ReLU network is
hard to optimise; a residual block, h = ReLU(x + g(x)), adds an identity path, ∂h/∂x = diag(ReLU')·(I + ∂g/∂x),
along which the gradient reaches the first layers whatever g does.

Every network, for depth D (weight layers):

    stem      conv 3×3, 1 → W, stride 2 (28 → 14), activation, max pool 2 (→ 7)
    body      D − 2 conv 3×3 W → W at 7×7, each followed by the activation; with residual connections, in
              pairs: h = ReLU(x + conv(ReLU(conv(x))))
    head      global average pool, linear W → 10

so the three kinds differ only in the activation and the skips (same widths, same weights count). Weights
are drawn as each activation expects: Glorot (Xavier) normal for sigmoid, He (Kaiming) normal for ReLU;
biases start at 0. Without normalisation layers a residual sum doubles the signal's variance in every block, so
the residual branches' weights are scaled by B^(-1/2) (B blocks; Fixup, Zhang 2019): the 32-layer residual net
starts with the variance of a few layers, not 2^15 times it. Measured:

- the gradient norm ‖∂L/∂W_l‖ of each layer's weight at initialisation, on one batch of training images;
- test accuracy after the same short training (SGD with momentum, the same data order) for each network.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

import cnnkit
from cnnkit import nn
from cnnkit.tensor import Tensor

DEPTHS = (8, 20, 32)
KINDS = ("sigmoid", "relu", "residual")
WIDTH = 16


class ResidualPair(nn.Module):
    """h = ReLU(x + conv(ReLU(conv(x)))): two weight layers and an identity skip."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(width, width, 3, padding=1)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1)
        self.relu = nn.ReLU()

    def forward(self, x: Tensor) -> Tensor:
        return self.relu(x + self.conv2(self.relu(self.conv1(x))))


def plain_cnn(depth: int, kind: str, width: int = WIDTH, num_classes: int = 10, in_channels: int = 1) -> nn.Module:
    """The demo's network of `depth` weight layers; kind is 'sigmoid', 'relu' or 'residual' (ReLU + skips)."""
    check_network(depth, kind)
    act = nn.Sigmoid if kind == "sigmoid" else nn.ReLU
    body: list[nn.Module] = []
    if kind == "residual":
        body = [ResidualPair(width) for _ in range((depth - 2) // 2)]
    else:
        for _ in range(depth - 2):
            body += [nn.Conv2d(width, width, 3, padding=1), act()]
    model = nn.Sequential(nn.Conv2d(in_channels, width, 3, stride=2, padding=1), act(), nn.MaxPool2d(2), *body,
                          nn.Flatten(), nn.Linear(width * 7 * 7, num_classes))
    layers = weight_layers(model)
    for layer in layers:
        if kind == "sigmoid":
            nn.init.xavier_normal_(layer.weight)
        else:  # the classifier feeds no ReLU: gain 1 rather than √2
            nn.init.kaiming_normal_(layer.weight, nonlinearity="relu" if layer is not layers[-1] else "linear")
        nn.init.zeros_(layer.bias)
    with cnnkit.no_grad():  # Fixup's scale: each of B branches adds ~1/B of the signal's variance, not all of it
        for block in body if kind == "residual" else ():
            for conv in (block.conv1, block.conv2):
                conv.weight._data *= len(body) ** -0.5
    return model


def check_network(depth: int, kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"plain_cnn: kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if depth < 4 or (kind == "residual" and depth % 2):
        raise ValueError(f"plain_cnn: depth must be at least 4 (and even for residual), got {depth}")


def weight_layers(model: nn.Module) -> list[nn.Module]:
    """The conv and linear layers, input to output."""
    return [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def gradient_norms(model: nn.Module, images: Tensor, labels: Tensor) -> np.ndarray:
    """‖∂L/∂W_l‖ for each weight layer l (input first), L the mean cross-entropy of the batch."""
    model.zero_grad()
    nn.CrossEntropyLoss()(model(images), labels).backward()
    norms = np.array([float(np.linalg.norm(layer.weight.grad._data)) for layer in weight_layers(model)])
    model.zero_grad()
    return norms


@dataclass
class GradientsResult:
    """Per network ('relu-20', ...): gradient norms at initialisation, test accuracy after training, seconds."""

    norms: dict[str, np.ndarray] = field(default_factory=dict)
    accuracy: dict[str, float] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def table(self) -> str:
        """One row per network: depth, first/last layer gradient norm at init, their ratio, test accuracy."""
        lines = [f"{'network':<10}{'depth':>6}{'‖∇W₁‖ init':>13}{'‖∇W_D‖ init':>13}{'first/last':>12}"
                 f"{'test acc':>10}{'seconds':>9}"]
        for name, norms in self.norms.items():
            kind, depth = name.rsplit("-", 1)
            lines.append(f"{kind:<10}{depth:>6}{norms[0]:>13.2e}{norms[-1]:>13.2e}{norms[0] / norms[-1]:>12.2e}"
                         f"{self.accuracy[name]:>10.4f}{self.seconds[name]:>9.1f}")
        return "\n".join(lines)


def run_gradients_demo(data_dir: str | None = None, depths: tuple[int, ...] = DEPTHS, kinds: tuple[str, ...] = KINDS,
                       train_size: int = 4000, test_size: int = 2000, epochs: int = 1, batch_size: int = 64,
                       lr: float = 0.01, seed: int = 0, log: Callable[[str], None] = print) -> GradientsResult:
    """Measure every (kind, depth) network: gradient norms at init on one batch, then train and test."""
    from cnnkit.data import DataLoader, Subset
    from cnnkit.data.transforms import Normalize
    from cnnkit.training.loop import evaluate, train_epoch

    for name, value in (("epochs", epochs), ("train_size", train_size), ("test_size", test_size)):
        if value < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be at least 1, got {value}")
    for depth in depths:
        for kind in kinds:
            check_network(depth, kind)
    from cnnkit.training.datasets import load_classification_data

    train_set, test_set, info = load_classification_data("fashion-mnist", data_dir)
    normalize = Normalize(info.mean, info.std)
    train_subset = Subset(train_set, np.arange(min(train_size, len(train_set))))
    test_subset = Subset(test_set, np.arange(min(test_size, len(test_set))))
    probe = next(iter(DataLoader(train_subset, batch_size=min(256, len(train_subset)), shuffle=False,
                                 transform=normalize)))
    result = GradientsResult()
    for depth in depths:
        for kind in kinds:
            name = f"{kind}-{depth}"
            cnnkit.manual_seed(seed)
            model = plain_cnn(depth, kind)
            result.norms[name] = gradient_norms(model, *probe)
            optimizer = cnnkit.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
            start = time.perf_counter()
            for epoch in range(1, epochs + 1):
                loader = DataLoader(train_subset, batch_size=batch_size, shuffle=True, seed=seed * 1000 + epoch,
                                    transform=normalize)
                try:
                    train_epoch(model, loader, optimizer, nn.CrossEntropyLoss(), epoch=epoch, progress=False)
                except RuntimeError as err:  # a diverged network scores what it scores: chance, in practice
                    log(f"{name}: {err}")
                    break
            result.seconds[name] = time.perf_counter() - start
            test = DataLoader(test_subset, batch_size=500, shuffle=False, transform=normalize)
            result.accuracy[name] = evaluate(model, test).accuracy
            norms = result.norms[name]
            log(f"{name}: gradient norm at init, first layer {norms[0]:.2e}, last {norms[-1]:.2e}; test accuracy "
                f"{result.accuracy[name]:.4f} ({result.seconds[name]:.1f} s)")
    return result

"""The shift demo: an MLP and a CNN with about the same number of parameters, trained briefly on the same
images, then tested on images shifted by 0–6 pixels (`cnnkit.viz.shift`).

The lecture's argument: a fully-connected layer gives every pixel position its own weights, so a pattern it
learned at one place means nothing two pixels away; a convolution applies the same kernel everywhere (its
maps shift with the input), and max pooling, here down to one value per channel, forgets where a feature was.

    MLP  784 → 37 → 10, ReLU                                                          29,425 parameters
    CNN  conv 5×5 16, pool 2 → conv 3×3 32, pool 2 → conv 3×3 80 → global max → 10   28,986 parameters

Both train with the same data order, SGD with Nesterov momentum and the same learning rate. Shifting moves an
image's pixels and fills the border with background (see `cnnkit.viz.shift`); Fashion-MNIST's clothes fill the
frame, so large shifts also cut part of the object off, and both models lose some accuracy for that reason.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

import cnnkit
from cnnkit import nn

SHIFTS = tuple(range(7))


def shift_mlp(num_classes: int = 10, pixels: int = 28 * 28, hidden: int = 37) -> nn.Sequential:
    return nn.Sequential(nn.Flatten(), nn.Linear(pixels, hidden), nn.ReLU(), nn.Linear(hidden, num_classes))


def shift_cnn(num_classes: int = 10, in_channels: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 80, 3, padding=1), nn.ReLU(),
        nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(80, num_classes),
    )  # fmt: skip


@dataclass
class ShiftResult:
    """Accuracy at each shift per model, with each model's parameter count and training time."""

    shifts: tuple[int, ...]
    accuracy: dict[str, np.ndarray] = field(default_factory=dict)
    parameters: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def table(self) -> str:
        """Shift per row, one accuracy column per model."""
        names = list(self.accuracy)
        lines = ["shift" + "".join(f"{name:>10}" for name in names)]
        for i, shift in enumerate(self.shifts):
            lines.append(f"{shift:>5}" + "".join(f"{self.accuracy[name][i]:>10.4f}" for name in names))
        return "\n".join(lines)


def count_parameters(model: nn.Module) -> int:
    return int(sum(p._data.size for p in model.parameters()))


def run_shift_demo(
    data_dir: str | None = None,
    epochs: int = 2,
    train_size: int = 20000,
    test_size: int = 1000,
    batch_size: int = 64,
    lr: float = 0.05,
    seed: int = 0,
    log: Callable[[str], None] = print,
) -> ShiftResult:
    """Train the MLP and the CNN on the first train_size Fashion-MNIST images; test both under shifts."""
    from cnnkit.data import DataLoader, Subset
    from cnnkit.data.transforms import Normalize
    from cnnkit.training.datasets import load_classification_data
    from cnnkit.training.loop import train_epoch
    from cnnkit.viz.shift import accuracy_under_shift

    for name, value in (("epochs", epochs), ("train_size", train_size), ("test_size", test_size)):
        if value < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be at least 1, got {value}")
    train_set, test_set, info = load_classification_data("fashion-mnist", data_dir)
    train_subset = Subset(train_set, np.arange(min(train_size, len(train_set))))
    test_count = min(test_size, len(test_set))
    images = np.stack([test_set[i][0] for i in range(test_count)]).astype(np.float32)
    labels = np.asarray(test_set.targets[:test_count])
    normalize = Normalize(info.mean, info.std)
    result = ShiftResult(SHIFTS)
    for name, build in (("MLP", shift_mlp), ("CNN", shift_cnn)):
        cnnkit.manual_seed(seed)
        model = build()
        optimizer = cnnkit.optim.SGD(model.parameters(), lr=lr, momentum=0.9, nesterov=True)
        start = time.perf_counter()
        for epoch in range(1, epochs + 1):
            loader = DataLoader(
                train_subset, batch_size=batch_size, shuffle=True, seed=seed * 1000 + epoch, transform=normalize
            )
            stats = train_epoch(model, loader, optimizer, nn.CrossEntropyLoss(), epoch=epoch, progress=False)
            log(
                f"{name} epoch {epoch}/{epochs}: train loss {stats.loss:.4f}, train accuracy {stats.accuracy:.4f} "
                f"({stats.seconds:.1f} s)"
            )
        result.seconds[name] = time.perf_counter() - start
        result.parameters[name] = count_parameters(model)
        result.accuracy[name] = accuracy_under_shift(model, images, labels, SHIFTS, transform=normalize)
    return result

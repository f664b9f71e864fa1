"""Does the DataLoader keep a LeNet-5 training step fed? `python -m benchmarks.loader [--steps N] [--batch-size B]`

Fashion-MNIST through `cnnkit.vision` with a torchvision-style per-item pipeline (PIL image → RandomCrop(28,
padding=2) → RandomHorizontalFlip → ToTensor → Normalize), batched by `cnnkit.utils.data.DataLoader`.
Prints, in milliseconds per batch: loading alone with num_workers=0 and 2, the LeNet-5 training step alone
(forward, cross-entropy, backward, SGD step on a batch already in memory), and whole training steps with
num_workers=0 and 2. With workers, loading overlaps the step; the loader keeps up when the whole step with
workers is within a few percent of the step alone.
"""

from __future__ import annotations

import argparse
import itertools
import time

import cnnkit
from cnnkit import nn, optim
from cnnkit.models import lenet5
from cnnkit.utils.data import DataLoader, Subset
from cnnkit.vision import datasets, transforms


def augmented_fashion_mnist(root: str) -> datasets.FashionMNIST:
    pipeline = transforms.Compose([transforms.RandomCrop(28, padding=2), transforms.RandomHorizontalFlip(),
                                   transforms.ToTensor(), transforms.Normalize((0.2860,), (0.3530,))])
    return datasets.FashionMNIST(root, train=True, transform=pipeline)


def per_batch_ms(batches, steps: int, work=None) -> float:
    """Milliseconds per batch over `steps` batches, after one warm-up batch (worker start-up excluded)."""
    iterator = iter(batches)
    first = next(iterator)
    if work is not None:
        work(first)
    start = time.perf_counter()
    for batch in itertools.islice(iterator, steps):
        if work is not None:
            work(batch)
    return 1000 * (time.perf_counter() - start) / steps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.loader", description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40, help="timed batches per measurement (default 40)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--root", default="data", help="dataset root (the system copy is found too)")
    args = parser.parse_args(argv)
    cnnkit.manual_seed(0)
    data = augmented_fashion_mnist(args.root)
    data = Subset(data, range(min(len(data), (args.steps + 2) * args.batch_size)))
    model = lenet5()
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()

    def train_step(batch) -> None:
        images, labels = batch
        opt.zero_grad()
        loss_fn(model(images), labels).backward()
        opt.step()

    def loader(workers: int) -> DataLoader:
        return DataLoader(data, batch_size=args.batch_size, shuffle=True, num_workers=workers, drop_last=True)

    fixed = next(iter(loader(0)))
    rows = [
        ("loading only, num_workers=0", per_batch_ms(loader(0), args.steps)),
        ("loading only, num_workers=2", per_batch_ms(loader(2), args.steps)),
        ("LeNet-5 step only (batch in memory)", per_batch_ms(itertools.repeat(fixed), args.steps, train_step)),
        ("step + loading, num_workers=0", per_batch_ms(loader(0), args.steps, train_step)),
        ("step + loading, num_workers=2", per_batch_ms(loader(2), args.steps, train_step)),
    ]
    print(f"LeNet-5 on Fashion-MNIST, batch {args.batch_size}, RandomCrop(28, padding=2) + RandomHorizontalFlip "
          f"+ ToTensor + Normalize per item, {args.steps} timed batches")
    for name, ms in rows:
        print(f"  {name:<40} {ms:8.1f} ms/batch")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

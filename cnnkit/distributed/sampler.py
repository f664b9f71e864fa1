"""`DistributedSampler`: each rank's share of a data set, with PyTorch's padding and stride semantics.

Every rank draws the same permutation (from `seed + epoch`) and takes every `num_replicas`-th index from
its rank on: rank r gets indices[r], indices[r + R], indices[r + 2R], … . Without `drop_last` the list is
first padded to a multiple of R with indices from its own beginning, so every rank has the same number of
samples (some appear twice per epoch); with `drop_last` the tail is dropped instead.

With a per-rank batch size of b = B / R, rank r's k-th batch holds permutation entries k·B + r, k·B + r + R, …,
so the R ranks' k-th batches together are exactly the k-th batch of size B that one process would draw from
the same permutation. The permutation is NumPy's `default_rng(seed + epoch).permutation(n)` — the same as
`cnnkit.data.DataLoader(shuffle=True, seed=seed + epoch)`, not torch's generator.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np


class DistributedSampler:
    """DistributedSampler(dataset, num_replicas=None, rank=None, shuffle=True, seed=0, drop_last=False)."""

    def __init__(
        self,
        dataset: Any,
        num_replicas: int | None = None,
        rank: int | None = None,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
    ) -> None:
        from cnnkit.distributed import comm

        num_replicas = comm.world_size() if num_replicas is None else int(num_replicas)
        rank = comm.rank() if rank is None else int(rank)
        if num_replicas < 1:
            raise ValueError(f"DistributedSampler: num_replicas must be at least 1, got {num_replicas}")
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]")
        self.dataset, self.num_replicas, self.rank = dataset, num_replicas, rank
        self.shuffle, self.seed, self.drop_last, self.epoch = bool(shuffle), int(seed), bool(drop_last), 0
        n = len(dataset)
        if self.drop_last and n % num_replicas != 0:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)  # as many whole rounds as there are
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def set_epoch(self, epoch: int) -> None:
        """Make the next iteration draw epoch `epoch`'s permutation (the same on every rank)."""
        self.epoch = int(epoch)

    def indices(self) -> np.ndarray:
        """This rank's dataset indices of the current epoch, int64."""
        n = len(self.dataset)
        order = np.random.default_rng(self.seed + self.epoch).permutation(n) if self.shuffle else np.arange(n)
        if self.drop_last:
            order = order[: self.total_size]
        elif self.total_size > n:  # pad from the beginning, repeating the whole order when it is shorter than the pad
            order = np.resize(order, self.total_size)
        return order[self.rank : self.total_size : self.num_replicas].astype(np.int64, copy=False)

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices().tolist())

    def __len__(self) -> int:
        return self.num_samples

    def __repr__(self) -> str:
        return (
            f"DistributedSampler(num_replicas={self.num_replicas}, rank={self.rank}, shuffle={self.shuffle}, "
            f"seed={self.seed}, drop_last={self.drop_last}, num_samples={self.num_samples})"
        )
